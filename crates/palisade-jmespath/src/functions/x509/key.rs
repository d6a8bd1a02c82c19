//! Public keys: the checks of Go's `parsePublicKey`, and the RSA key that Kyverno puts in
//! the output as `{"N": "<decimal>", "E": <int>}`.

use serde_json::Value;

use super::algo::AlgorithmId;
use super::bigint;
use super::der::{BitString, Der, tag};
use super::json;
use super::oid;

/// An RSA public key: the modulus (positive, big-endian) and the exponent.
#[derive(Debug, Clone)]
pub(crate) struct RsaKey {
    modulus: Vec<u8>,
    exponent: i64,
}

const NULL: &[u8] = &[tag::NULL, 0x00];

/// Field sizes of the curves Go supports for ECDSA keys.
const CURVES: &[(&[u32], usize)] = &[
    (&[1, 3, 132, 0, 33], 28),
    (&[1, 2, 840, 10045, 3, 1, 7], 32),
    (&[1, 3, 132, 0, 34], 48),
    (&[1, 3, 132, 0, 35], 66),
];

fn positive(int: &[u8]) -> bool {
    int.first().is_some_and(|b| b & 0x80 == 0) && int.iter().any(|&b| b != 0)
}

fn rsa(params: Option<&[u8]>, key: &[u8]) -> Result<RsaKey, &'static str> {
    if params != Some(NULL) {
        return Err("x509: RSA key missing NULL parameters");
    }
    let mut seq = Der::new(key)
        .read(tag::SEQUENCE)
        .ok_or("x509: invalid RSA public key")?;
    let modulus = seq
        .read_integer_bytes(tag::INTEGER)
        .ok_or("x509: invalid RSA modulus")?;
    let exponent = seq.read_i64().ok_or("x509: invalid RSA public exponent")?;
    if !positive(modulus) {
        return Err("x509: RSA modulus is not a positive number");
    }
    if exponent <= 0 {
        return Err("x509: RSA public exponent is not a positive number");
    }
    Ok(RsaKey {
        modulus: modulus.to_vec(),
        exponent,
    })
}

/// Go checks the point is on the curve; only its encoding is checked here.
fn ecdsa(params: Option<&[u8]>, key: &[u8]) -> Result<(), &'static str> {
    let curve = oid::read(&mut Der::new(params.unwrap_or_default()))
        .ok_or("x509: invalid ECDSA parameters")?;
    let size = CURVES
        .iter()
        .find(|(o, _)| *o == curve.as_slice())
        .map(|(_, s)| *s)
        .ok_or("x509: unsupported elliptic curve")?;
    if key.len() != 1 + 2 * size || key.first() != Some(&4) {
        return Err("x509: failed to unmarshal elliptic curve point");
    }
    Ok(())
}

fn dsa(params: Option<&[u8]>, key: &[u8]) -> Result<(), &'static str> {
    let y = Der::new(key)
        .read_integer_bytes(tag::INTEGER)
        .ok_or("x509: invalid DSA public key")?;
    let bad = "x509: invalid DSA parameters";
    let mut p = Der::new(params.unwrap_or_default())
        .read(tag::SEQUENCE)
        .ok_or(bad)?;
    let mut pqg = [&[][..]; 3];
    for slot in &mut pqg {
        *slot = p.read_integer_bytes(tag::INTEGER).ok_or(bad)?;
    }
    if !positive(y) || !pqg.iter().all(|v| positive(v)) {
        return Err("x509: zero or negative DSA parameter");
    }
    Ok(())
}

/// Go's `parsePublicKey` for a known algorithm (1 RSA, 2 DSA, 3 ECDSA, 4 Ed25519).
/// Returns the RSA key when there is one.
pub(crate) fn parse(
    algorithm: u8,
    ai: &AlgorithmId<'_>,
    bits: &BitString<'_>,
) -> Result<Option<RsaKey>, &'static str> {
    let key = bits.right_align();
    match algorithm {
        1 => rsa(ai.params, &key).map(Some),
        2 => dsa(ai.params, &key).map(|()| None),
        3 => ecdsa(ai.params, &key).map(|()| None),
        4 if ai.params.is_some() => Err("x509: Ed25519 key encoded with illegal parameters"),
        4 if key.len() != 32 => Err("x509: wrong Ed25519 public key size"),
        _ => Ok(None),
    }
}

