//! Golden tests: the JSON Go produces for each fixture must equal ours, number for number.
//!
//! The expected files come from `testdata/oracle` (a few lines of Go doing what Kyverno's
//! `jpX509Decode` does): `go run ./testdata/oracle < x.pem > x.json`. The ignored
//! `differential_against_go` test compares every `*.pem`/`*.json` pair in `$X509_DIFF_DIR`,
//! for larger runs (system CA bundles, mutated certificates) that are not committed.

use serde_json::{Value, json};

use super::decode;
use crate::functions::testutil::eval;
use crate::value::equal;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("testdata/", $name, ".pem")),
            include_str!(concat!("testdata/", $name, ".json")),
        )
    };
}

const FIXTURES: &[(&str, &str, &str)] = &[
    fixture!("rsa-ca"),
    fixture!("rsa-leaf"),
    fixture!("rsa-leaf-ecdsa-signed"),
    fixture!("rsa-intermediate-pss"),
    fixture!("rsa-odd-subject"),
    fixture!("rsa-v1"),
    fixture!("rsa-csr"),
    fixture!("rsa-csr-attrs"),
    fixture!("ec-ca"),
    fixture!("ec-csr"),
    fixture!("rsa-big-exponent"),
];

fn pem(name: &str) -> &'static str {
    FIXTURES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, p, _)| *p)
        .unwrap_or_default()
}

/// `serde_json` parses floats faster than exactly (no `float_roundtrip` feature), so the
/// expected files may be off by one ulp; our value printed and parsed the same way must match.
fn same_number(got: &Value, want: &Value) -> bool {
    let reparsed = serde_json::to_string(got).and_then(|t| serde_json::from_str::<Value>(&t));
    reparsed.is_ok_and(|r| equal(&r, want))
}

/// The first path where two JSON values differ (numbers compared as float64).
fn first_difference(path: &str, got: &Value, want: &Value) -> Option<String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let keys = g.keys().chain(w.keys().filter(|k| !g.contains_key(*k)));
            keys.filter_map(|k| {
                let (a, b) = (
                    g.get(k).unwrap_or(&Value::Null),
                    w.get(k).unwrap_or(&Value::Null),
                );
                let present = g.contains_key(k) == w.contains_key(k);
                if present {
                    first_difference(&format!("{path}.{k}"), a, b)
                } else {
                    Some(format!("{path}.{k}: present in only one side"))
                }
            })
            .next()
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => g
            .iter()
            .zip(w)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(&format!("{path}[{i}]"), a, b)),
        _ if equal(got, want) || (got.is_number() && same_number(got, want)) => None,
        _ => Some(format!("{path}: got {got}, want {want}")),
    }
}

#[test]
fn matches_go_output() {
    for (name, pem, expected) in FIXTURES {
        let want: Value = serde_json::from_str(expected).unwrap();
        match (decode(pem), want.get("error")) {
            (Err(got), Some(err)) => assert_eq!(Some(got.as_str()), err.as_str(), "{name}"),
            (Ok(got), None) => {
                let diff = first_difference("", &got, &want);
                assert!(diff.is_none(), "{name}: {}", diff.unwrap_or_default());
            }
            (got, _) => panic!("{name}: got {got:?}, want {want}"),
        }
    }
}

#[test]
fn fields_policies_read() {
    let cases: &[(&str, &str, Value)] = &[
        (
            "rsa-ca",
            "Subject.CommonName",
            json!("Palisade Test Root CA"),
        ),
        (
            "rsa-ca",
            "Subject.OrganizationalUnit",
            json!(["Security", "PKI"]),
        ),
        ("rsa-leaf", "Issuer.Organization", json!(["Palisade Test"])),
        ("rsa-leaf", "NotAfter", json!("2029-02-25T05:48:05Z")),
        ("rsa-ca", "IsCA", json!(true)),
        ("rsa-ca", "MaxPathLen", json!(1)),
        ("rsa-leaf", "IsCA", json!(false)),
        (
            "rsa-leaf",
            "DNSNames",
            json!(["web.example.com", "*.web.example.com"]),
        ),
        (
            "rsa-leaf",
            "IPAddresses",
            json!(["10.0.0.1", "2001:db8::1"]),
        ),
        ("rsa-leaf", "URIs[0].Host", json!("cluster.local")),
        ("rsa-leaf", "PublicKeyAlgorithm", json!(1)),
        ("rsa-leaf", "SignatureAlgorithm", json!(5)),
        ("rsa-leaf-ecdsa-signed", "SignatureAlgorithm", json!(10)),
        ("rsa-intermediate-pss", "SignatureAlgorithm", json!(13)),
        ("rsa-leaf", "KeyUsage", json!(5)),
        ("rsa-ca", "KeyUsage", json!(96)),
        ("rsa-leaf", "ExtKeyUsage", json!([1, 2])),
        (
            "rsa-leaf-ecdsa-signed",
            "UnknownExtKeyUsage",
            json!([[1, 2, 3, 4, 5]]),
        ),
        ("rsa-v1", "Version", json!(1)),
        ("rsa-v1", "Extensions", json!(null)),
        ("rsa-leaf", "Version", json!(3)),
        ("rsa-intermediate-pss", "SerialNumber", json!(4096)),
        ("rsa-leaf", "SerialNumber", json!(5.2008995541932624e47)),
        ("rsa-leaf", "PublicKey.E", json!(65537)),
        ("rsa-leaf", "OCSPServer", json!(["http://ocsp.example.com"])),
        (
            "rsa-intermediate-pss",
            "PermittedDNSDomains",
            json!(["example.com", ".corp.example"]),
        ),
        (
            "rsa-odd-subject",
            "UnhandledCriticalExtensions",
            json!([[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3]]),
        ),
        ("rsa-odd-subject", "NotAfter", json!("2126-10-30T05:48:17Z")),
        ("rsa-csr", "Subject.CommonName", json!("web.example.com")),
        ("rsa-csr-attrs", "IPAddresses", json!(["192.168.1.10"])),
    ];
    for (name, path, want) in cases {
        let expr = format!("x509_decode(@).{path}");
        let got = eval(&expr, &Value::String(pem(name).to_string()));
        assert!(
            got.as_ref().is_ok_and(|g| equal(g, want)),
            "{name} {path}: {got:?}"
        );
    }
}

