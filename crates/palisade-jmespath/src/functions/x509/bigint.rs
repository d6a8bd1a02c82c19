//! Just enough unsigned big-integer arithmetic to print Go's `big.Int` values in decimal:
//! RSA moduli, serial numbers and large OID arcs.

/// Little-endian 32-bit limbs, without trailing zero limbs.
pub(crate) type Big = Vec<u32>;

/// Largest value converted to decimal, in bits. Decimal conversion here is quadratic, so
/// hostile inputs are bounded; real keys and serials are far below this.
pub(crate) const MAX_BITS: usize = 65_536;

fn trim(mut v: Big) -> Big {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

/// Multiplies by `m` and adds `a` in place.
fn mul_add(v: &mut Big, m: u32, a: u32) {
    let mut carry = u64::from(a);
    for limb in v.iter_mut() {
        let x = u64::from(*limb) * u64::from(m) + carry;
        *limb = x as u32;
        carry = x >> 32;
    }
    if carry > 0 {
        v.push(carry as u32);
    }
}

/// A value from big-endian bytes.
pub(crate) fn from_be_bytes(bytes: &[u8]) -> Big {
    let limbs = bytes
        .rchunks(4)
        .map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
        .collect();
    trim(limbs)
}

/// A value from base-128 digits, most significant first.
pub(crate) fn from_base128(digits: impl Iterator<Item = u8>) -> Big {
    let mut v = Big::new();
    for d in digits {
        mul_add(&mut v, 128, u32::from(d));
    }
    trim(v)
}

/// A two's-complement big-endian integer as (negative, magnitude).
pub(crate) fn from_twos_complement(bytes: &[u8]) -> (bool, Big) {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    if !negative {
        return (false, from_be_bytes(bytes));
    }
    // Magnitude of a negative number: invert the bits, then add one.
    let inverted: Vec<u8> = bytes.iter().map(|b| !b).collect();
    let mut v = from_be_bytes(&inverted);
    let mut carry = true;
    for limb in v.iter_mut() {
        let (x, overflow) = limb.overflowing_add(1);
        *limb = x;
        carry = overflow;
        if !carry {
            break;
        }
    }
    if carry {
        v.push(1);
    }
    (true, v)
}

/// The value if it fits in 64 bits.
pub(crate) fn to_u64(v: &Big) -> Option<u64> {
    match v.as_slice() {
        [] => Some(0),
        [a] => Some(u64::from(*a)),
        [a, b] => Some(u64::from(*a) | (u64::from(*b) << 32)),
        _ => None,
    }
}

/// `v - s`, saturating at zero.
pub(crate) fn sub_small(v: &Big, s: u32) -> Big {
    let mut out = v.clone();
    let mut borrow = u64::from(s);
    for limb in out.iter_mut() {
        if borrow == 0 {
            break;
        }
        let x = u64::from(*limb);
        if x >= borrow {
            *limb = (x - borrow) as u32;
            borrow = 0;
        } else {
            *limb = (x + (1 << 32) - borrow) as u32;
            borrow = 1;
        }
    }
    if borrow > 0 {
        return Big::new();
    }
    trim(out)
}

/// Decimal digits; `None` above [`MAX_BITS`].
pub(crate) fn to_decimal(v: &Big) -> Option<String> {
    if v.len() * 32 > MAX_BITS {
        return None;
    }
    const CHUNK: u64 = 1_000_000_000;
    let mut work = v.clone();
    let mut chunks = Vec::new();
    while !work.is_empty() {
        let mut rem = 0u64;
        for limb in work.iter_mut().rev() {
            let x = (rem << 32) | u64::from(*limb);
            *limb = (x / CHUNK) as u32;
            rem = x % CHUNK;
        }
        chunks.push(rem);
        work = trim(work);
    }
    let mut out = chunks
        .pop()
        .map_or_else(|| "0".to_string(), |c| c.to_string());
    for c in chunks.iter().rev() {
        out.push_str(&format!("{c:09}"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        let cases: &[(&[u8], &str)] = &[
            (&[], "0"),
            (&[0x00], "0"),
            (&[0x01, 0x00], "256"),
            (&[0xff; 8], "18446744073709551615"),
            (
                &[0x5b, 0x19, 0xa3, 0xe3, 0x49, 0x7e, 0x4c, 0x35, 0x49, 0xab],
                "430208327906435142076843",
            ),
            (&[0x01, 0, 0, 0, 0, 0, 0, 0, 0], "18446744073709551616"),
        ];
        for (bytes, want) in cases {
            assert_eq!(to_decimal(&from_be_bytes(bytes)).unwrap(), *want);
        }
        assert!(to_decimal(&vec![1; MAX_BITS / 32 + 1]).is_none());
    }

    #[test]
    fn twos_complement_and_helpers() {
        assert_eq!(from_twos_complement(&[0xff]), (true, vec![1]));
        assert_eq!(from_twos_complement(&[0x80, 0x00]), (true, vec![0x8000]));
        assert_eq!(from_twos_complement(&[0x7f]), (false, vec![0x7f]));
        assert_eq!(to_u64(&from_be_bytes(&[1, 2])), Some(258));
        assert_eq!(sub_small(&vec![0, 1], 1), vec![u32::MAX]);
        assert_eq!(sub_small(&vec![5], 80), Big::new());
        assert_eq!(from_base128([0x06, 0x48].into_iter()), vec![840]);
    }
}
