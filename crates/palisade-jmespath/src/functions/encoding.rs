//! Kyverno's encoding functions: base64, hashes, JSON and YAML decoding.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{Arg, Category, FnDef, Group, Ty, p, s};
use crate::error::Error;
use crate::interp::Interp;

const C: Category = Category::Kyverno(Group::Encoding);
const STR: &[Ty] = &[Ty::String];

macro_rules! def {
    ($name:literal, $sig:literal, $doc:literal, [$($param:expr),*], $imp:expr) => {
        FnDef { name: $name, sig: $sig, doc: $doc, cat: C, params: &[$($param),*], imp: $imp }
    };
}

pub(crate) static DEFS: &[FnDef] = &[
    def!(
        "base64_decode",
        "base64_decode(string) string",
        "Decodes standard (padded) base64.",
        [p(STR)],
        base64_decode
    ),
    def!(
        "base64_encode",
        "base64_encode(string) string",
        "Encodes to standard base64.",
        [p(STR)],
        |a, _| Ok(Value::String(STANDARD.encode(s(a, 0))))
    ),
    def!(
        "sha256",
        "sha256(string) string",
        "Hex SHA-256 of the string.",
        [p(STR)],
        |a, _| Ok(Value::String(hex(&Sha256::digest(s(a, 0).as_bytes()))))
    ),
    def!(
        "sha1",
        "sha1(string) string",
        "Hex SHA-1 of the string.",
        [p(STR)],
        |a, _| Ok(Value::String(hex(&Sha1::digest(s(a, 0).as_bytes()))))
    ),
    def!(
        "md5",
        "md5(string) string",
        "Hex MD5 of the string.",
        [p(STR)],
        |a, _| Ok(Value::String(hex(&Md5::digest(s(a, 0).as_bytes()))))
    ),
    def!(
        "parse_json",
        "parse_json(string) any",
        "Decodes a JSON string (the opposite of to_string).",
        [p(STR)],
        parse_json
    ),
    def!(
        "parse_yaml",
        "parse_yaml(string) any",
        "Decodes a YAML string (first document) to JSON.",
        [p(STR)],
        parse_yaml
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64_decode(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let bytes = STANDARD.decode(s(a, 0)).map_err(|e| {
        let msg = match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => {
                format!("illegal base64 data at input byte {at}")
            }
            other => format!("illegal base64 data: {other}"),
        };
        Error::function("base64_decode", msg)
    })?;
    // Go keeps the bytes; JSON output replaces invalid UTF-8 the same way.
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

fn parse_json(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    serde_json::from_str(s(a, 0)).map_err(|e| Error::function("parse_json", e))
}

fn parse_yaml(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let docs = palisade_yaml::parse_documents(s(a, 0), &palisade_yaml::Options::default())
        .map_err(|e| Error::function("parse_yaml", e))?;
    Ok(docs.into_iter().next().map_or(Value::Null, |d| d.value))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::testutil::{check, check_err};

    #[test]
    fn table() {
        check(&[
            ("base64_encode('hello')", json!("aGVsbG8=")),
            ("base64_decode('aGVsbG8=')", json!("hello")),
            (
                "sha256('abc')",
                json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ),
            (
                "sha1('abc')",
                json!("a9993e364706816aba3e25717850c26c9cd0d89d"),
            ),
            ("md5('abc')", json!("900150983cd24fb0d6963f7d28e17f72")),
            ("parse_json('{\"a\": [1, 2.5]}')", json!({"a": [1, 2.5]})),
            ("parse_json('\"x\"')", json!("x")),
            (
                "parse_yaml('a: yes\nb: 0755\nc: [1, x]')",
                json!({"a": true, "b": 493, "c": [1, "x"]}),
            ),
            ("parse_yaml('')", json!(null)),
        ]);
        check_err(&[
            ("base64_decode('a')", "base64_decode"),
            (
                "base64_decode('a$==')",
                "illegal base64 data at input byte 1",
            ),
            ("parse_json('{')", "parse_json"),
            ("parse_yaml('a: [')", "parse_yaml"),
        ]);
    }
}
