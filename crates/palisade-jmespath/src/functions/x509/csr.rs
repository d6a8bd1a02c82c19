//! Certificate requests: Go's `x509.ParseCertificateRequest`, producing the
//! `x509.CertificateRequest` JSON object (without `PublicKey`, which Kyverno replaces).
//!
//! Go decodes requests with `encoding/asn1`; for DER input the accepted structures are the
//! same as here, but malformed requests get shorter error texts than Go's reflection-based
//! ones (`asn1: structure error: ...`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::algo::{self, parse_ai};
use super::asn1time;
use super::cert::{Parsed, spki};
use super::der::{self, Der, tag};
use super::ext::{self, Extension};
use super::json;
use super::name::{self, Name};
use super::oid;

const EXTENSION_REQUEST: &[u32] = &[1, 2, 840, 113549, 1, 9, 14];

fn structure(what: &str) -> String {
    format!("asn1: structure error: {what}")
}

/// An attribute value as `encoding/asn1` decodes it into `interface{}` (unknown types and
/// constructed values are nil); `None` when Go's decoding fails.
fn any_value(t: u8, body: &[u8]) -> Option<Value> {
    let v = match t {
        tag::BOOLEAN => match body {
            [0x00] => Value::Bool(false),
            [0xff] => Value::Bool(true),
            _ => return None,
        },
        tag::INTEGER if der::minimal_integer(body) => json::int(der::signed(body)?),
        tag::INTEGER => return None,
        tag::BIT_STRING => {
            let bits = der::bit_string(body)?;
            json::object([
                ("Bytes", json::bytes(bits.bytes)),
                ("BitLength", Value::from(bits.bit_len)),
            ])
        }
        tag::OID => oid::to_json(&oid::parse_arcs(body)?),
        tag::OCTET_STRING => json::bytes(body),
        tag::UTC_TIME => Value::String(asn1time::parse_utc(body)?.rfc3339()?),
        tag::GENERALIZED_TIME => Value::String(asn1time::parse_generalized(body)?.rfc3339()?),
        tag::T61_STRING => Value::String(json::go_string(body)),
        tag::PRINTABLE_STRING
        | tag::NUMERIC_STRING
        | tag::IA5_STRING
        | tag::UTF8_STRING
        | tag::BMP_STRING => Value::String(name::asn1_string(t, body).ok()?),
        _ => Value::Null,
    };
    Some(v)
}

/// One `pkix.AttributeTypeAndValueSET`, or `None` when Go would skip the attribute.
fn attribute(raw: &[u8]) -> Option<Value> {
    let mut outer = Der::new(raw);
    let mut seq = outer.read(tag::SEQUENCE)?;
    let oid = oid::read(&mut seq)?;
    let mut set = seq.read(tag::SET)?;
    let mut groups = Vec::new();
    while !set.is_empty() {
        let mut group = set.read(tag::SEQUENCE)?;
        let mut atvs = Vec::new();
        while !group.is_empty() {
            let mut atv = group.read(tag::SEQUENCE)?;
            let ty = oid::read(&mut atv)?;
            let (t, body) = atv.read_any()?;
            let value = any_value(t, body.bytes())?;
            atvs.push(json::object([
                ("Type", oid::to_json(&ty)),
                ("Value", value),
            ]));
        }
        groups.push(Value::Array(atvs));
    }
    outer.is_empty().then(|| {
        json::object([
            ("Type", oid::to_json(&oid)),
            ("Value", Value::Array(groups)),
        ])
    })
}

/// The requested extensions of an extensionRequest attribute (`parseCSRExtensions`).
fn requested_extensions<'a>(
    raw: &'a [u8],
    seen: &mut HashSet<String>,
) -> Result<Vec<Extension<'a>>, String> {
    let mut outer = Der::new(raw);
    let parsed = outer.read(tag::SEQUENCE).and_then(|mut s| {
        let id = oid::read(&mut s)?;
        let values = s.read(tag::SET)?;
        Some((id, values))
    });
    let Some((id, mut values)) = parsed else {
        return Ok(Vec::new());
    };
    // Go decodes every value of the SET (as raw elements) before looking at the first.
    let mut all = values;
    while all.read_any_element().is_some() {}
    if !outer.is_empty() || !all.is_empty() || values.is_empty() || id != EXTENSION_REQUEST {
        return Ok(Vec::new());
    }
    let bad = || structure("invalid extension request");
    let mut list = values.read(tag::SEQUENCE).ok_or_else(bad)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let e = ext::parse_one(list.read(tag::SEQUENCE).ok_or_else(bad)?).map_err(|_| bad())?;
        if !seen.insert(oid::dotted(&e.id)) {
            return Err("x509: certificate request contains duplicate requested extensions".into());
        }
        out.push(e);
    }
    Ok(out)
}

