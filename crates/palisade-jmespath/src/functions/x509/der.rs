//! A DER reader with the exact acceptance rules of Go's `golang.org/x/crypto/cryptobyte`,
//! which `crypto/x509` parses certificates with: single-byte tags only, lengths of at most
//! four octets in minimal form, minimally encoded integers. Matching those rules is what
//! decides which inputs Kyverno accepts, so the reader is kept small and explicit.

/// Universal and context-specific tags used by the parser (the whole identifier octet).
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const NUMERIC_STRING: u8 = 0x12;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const T61_STRING: u8 = 0x14;
    pub const IA5_STRING: u8 = 0x16;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const BMP_STRING: u8 = 0x1e;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;

    /// `[n]` implicit, primitive.
    pub const fn ctx(n: u8) -> u8 {
        0x80 | n
    }

    /// `[n]` constructed (explicit tagging or implicit constructed types).
    pub const fn ctx_cons(n: u8) -> u8 {
        0xa0 | n
    }
}

/// A BIT STRING: the bytes after the padding octet and the number of meaningful bits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BitString<'a> {
    pub bytes: &'a [u8],
    pub bit_len: usize,
}

impl BitString<'_> {
    /// Bit `i`, counting from the most significant bit of the first byte (Go's `At`).
    pub fn at(&self, i: usize) -> bool {
        i < self.bit_len
            && self
                .bytes
                .get(i / 8)
                .is_some_and(|b| (b >> (7 - i % 8)) & 1 == 1)
    }

    /// The bits shifted so that padding is at the front (Go's `RightAlign`).
    pub fn right_align(&self) -> Vec<u8> {
        let shift = 8 - (self.bit_len % 8) as u32;
        if shift == 8 || self.bytes.is_empty() {
            return self.bytes.to_vec();
        }
        let mut prev = 0u8;
        self.bytes
            .iter()
            .map(|&b| {
                let out = prev.checked_shl(8 - shift).unwrap_or(0) | (b >> shift);
                prev = b;
                out
            })
            .collect()
    }
}

/// A cursor over DER bytes. Reads return `None` on malformed input, like cryptobyte's `false`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Der(bytes)
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads one element: its tag, the whole element and the offset of its contents.
    fn read_raw(&mut self) -> Option<(u8, &'a [u8], usize)> {
        let (&tag, rest) = self.0.split_first()?;
        let (&len_byte, _) = rest.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (header, body) = if len_byte & 0x80 == 0 {
            (2usize, usize::from(len_byte))
        } else {
            let n = usize::from(len_byte & 0x7f);
            if n == 0 || n > 4 {
                return None;
            }
            let len_bytes = self.0.get(2..2 + n)?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 128 || len_bytes.first() == Some(&0) {
                return None;
            }
            (2 + n, len)
        };
        let total = header.checked_add(body)?;
        let element = self.0.get(..total)?;
        self.0 = self.0.get(total..)?;
        Some((tag, element, header))
    }

    /// `ReadAnyASN1`: the tag and the contents of the next element.
    pub fn read_any(&mut self) -> Option<(u8, Der<'a>)> {
        let (tag, element, header) = self.read_raw()?;
        Some((tag, Der(element.get(header..)?)))
    }

    /// `ReadAnyASN1Element`: the tag and the whole next element.
    pub fn read_any_element(&mut self) -> Option<(u8, &'a [u8])> {
        self.read_raw().map(|(tag, element, _)| (tag, element))
    }

    /// `ReadASN1`: the contents of the next element, which must have `want` as tag.
    pub fn read(&mut self, want: u8) -> Option<Der<'a>> {
        let (tag, body) = self.read_any()?;
        (tag == want).then_some(body)
    }

    /// `ReadASN1Element`: the whole next element, which must have `want` as tag.
    pub fn read_element(&mut self, want: u8) -> Option<&'a [u8]> {
        let (tag, element) = self.read_any_element()?;
        (tag == want).then_some(element)
    }

    /// `PeekASN1Tag`.
    pub fn peek(&self, want: u8) -> bool {
        self.0.first() == Some(&want)
    }

    /// `ReadOptionalASN1`: `Some(None)` when absent, `None` when malformed.
    pub fn read_optional(&mut self, want: u8) -> Option<Option<Der<'a>>> {
        if !self.peek(want) {
            return Some(None);
        }
        self.read(want).map(Some)
    }

    /// `SkipOptionalASN1`: false when present but malformed.
    pub fn skip_optional(&mut self, want: u8) -> bool {
        !self.peek(want) || self.read(want).is_some()
    }

    /// `ReadASN1Boolean`: only 0x00 and 0xff are booleans in DER.
    pub fn read_bool(&mut self) -> Option<bool> {
        match self.read(tag::BOOLEAN)?.0 {
            [0x00] => Some(false),
            [0xff] => Some(true),
            _ => None,
        }
    }

    /// The two's-complement contents of an INTEGER, checked for minimal encoding.
    pub fn read_integer_bytes(&mut self, want: u8) -> Option<&'a [u8]> {
        let body = self.read(want)?.0;
        minimal_integer(body).then_some(body)
    }

    /// `ReadASN1Integer` into a Go `int` (64-bit).
    pub fn read_i64(&mut self) -> Option<i64> {
        self.read_i64_tagged(tag::INTEGER)
    }

    /// `ReadASN1Int64WithTag`.
    pub fn read_i64_tagged(&mut self, want: u8) -> Option<i64> {
        signed(self.read_integer_bytes(want)?)
    }

    /// `ReadASN1Integer` into a Go `uint` (64-bit).
    pub fn read_u64(&mut self) -> Option<u64> {
        let body = self.read_integer_bytes(tag::INTEGER)?;
        let first = *body.first()?;
        if body.len() > 9 || (body.len() == 9 && first != 0) || first & 0x80 != 0 {
            return None;
        }
        Some(
            body.iter()
                .fold(0u64, |acc, &b| acc.wrapping_shl(8) | u64::from(b)),
        )
    }

    /// `ReadASN1BitString`: padding must be below 8 and the padding bits must be zero.
    pub fn read_bit_string(&mut self) -> Option<BitString<'a>> {
        bit_string(self.read(tag::BIT_STRING)?.0)
    }
}

