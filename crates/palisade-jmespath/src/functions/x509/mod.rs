//! Kyverno's `x509_decode`: a PEM certificate or certificate request, decoded the way Go's
//! `crypto/x509` parses it, returned as the `x509.Certificate` (or `CertificateRequest`)
//! struct after Kyverno's `encoding/json` round trip into `map[string]interface{}`.
//!
//! That round trip fixes the output shape: Go field names, `[]byte` as base64, nil slices
//! as `null`, times as RFC 3339, OIDs as arrays of numbers (or dotted strings for
//! `x509.OID`), enums as Go's numbers, and every number as a float64 (so `SerialNumber` is
//! rounded above 2^53). Kyverno only accepts RSA keys and replaces `PublicKey` with
//! `{"N": "<decimal modulus>", "E": <exponent>}`.
//!
//! Parsing follows Go's rules and error texts (see `der.rs` for the DER reader). Known
//! differences: ECDSA points are checked for encoding but not for being on the curve
//! (only matters for the error text, as Kyverno rejects non-RSA keys anyway); integers and
//! OID arcs above 65536 bits are refused instead of printed; certificate requests use
//! shorter error texts than Go's `encoding/asn1`, and their subjects follow the
//! certificate rules (T.61 strings are read as Latin-1).

use serde_json::Value;

use super::{Arg, Category, FnDef, Group, Ty, p, s};
use crate::error::Error;
use crate::interp::Interp;

mod algo;
mod asn1time;
mod bigint;
mod cert;
mod constraints;
mod csr;
mod der;
mod ext;
mod json;
mod key;
mod name;
mod oid;
mod pem;
mod policy;
mod url;

#[cfg(test)]
mod tests;

const NAME: &str = "x509_decode";

pub(crate) static DEFS: &[FnDef] = &[FnDef {
    name: NAME,
    sig: "x509_decode(string) object",
    doc: "Decodes a PEM certificate or certificate request (RSA keys only, as in Kyverno) into Go's x509 struct fields.",
    cat: Category::Kyverno(Group::X509),
    params: &[p(&[Ty::String])],
    imp: x509_decode,
}];

fn x509_decode(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    decode(s(a, 0)).map_err(|e| Error::function(NAME, e))
}

/// Kyverno's `jpX509Decode`, with its error texts.
pub(crate) fn decode(input: &str) -> Result<Value, String> {
    let block = pem::decode(input.as_bytes()).ok_or("failed to decode PEM block")?;
    let parsed = match block.kind.as_str() {
        "CERTIFICATE" => cert::parse(&block.bytes)?,
        "CERTIFICATE REQUEST" => csr::parse(&block.bytes)?,
        _ => {
            return Err("PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST".into());
        }
    };
    if parsed.public_key_algorithm != algo::RSA {
        return Err("certificate should use rsa algorithm".into());
    }
    let key = parsed
        .rsa
        .filter(|_| key::pkcs1_acceptable(&parsed.public_key_bits))
        .ok_or("failed to parse subject public key info")?;
    let key = key
        .to_json()
        .ok_or("failed to parse subject public key info: modulus too large")?;
    let mut object = parsed.object;
    object.insert("PublicKey".into(), key);
    Ok(Value::Object(object))
}
