//! Object identifiers in Go's two representations: `asn1.ObjectIdentifier` (arcs that fit a
//! 31-bit int, JSON array of numbers) and `x509.OID` (any size, JSON dotted string).

use serde_json::Value;

use super::bigint;
use super::der::{Der, tag};

/// Arcs of an `asn1.ObjectIdentifier`.
pub(crate) type Arcs = Vec<u32>;

/// Reads one base-128 sub-identifier with cryptobyte's limits (below 2^31, minimal form).
fn base128(bytes: &mut &[u8]) -> Option<u32> {
    let mut ret: u32 = 0;
    for i in 0..5 {
        let (&b, rest) = bytes.split_first()?;
        if ret >= 1 << (31 - 7) || (i == 0 && b == 0x80) {
            return None;
        }
        *bytes = rest;
        ret = (ret << 7) | u32::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some(ret);
        }
    }
    None
}

/// Decodes OID contents the way cryptobyte's `ReadASN1ObjectIdentifier` does.
pub(crate) fn parse_arcs(mut body: &[u8]) -> Option<Arcs> {
    if body.is_empty() {
        return None;
    }
    let first = base128(&mut body)?;
    let mut arcs = if first < 80 {
        vec![first / 40, first % 40]
    } else {
        vec![2, first - 80]
    };
    while !body.is_empty() {
        arcs.push(base128(&mut body)?);
    }
    Some(arcs)
}

/// Reads an OBJECT IDENTIFIER element.
pub(crate) fn read(d: &mut Der<'_>) -> Option<Arcs> {
    parse_arcs(d.read(tag::OID)?.bytes())
}

/// JSON of an `asn1.ObjectIdentifier`: an array of numbers.
pub(crate) fn to_json(arcs: &[u32]) -> Value {
    Value::Array(arcs.iter().map(|&a| Value::from(a)).collect())
}

/// Dotted text, as `asn1.ObjectIdentifier.String()` prints it.
pub(crate) fn dotted(arcs: &[u32]) -> String {
    let parts: Vec<String> = arcs.iter().map(u32::to_string).collect();
    parts.join(".")
}

/// Checks OID contents the way `x509.newOIDFromDER` does (arcs of any size).
pub(crate) fn valid_der(der: &[u8]) -> bool {
    let ends_ok = der.last().is_some_and(|b| b & 0x80 == 0);
    let mut at_start = true;
    for &b in der {
        if at_start && b == 0x80 {
            return false;
        }
        at_start = b & 0x80 == 0;
    }
    ends_ok
}

/// Longest OID arc printed, in bits. Go prints any size; real arcs (even UUID arcs under
/// 2.25) stay below 128 bits, and the bound keeps hostile inputs cheap.
pub(crate) const MAX_ARC_BITS: usize = 1024;

/// The dotted text of OID contents of any size (Go's `x509.OID.String`, which drops an
/// unterminated last arc). `None` for arcs above [`MAX_ARC_BITS`].
pub(crate) fn der_to_text(der: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    let arcs = der
        .split_inclusive(|b| b & 0x80 == 0)
        .filter(|arc| arc.last().is_some_and(|b| b & 0x80 == 0));
    for (i, arc) in arcs.enumerate() {
        if arc.len() * 7 > MAX_ARC_BITS {
            return None;
        }
        let digits = arc.iter().map(|b| b & 0x7f);
        let value = bigint::from_base128(digits);
        if i > 0 {
            parts.push(bigint::to_decimal(&value)?);
            continue;
        }
        match bigint::to_u64(&value) {
            Some(v) if v < 80 => {
                parts.push((v / 40).to_string());
                parts.push((v % 40).to_string());
            }
            _ => {
                parts.push("2".to_string());
                parts.push(bigint::to_decimal(&bigint::sub_small(&value, 80))?);
            }
        }
    }
    Some(parts.join("."))
}

/// Go's `x509.OID.toASN1OID`: the arcs when each fits in 31 bits.
pub(crate) fn der_to_arcs(der: &[u8]) -> Option<Arcs> {
    let mut d = der;
    let first = base128_unchecked(&mut d)?;
    let mut arcs = if first < 80 {
        vec![first / 40, first % 40]
    } else {
        vec![2, first - 80]
    };
    while !d.is_empty() {
        arcs.push(base128_unchecked(&mut d)?);
    }
    Some(arcs)
}

/// A base-128 arc below 2^31, without the minimal-form check (done by [`valid_der`]).
fn base128_unchecked(bytes: &mut &[u8]) -> Option<u32> {
    let mut ret: u32 = 0;
    loop {
        let (&b, rest) = bytes.split_first()?;
        if ret > (1 << 24) - 1 {
            return None;
        }
        *bytes = rest;
        ret = (ret << 7) | u32::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some(ret);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcs() {
        let cases: &[(&[u8], Option<&[u32]>)] = &[
            (&[0x55, 0x04, 0x03], Some(&[2, 5, 4, 3])),
            (&[0x2a, 0x86, 0x48], Some(&[1, 2, 840])),
            (&[0x88, 0x37, 0x01], Some(&[2, 999, 1])),
            (&[0x2a, 0x80, 0x01], None), // non-minimal sub-identifier
            (&[0x2a, 0x86], None),       // truncated
            (&[0x2a, 0x88, 0x80, 0x80, 0x80, 0x00], None), // 2^31 does not fit
            (&[], None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_arcs(input).as_deref(), *want, "{input:02x?}");
        }
        assert_eq!(dotted(&[1, 2, 840]), "1.2.840");
    }

    #[test]
    fn x509_oids_of_any_size() {
        assert!(valid_der(&[0x2a, 0x03]));
        assert!(!valid_der(&[0x2a, 0x83]));
        assert!(!valid_der(&[0x2a, 0x80, 0x01]));
        assert_eq!(
            der_to_text(&[0x55, 0x1d, 0x20, 0x00]).unwrap(),
            "2.5.29.32.0"
        );
        // 2.25.<2^64>: beyond 64 bits, still printed exactly.
        let big = [
            0x69, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        assert_eq!(der_to_text(&big).unwrap(), "2.25.18446744073709551616");
        assert_eq!(der_to_arcs(&big), None);
        assert_eq!(der_to_arcs(&[0x88, 0x37, 0x01]), Some(vec![2, 999, 1]));
        let mut huge = vec![0x2a];
        huge.extend([0xff; 200]);
        huge.push(0x01);
        assert_eq!(der_to_text(&huge), None);
    }
}