/// BIT STRING contents: the padding octet, then the bits.
pub(crate) fn bit_string(body: &[u8]) -> Option<BitString<'_>> {
    let (&pad, bytes) = body.split_first()?;
    let last_ok = bytes
        .last()
        .is_none_or(|&b| b & ((1u8 << pad.min(7)) - 1) == 0);
    if pad > 7 || (bytes.is_empty() && pad != 0) || !last_ok {
        return None;
    }
    Some(BitString {
        bytes,
        bit_len: bytes.len() * 8 - usize::from(pad),
    })
}

/// cryptobyte's `checkASN1Integer`.
pub(crate) fn minimal_integer(bytes: &[u8]) -> bool {
    match bytes {
        [] => false,
        [_] => true,
        [0x00, b, ..] => b & 0x80 != 0,
        [0xff, b, ..] => b & 0x80 == 0,
        _ => true,
    }
}

/// Sign-extends up to eight big-endian two's-complement bytes.
pub(crate) fn signed(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let start = if negative { -1i64 } else { 0 };
    Some(
        bytes
            .iter()
            .fold(start, |acc, &b| (acc << 8) | i64::from(b)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_cryptobyte() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (&[0x04, 0x01, 0xaa], Some(&[0xaa])),
            (&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5], None), // long form for a short length
            (&[0x04, 0x82, 0x00, 0x80], None),          // leading zero length octet
            (&[0x04, 0x85, 1, 0, 0, 0, 0], None),       // five length octets
            (&[0x04, 0x80], None),                      // indefinite length
            (&[0x1f, 0x01, 0x00], None),                // high tag number form
            (&[0x04, 0x03, 0xaa], None),                // truncated
            (&[0x04], None),
        ];
        for (input, want) in cases {
            let got = Der::new(input).read(tag::OCTET_STRING).map(|d| d.bytes());
            assert_eq!(got, *want, "{input:02x?}");
        }
    }

    #[test]
    fn integers() {
        let cases: &[(&[u8], Option<i64>)] = &[
            (&[0x02, 0x01, 0x00], Some(0)),
            (&[0x02, 0x01, 0xff], Some(-1)),
            (&[0x02, 0x02, 0x00, 0x80], Some(128)),
            (&[0x02, 0x02, 0x00, 0x7f], None), // not minimal
            (&[0x02, 0x02, 0xff, 0x80], None), // not minimal
            (&[0x02, 0x00], None),
            (&[0x02, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0], None),
        ];
        for (input, want) in cases {
            assert_eq!(Der::new(input).read_i64(), *want, "{input:02x?}");
        }
        assert_eq!(Der::new(&[0x02, 0x01, 0x80]).read_u64(), None);
        assert_eq!(Der::new(&[0x02, 0x02, 0x00, 0x80]).read_u64(), Some(128));
    }

    #[test]
    fn booleans_and_bit_strings() {
        assert_eq!(Der::new(&[0x01, 0x01, 0xff]).read_bool(), Some(true));
        assert_eq!(Der::new(&[0x01, 0x01, 0x01]).read_bool(), None);
        let bits = Der::new(&[0x03, 0x02, 0x05, 0xa0]).read_bit_string();
        let bits = bits.unwrap();
        assert_eq!(
            (bits.bit_len, bits.at(0), bits.at(1), bits.at(2)),
            (3, true, false, true)
        );
        assert_eq!(bits.right_align(), vec![0x05]);
        assert!(
            Der::new(&[0x03, 0x02, 0x05, 0xa1])
                .read_bit_string()
                .is_none()
        );
        assert!(Der::new(&[0x03, 0x01, 0x01]).read_bit_string().is_none());
        assert!(
            Der::new(&[0x03, 0x02, 0x08, 0x00])
                .read_bit_string()
                .is_none()
        );
    }

    #[test]
    fn optional_elements() {
        let mut d = Der::new(&[0xa0, 0x03, 0x02, 0x01, 0x02, 0x30, 0x00]);
        let v = d.read_optional(tag::ctx_cons(0)).unwrap().unwrap();
        assert_eq!(v.bytes(), &[0x02, 0x01, 0x02]);
        assert!(d.read_optional(tag::ctx_cons(3)).unwrap().is_none());
        assert!(d.skip_optional(tag::ctx(1)));
        assert_eq!(d.read_element(tag::SEQUENCE), Some(&[0x30u8, 0x00][..]));
        assert!(d.is_empty());
    }
}
