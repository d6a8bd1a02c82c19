//! Certificates: Go's `x509.ParseCertificate`, producing the `x509.Certificate` JSON object
//! (without `PublicKey`, which Kyverno replaces).

use serde_json::{Map, Value};

use super::algo::{self, parse_ai};
use super::asn1time;
use super::bigint;
use super::der::{BitString, Der, tag};
use super::ext::{self, Fields};
use super::json;
use super::key::{self, RsaKey};
use super::name::Name;

/// What the caller needs besides the JSON object: the key, for Kyverno's RSA handling.
pub(crate) struct Parsed<'a> {
    pub object: Map<String, Value>,
    pub public_key_algorithm: u8,
    pub rsa: Option<RsaKey>,
    pub public_key_bits: BitString<'a>,
}

/// A `*big.Int` after the float64 round trip; Go's JSON decoder fails beyond float64.
pub(crate) fn serial_json(bytes: &[u8]) -> Result<Value, String> {
    let (negative, magnitude) = bigint::from_twos_complement(bytes);
    let digits = bigint::to_decimal(&magnitude)
        .ok_or("json: cannot unmarshal number into Go value of type float64")?;
    let text = if negative {
        format!("-{digits}")
    } else {
        digits
    };
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(crate::value::number(f)),
        _ => Err(format!(
            "json: cannot unmarshal number {text} into Go value of type float64"
        )),
    }
}

/// The optional `[0] EXPLICIT` version, zero-based as encoded.
fn version(tbs: &mut Der<'_>) -> Result<i64, String> {
    let bad = "x509: malformed version";
    let v = match tbs.read_optional(tag::ctx_cons(0)).ok_or(bad)? {
        None => 0,
        Some(mut inner) => {
            let v = inner.read_i64().ok_or(bad)?;
            if !inner.is_empty() {
                return Err(bad.into());
            }
            v
        }
    };
    if v < 0 {
        return Err(bad.into());
    }
    Ok(v)
}

fn time_json(d: &mut Der<'_>) -> Result<Value, String> {
    let t = asn1time::read(d).map_err(|e| e.message().to_string())?;
    t.rfc3339().map(Value::String).ok_or_else(|| {
        "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: \
         timezone hour outside of range [0,23]"
            .to_string()
    })
}

/// Reads the optional unique IDs and extensions of a v2/v3 TBSCertificate.
fn extensions<'a>(tbs: &mut Der<'a>, version: i64) -> Result<Vec<ext::Extension<'a>>, String> {
    if version < 2 {
        return Ok(Vec::new());
    }
    if !tbs.skip_optional(tag::ctx(1)) {
        return Err("x509: malformed issuerUniqueID".into());
    }
    if !tbs.skip_optional(tag::ctx(2)) {
        return Err("x509: malformed subjectUniqueID".into());
    }
    if version != 3 {
        return Ok(Vec::new());
    }
    let bad = "x509: malformed extensions";
    match tbs.read_optional(tag::ctx_cons(3)).ok_or(bad)? {
        None => Ok(Vec::new()),
        Some(mut e) => ext::read_all(e.read(tag::SEQUENCE).ok_or(bad)?),
    }
}