/// `encoding/asn1`'s error for an outer element that does not parse (tag, length, size).
fn outer_error(der: &[u8]) -> String {
    let syntax = |m: &str| format!("asn1: syntax error: {m}");
    let Some((&t, rest)) = der.split_first() else {
        return syntax("sequence truncated");
    };
    let Some((&l, mut rest)) = rest.split_first() else {
        return syntax("truncated tag or length");
    };
    let mut len = usize::from(l);
    if l & 0x80 != 0 {
        if l == 0x80 {
            return syntax("indefinite length found (not DER)");
        }
        len = 0;
        for _ in 0..(l & 0x7f) {
            let Some((&b, r)) = rest.split_first() else {
                return syntax("truncated tag or length");
            };
            rest = r;
            if len >= 1 << 23 {
                return structure("length too large");
            }
            len = (len << 8) | usize::from(b);
            if len == 0 {
                return structure("superfluous leading zeros in length");
            }
        }
        if len < 0x80 {
            return structure("non-minimal length");
        }
    }
    if t & 0x1f == 0x1f {
        return structure("malformed certificate request");
    }
    if t != tag::SEQUENCE {
        let at = der.len() - rest.len();
        return structure(&format!(
            "tags don't match (16 vs {{class:{} tag:{} length:{len} isCompound:{}}}) \
             {{optional:false explicit:false application:false private:false \
             defaultValue:<nil> tag:<nil> stringType:0 timeType:0 set:false omitEmpty:false}} \
             certificateRequest @{at}",
            t >> 6,
            t & 0x1f,
            t & 0x20 != 0
        ));
    }
    if len > rest.len() {
        return syntax("data truncated");
    }
    structure("malformed certificate request")
}