#[test]
fn base64_encoded_input_and_modulus() {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem("rsa-ca"));
    let expr =
        format!("x509_decode(base64_decode('{b64}')).PublicKey.N == x509_decode(@).PublicKey.N");
    assert_eq!(eval(&expr, &json!(pem("rsa-ca"))).unwrap(), json!(true));
    let n = eval("x509_decode(@).PublicKey.N", &json!(pem("rsa-ca"))).unwrap();
    assert!(
        n.as_str()
            .is_some_and(|s| s.len() > 600 && s.bytes().all(|b| b.is_ascii_digit()))
    );
}

/// The same PEM block with one more byte after the DER structure.
fn with_trailing_byte(pem: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let kind = pem.lines().next().unwrap_or_default();
    let end = kind.replace("BEGIN", "END");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut der = engine.decode(body).unwrap();
    der.push(0);
    format!("{kind}\n{}\n{end}\n", engine.encode(der))
}

#[test]
fn errors() {
    let leaf = pem("rsa-leaf");
    let crlf = format!("some text before\r\n{}", leaf.replace('\n', "\r\n"));
    assert!(decode(&crlf).is_ok_and(|v| v == decode(leaf).unwrap_or_default()));
    let cases: &[(String, &str)] = &[
        ("not a certificate".into(), "failed to decode PEM block"),
        (leaf.replace("MII", "M!I"), "failed to decode PEM block"),
        (
            leaf.replace("CERTIFICATE", "PUBLIC KEY"),
            "PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST",
        ),
        (pem("ec-ca").into(), "certificate should use rsa algorithm"),
        (
            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----".into(),
            "x509: malformed tbs certificate",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nAgEA\n-----END CERTIFICATE-----".into(),
            "x509: malformed certificate",
        ),
    ];
    let cases: Vec<(String, &str)> = cases
        .iter()
        .cloned()
        .chain([
            (with_trailing_byte(pem("rsa-v1")), "x509: trailing data"),
            (
                with_trailing_byte(pem("rsa-csr")),
                "asn1: syntax error: trailing data",
            ),
        ])
        .collect();
    for (input, want) in &cases {
        let err = eval("x509_decode(@)", &json!(input)).unwrap_err();
        assert_eq!(
            err.message,
            format!("JMESPath function 'x509_decode': {want}")
        );
    }
    let err = eval("x509_decode(`1`)", &Value::Null).unwrap_err();
    assert!(err.message.contains("invalid type"), "{err}");
}

#[test]
#[ignore = "needs X509_DIFF_DIR with .pem files and the oracle's .json output"]
fn differential_against_go() {
    let dir = std::env::var("X509_DIFF_DIR").unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let (mut ok, mut bad) = (0, 0);
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pem"))
    {
        let pem = std::fs::read(path).unwrap();
        let pem = String::from_utf8_lossy(&pem).into_owned();
        let want: Value =
            serde_json::from_slice(&std::fs::read(path.with_extension("json")).unwrap()).unwrap();
        let got = decode(&pem);
        let verdict = match (&got, want.get("error")) {
            (Err(g), Some(w)) if Some(g.as_str()) == w.as_str() => None,
            (Err(g), Some(w)) => Some(format!("error {g:?} want {w}")),
            (Ok(g), None) => first_difference("", g, &want),
            (Ok(_), Some(w)) => Some(format!("ok, want error {w}")),
            (Err(g), None) => Some(format!("error {g:?}, want ok")),
        };
        match verdict {
            None => ok += 1,
            Some(v) => {
                bad += 1;
                println!("{}: {v}", path.display());
            }
        }
    }
    println!("ok={ok} bad={bad}");
}