/// Go's `x509.ParseCertificate`.
pub(crate) fn parse(der: &[u8]) -> Result<Parsed<'_>, String> {
    let mut o = Map::new();
    let raw = Der::new(der)
        .read_element(tag::SEQUENCE)
        .ok_or("x509: malformed certificate")?;
    let mut body = Der::new(raw)
        .read(tag::SEQUENCE)
        .ok_or("x509: malformed certificate")?;
    let tbs_raw = body
        .read_element(tag::SEQUENCE)
        .ok_or("x509: malformed tbs certificate")?;
    let mut tbs = Der::new(tbs_raw)
        .read(tag::SEQUENCE)
        .ok_or("x509: malformed tbs certificate")?;
    let version = version(&mut tbs)? + 1;
    if version > 3 {
        return Err("x509: invalid version".into());
    }
    let serial = tbs
        .read_integer_bytes(tag::INTEGER)
        .ok_or("x509: malformed serial number")?;
    if serial.first().is_some_and(|b| b & 0x80 != 0) {
        return Err("x509: negative serial number".into());
    }
    let sig_ai = tbs
        .read(tag::SEQUENCE)
        .ok_or("x509: malformed signature algorithm identifier")?;
    let outer_ai = body
        .read(tag::SEQUENCE)
        .ok_or("x509: malformed algorithm identifier")?;
    if outer_ai.bytes() != sig_ai.bytes() {
        return Err("x509: inner and outer signature algorithm identifiers don't match".into());
    }
    let sig_ai = parse_ai(sig_ai)?;
    let issuer = tbs
        .read_element(tag::SEQUENCE)
        .ok_or("x509: malformed issuer")?;
    o.insert("Issuer".into(), Name::parse(issuer)?.to_json());
    let mut validity = tbs.read(tag::SEQUENCE).ok_or("x509: malformed validity")?;
    o.insert("NotBefore".into(), time_json(&mut validity)?);
    o.insert("NotAfter".into(), time_json(&mut validity)?);
    // Go reports a bad subject as "malformed issuer" too.
    let subject = tbs
        .read_element(tag::SEQUENCE)
        .ok_or("x509: malformed issuer")?;
    o.insert("Subject".into(), Name::parse(subject)?.to_json());
    let spki_raw = tbs
        .read_element(tag::SEQUENCE)
        .ok_or("x509: malformed spki")?;
    let (pka, rsa, bits) = spki(spki_raw)?;
    let exts = extensions(&mut tbs, version)?;
    let fields = Fields::process(&exts)?;
    let signature = body
        .read_bit_string()
        .ok_or("x509: malformed signature")?
        .right_align();
    if raw.len() != der.len() {
        return Err("x509: trailing data".into());
    }
    o.insert("Raw".into(), json::bytes(raw));
    o.insert("RawTBSCertificate".into(), json::bytes(tbs_raw));
    o.insert("RawSubjectPublicKeyInfo".into(), json::bytes(spki_raw));
    o.insert("RawSubject".into(), json::bytes(subject));
    o.insert("RawIssuer".into(), json::bytes(issuer));
    o.insert("Signature".into(), json::bytes(&signature));
    o.insert(
        "SignatureAlgorithm".into(),
        Value::from(algo::signature_algorithm(&sig_ai)),
    );
    o.insert("PublicKeyAlgorithm".into(), Value::from(pka));
    o.insert("Version".into(), json::int(version));
    o.insert("SerialNumber".into(), serial_json(serial)?);
    o.insert(
        "Extensions".into(),
        json::list(&exts, ext::Extension::to_json),
    );
    o.insert("ExtraExtensions".into(), Value::Null);
    fields.fill(&mut o);
    Ok(Parsed {
        object: o,
        public_key_algorithm: pka,
        rsa,
        public_key_bits: bits,
    })
}

/// The SubjectPublicKeyInfo: algorithm number, RSA key if any, and the key bits.
pub(crate) fn spki(raw: &[u8]) -> Result<(u8, Option<RsaKey>, BitString<'_>), String> {
    let mut spki = Der::new(raw)
        .read(tag::SEQUENCE)
        .ok_or("x509: malformed spki")?;
    let ai = spki
        .read(tag::SEQUENCE)
        .ok_or("x509: malformed public key algorithm identifier")?;
    let ai = parse_ai(ai)?;
    let pka = algo::public_key_algorithm(&ai.oid);
    let bits = spki
        .read_bit_string()
        .ok_or("x509: malformed subjectPublicKey")?;
    let rsa = if pka == 0 {
        None
    } else {
        key::parse(pka, &ai, &bits)?
    };
    Ok((pka, rsa, bits))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn serial_numbers() {
        assert_eq!(serial_json(&[0x00]), Ok(json!(0)));
        assert_eq!(serial_json(&[0x10, 0x00]), Ok(json!(4096)));
        let big = serial_json(&[0x5b; 20]).unwrap();
        assert!(big.as_f64().is_some_and(|f| f > 5e47));
        let mut huge = vec![0x7f];
        huge.extend([0xff; 130]);
        assert!(
            serial_json(&huge)
                .unwrap_err()
                .starts_with("json: cannot unmarshal number 1")
        );
    }

    #[test]
    fn malformed_inputs() {
        let cases: &[(&[u8], &str)] = &[
            (&[], "x509: malformed certificate"),
            (&[0x30, 0x00], "x509: malformed tbs certificate"),
            (&[0x30, 0x02, 0x30, 0x00], "x509: malformed serial number"),
            (
                &[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x80],
                "x509: negative serial number",
            ),
            (
                &[0x30, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x03],
                "x509: invalid version",
            ),
            (
                &[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01],
                "x509: malformed signature algorithm identifier",
            ),
        ];
        for (der, want) in cases {
            assert_eq!(parse(der).err().as_deref(), Some(*want), "{der:02x?}");
        }
    }
}