/// Go's `x509.ParseCertificateRequest`.
pub(crate) fn parse(der: &[u8]) -> Result<Parsed<'_>, String> {
    let mut input = Der::new(der);
    let raw = input
        .read_element(tag::SEQUENCE)
        .ok_or_else(|| outer_error(der))?;
    let bad_tbs = || structure("malformed certificate request info");
    let mut body = Der::new(raw).read(tag::SEQUENCE).ok_or_else(bad_tbs)?;
    let tbs_raw = body.read_element(tag::SEQUENCE).ok_or_else(bad_tbs)?;
    let mut tbs = Der::new(tbs_raw).read(tag::SEQUENCE).ok_or_else(bad_tbs)?;
    let version = tbs.read_i64().ok_or_else(bad_tbs)?;
    let (_, subject) = tbs.read_any_element().ok_or_else(bad_tbs)?;
    let spki_raw = tbs.read_element(tag::SEQUENCE).ok_or_else(bad_tbs)?;
    let mut attrs = tbs.read(tag::ctx_cons(0)).ok_or_else(bad_tbs)?;
    let sig_ai = body
        .read(tag::SEQUENCE)
        .ok_or_else(|| structure("malformed signature algorithm"))?;
    let sig_ai = parse_ai(sig_ai).map_err(structure)?;
    let signature = body
        .read_bit_string()
        .ok_or_else(|| structure("malformed signature"))?
        .right_align();
    // encoding/asn1 decodes the whole structure before it looks for trailing bytes.
    if !input.is_empty() {
        return Err("asn1: syntax error: trailing data".into());
    }
    let (pka, rsa, bits) = spki(spki_raw)?;
    let subject_name = Name::parse(subject).map_err(|e| structure(&e))?;
    let (mut attributes, mut exts, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
    while !attrs.is_empty() {
        let (_, a) = attrs.read_any_element().ok_or_else(bad_tbs)?;
        attributes.extend(attribute(a));
        exts.extend(requested_extensions(a, &mut seen)?);
    }
    let mut sans = ext::Sans::default();
    for e in exts.iter().filter(|e| e.id == [2, 5, 29, 17]) {
        sans = ext::parse_sans(e.value)?;
    }
    let mut o = Map::new();
    o.insert("Raw".into(), json::bytes(raw));
    o.insert("RawTBSCertificateRequest".into(), json::bytes(tbs_raw));
    o.insert("RawSubjectPublicKeyInfo".into(), json::bytes(spki_raw));
    o.insert("RawSubject".into(), json::bytes(subject));
    o.insert("Version".into(), json::int(version));
    o.insert("Signature".into(), json::bytes(&signature));
    o.insert(
        "SignatureAlgorithm".into(),
        Value::from(algo::signature_algorithm(&sig_ai)),
    );
    o.insert("PublicKeyAlgorithm".into(), Value::from(pka));
    o.insert("Subject".into(), subject_name.to_json());
    o.insert("Attributes".into(), json::list(&attributes, Value::clone));
    o.insert("Extensions".into(), json::list(&exts, Extension::to_json));
    o.insert("ExtraExtensions".into(), Value::Null);
    sans.fill(&mut o);
    Ok(Parsed {
        object: o,
        public_key_algorithm: pka,
        rsa,
        public_key_bits: bits,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn attribute_values() {
        let cases: &[(u8, &[u8], Option<Value>)] = &[
            (tag::BOOLEAN, &[0xff], Some(json!(true))),
            (tag::BOOLEAN, &[0x01], None),
            (tag::INTEGER, &[0x01, 0x00], Some(json!(256))),
            (tag::OCTET_STRING, &[0x30, 0x00], Some(json!("MAA="))),
            (tag::OID, &[0x2a, 0x03], Some(json!([1, 2, 3]))),
            (
                tag::BIT_STRING,
                &[0x00, 0xff],
                Some(json!({"Bytes": "/w==", "BitLength": 8})),
            ),
            (tag::SEQUENCE, &[], Some(json!(null))),
            (tag::UTF8_STRING, b"x", Some(json!("x"))),
        ];
        for (t, body, want) in cases {
            assert_eq!(any_value(*t, body), *want, "{t} {body:02x?}");
        }
    }

    #[test]
    fn challenge_password_is_skipped() {
        // SEQUENCE { challengePassword, SET { UTF8String "pw" } }: not a SEQUENCE OF ATV.
        let raw = [
            0x30, 0x11, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07, 0x31,
            0x04, 0x0c, 0x02, b'p', b'w',
        ];
        assert_eq!(attribute(&raw), None);
        let mut seen = HashSet::new();
        assert!(requested_extensions(&raw, &mut seen).unwrap().is_empty());
        assert!(parse(&[0x30, 0x00]).is_err());
    }

    #[test]
    fn outer_errors_like_encoding_asn1() {
        let cases: &[(&[u8], &str)] = &[
            (&[], "asn1: syntax error: sequence truncated"),
            (&[0x30, 0x05, 0x00], "asn1: syntax error: data truncated"),
            (
                &[0x30, 0x84, 0x80, 0, 0, 0],
                "asn1: structure error: length too large",
            ),
            (
                &[0x30, 0x81, 0x05],
                "asn1: structure error: non-minimal length",
            ),
            (
                &[0x30, 0x80],
                "asn1: syntax error: indefinite length found (not DER)",
            ),
            (
                &[0x30, 0x00, 0x00],
                "asn1: structure error: malformed certificate request info",
            ),
        ];
        for (der, want) in cases {
            assert_eq!(parse(der).err().as_deref(), Some(*want), "{der:02x?}");
        }
        let err = parse(&[0x02, 0x01, 0x00]).err().unwrap_or_default();
        assert!(err.starts_with("asn1: structure error: tags don't match (16 vs {class:0 tag:2 length:1 isCompound:false})"));
        assert!(err.ends_with("certificateRequest @2"), "{err}");
    }
}
