//! Algorithm identifiers and Go's `SignatureAlgorithm` / `PublicKeyAlgorithm` numbering.

use super::der::{Der, tag};
use super::oid::{self, Arcs};

/// A parsed `AlgorithmIdentifier`: the OID and the whole parameters element, if any.
#[derive(Debug, Clone)]
pub(crate) struct AlgorithmId<'a> {
    pub oid: Arcs,
    pub params: Option<&'a [u8]>,
}

/// Go's `parseAI` on the contents of the SEQUENCE.
pub(crate) fn parse_ai<'a>(mut d: Der<'a>) -> Result<AlgorithmId<'a>, &'static str> {
    let oid = oid::read(&mut d).ok_or("x509: malformed OID")?;
    if d.is_empty() {
        return Ok(AlgorithmId { oid, params: None });
    }
    let (_, params) = d.read_any_element().ok_or("x509: malformed parameters")?;
    Ok(AlgorithmId {
        oid,
        params: Some(params),
    })
}

const RSA_PSS: &[u32] = &[1, 2, 840, 113549, 1, 1, 10];
const MGF1: &[u32] = &[1, 2, 840, 113549, 1, 1, 8];
const ED25519: &[u32] = &[1, 3, 101, 112];
const NULL: &[u8] = &[tag::NULL, 0x00];

/// Signature OIDs and their `x509.SignatureAlgorithm` values (MD2 is not recognised by Go).
const SIGNATURES: &[(&[u32], u8)] = &[
    (&[1, 2, 840, 113549, 1, 1, 4], 2),
    (&[1, 2, 840, 113549, 1, 1, 5], 3),
    (&[1, 3, 14, 3, 2, 29], 3),
    (&[1, 2, 840, 113549, 1, 1, 11], 4),
    (&[1, 2, 840, 113549, 1, 1, 12], 5),
    (&[1, 2, 840, 113549, 1, 1, 13], 6),
    (&[1, 2, 840, 10040, 4, 3], 7),
    (&[2, 16, 840, 1, 101, 3, 4, 3, 2], 8),
    (&[1, 2, 840, 10045, 4, 1], 9),
    (&[1, 2, 840, 10045, 4, 3, 2], 10),
    (&[1, 2, 840, 10045, 4, 3, 3], 11),
    (&[1, 2, 840, 10045, 4, 3, 4], 12),
    (ED25519, 16),
];

/// RSA-PSS hash OIDs with the salt length Go requires and the resulting value.
const PSS_HASHES: &[(&[u32], i64, u8)] = &[
    (&[2, 16, 840, 1, 101, 3, 4, 2, 1], 32, 13),
    (&[2, 16, 840, 1, 101, 3, 4, 2, 2], 48, 14),
    (&[2, 16, 840, 1, 101, 3, 4, 2, 3], 64, 15),
];

/// Public key OIDs and their `x509.PublicKeyAlgorithm` values.
pub(crate) const RSA: u8 = 1;
const PUBLIC_KEYS: &[(&[u32], u8)] = &[
    (&[1, 2, 840, 113549, 1, 1, 1], RSA),
    (&[1, 2, 840, 10040, 4, 1], 2),
    (&[1, 2, 840, 10045, 2, 1], 3),
    (ED25519, 4),
];

/// Go's `getPublicKeyAlgorithmFromOID`.
pub(crate) fn public_key_algorithm(oid: &[u32]) -> u8 {
    PUBLIC_KEYS
        .iter()
        .find(|(o, _)| *o == oid)
        .map_or(0, |(_, v)| *v)
}

/// Go's `getSignatureAlgorithmFromAI`.
pub(crate) fn signature_algorithm(ai: &AlgorithmId<'_>) -> u8 {
    if ai.oid == ED25519 && ai.params.is_some() {
        return 0;
    }
    if ai.oid != RSA_PSS {
        return SIGNATURES
            .iter()
            .find(|(o, _)| *o == ai.oid.as_slice())
            .map_or(0, |(_, v)| *v);
    }
    ai.params.and_then(pss).unwrap_or(0)
}

/// An explicitly tagged AlgorithmIdentifier inside the PSS parameters.
fn explicit_ai<'a>(d: &mut Der<'a>, n: u8) -> Option<AlgorithmId<'a>> {
    parse_ai(d.read(tag::ctx_cons(n))?.read(tag::SEQUENCE)?).ok()
}

fn null_or_absent(params: Option<&[u8]>) -> bool {
    params.is_none_or(|p| p == NULL)
}

/// The RSA-PSS bucket Go accepts: MGF1 with the same hash, salt = hash size, trailer 1.
fn pss(params: &[u8]) -> Option<u8> {
    let mut seq = Der::new(params).read(tag::SEQUENCE)?;
    let hash = explicit_ai(&mut seq, 0)?;
    let mgf = explicit_ai(&mut seq, 1)?;
    let salt = seq.read(tag::ctx_cons(2))?.read_i64()?;
    let trailer = match seq.read_optional(tag::ctx_cons(3))? {
        Some(mut t) => t.read_i64()?,
        None => 1,
    };
    let mgf_hash = parse_ai(Der::new(mgf.params?).read(tag::SEQUENCE)?).ok()?;
    let ok = null_or_absent(hash.params)
        && mgf.oid == MGF1
        && mgf_hash.oid == hash.oid
        && null_or_absent(mgf_hash.params)
        && trailer == 1;
    if !ok {
        return None;
    }
    PSS_HASHES
        .iter()
        .find(|(o, s, _)| *o == hash.oid.as_slice() && *s == salt)
        .map(|(_, _, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ai(oid: Arcs, params: Option<&[u8]>) -> AlgorithmId<'_> {
        AlgorithmId { oid, params }
    }

    #[test]
    fn numbering() {
        assert_eq!(
            signature_algorithm(&ai(vec![1, 2, 840, 113549, 1, 1, 11], Some(NULL))),
            4
        );
        assert_eq!(
            signature_algorithm(&ai(vec![1, 2, 840, 10045, 4, 3, 2], None)),
            10
        );
        assert_eq!(signature_algorithm(&ai(ED25519.to_vec(), None)), 16);
        assert_eq!(signature_algorithm(&ai(ED25519.to_vec(), Some(NULL))), 0);
        assert_eq!(
            signature_algorithm(&ai(vec![1, 2, 840, 113549, 1, 1, 2], None)),
            0
        );
        assert_eq!(signature_algorithm(&ai(RSA_PSS.to_vec(), None)), 0);
        assert_eq!(public_key_algorithm(&[1, 2, 840, 113549, 1, 1, 1]), 1);
        assert_eq!(public_key_algorithm(&[1, 3, 101, 110]), 0);
    }

    #[test]
    fn pss_sha256() {
        // SEQUENCE { [0] sha256, [1] mgf1(sha256), [2] 32 }, as OpenSSL writes it.
        let params: &[u8] = &[
            0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
            0x04, 0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48,
            0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
            0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
        ];
        assert_eq!(signature_algorithm(&ai(RSA_PSS.to_vec(), Some(params))), 13);
        let mut wrong_salt = params.to_vec();
        if let Some(last) = wrong_salt.last_mut() {
            *last = 0x21;
        }
        assert_eq!(
            signature_algorithm(&ai(RSA_PSS.to_vec(), Some(&wrong_salt))),
            0
        );
    }
}