/// Kyverno's second parse of the key with `x509.ParsePKCS1PublicKey` (on the unaligned bit
/// string bytes): no trailing data, and an exponent below 2^31.
pub(crate) fn pkcs1_acceptable(bits: &BitString<'_>) -> bool {
    let mut outer = Der::new(bits.bytes);
    let Some(mut seq) = outer.read(tag::SEQUENCE) else {
        return false;
    };
    let n = seq.read_integer_bytes(tag::INTEGER);
    let e = seq.read_i64();
    match (n, e) {
        (Some(n), Some(e)) => outer.is_empty() && positive(n) && e > 0 && e <= i64::from(i32::MAX),
        _ => false,
    }
}

impl RsaKey {
    /// Kyverno's `PublicKey{N string, E int}`; `None` when the modulus is too large to print.
    pub fn to_json(&self) -> Option<Value> {
        let n = bigint::to_decimal(&bigint::from_be_bytes(&self.modulus))?;
        Some(json::object([
            ("N", Value::String(n)),
            ("E", json::int(self.exponent)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(bytes: &[u8]) -> BitString<'_> {
        BitString {
            bytes,
            bit_len: bytes.len() * 8,
        }
    }

    fn rsa_ai() -> AlgorithmId<'static> {
        AlgorithmId {
            oid: vec![1, 2, 840, 113549, 1, 1, 1],
            params: Some(NULL),
        }
    }

    #[test]
    fn rsa_keys() {
        let key = [0x30, 0x08, 0x02, 0x02, 0x00, 0xc5, 0x02, 0x02, 0x01, 0x01];
        let parsed = parse(1, &rsa_ai(), &bits(&key)).unwrap().unwrap();
        assert_eq!(
            parsed.to_json(),
            Some(serde_json::json!({"N": "197", "E": 257}))
        );
        assert!(pkcs1_acceptable(&bits(&key)));
        let no_params = AlgorithmId {
            params: None,
            ..rsa_ai()
        };
        assert_eq!(
            parse(1, &no_params, &bits(&key)).unwrap_err(),
            "x509: RSA key missing NULL parameters"
        );
        let negative = [0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x03];
        assert_eq!(
            parse(1, &rsa_ai(), &bits(&negative)).unwrap_err(),
            "x509: RSA modulus is not a positive number"
        );
        let zero_e = [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x00];
        assert_eq!(
            parse(1, &rsa_ai(), &bits(&zero_e)).unwrap_err(),
            "x509: RSA public exponent is not a positive number"
        );
        let big_e = [
            0x30, 0x0a, 0x02, 0x01, 0x05, 0x02, 0x05, 0x00, 0x80, 0, 0, 0,
        ];
        assert!(parse(1, &rsa_ai(), &bits(&big_e)).is_ok());
        assert!(!pkcs1_acceptable(&bits(&big_e)));
        let trailing = [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03, 0x00];
        assert!(!pkcs1_acceptable(&bits(&trailing)));
    }

    #[test]
    fn other_keys() {
        let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let ec = AlgorithmId {
            oid: vec![1, 2, 840, 10045, 2, 1],
            params: Some(&p256),
        };
        let mut point = vec![4u8];
        point.extend([1u8; 64]);
        assert!(parse(3, &ec, &bits(&point)).is_ok());
        assert_eq!(
            parse(3, &ec, &bits(&point[..64])).unwrap_err(),
            "x509: failed to unmarshal elliptic curve point"
        );
        let ed = AlgorithmId {
            oid: vec![1, 3, 101, 112],
            params: None,
        };
        assert_eq!(
            parse(4, &ed, &bits(&[0; 31])).unwrap_err(),
            "x509: wrong Ed25519 public key size"
        );
        assert!(parse(0, &ed, &bits(&[])).unwrap().is_none());
    }
}
