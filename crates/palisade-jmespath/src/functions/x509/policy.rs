//! Certificate policies, policy mappings, policy constraints and inhibitAnyPolicy.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::der::{Der, tag};
use super::json;
use super::oid::{self, Arcs};

/// Checks that a policy OID can be printed (see [`oid::MAX_ARC_BITS`]).
fn printable(der: &[u8]) -> Result<Vec<u8>, String> {
    match oid::der_to_text(der) {
        Some(_) => Ok(der.to_vec()),
        None => Err(format!(
            "x509: policy OID with an arc above {} bits is not supported",
            oid::MAX_ARC_BITS
        )),
    }
}

/// The policy fields of an `x509.Certificate`.
#[derive(Debug, Default)]
pub(crate) struct Policies {
    /// `PolicyIdentifiers`: non-nil (possibly empty) once the extension is present.
    identifiers: Option<Vec<Arcs>>,
    /// `Policies`: the DER of each policy OID.
    policies: Vec<Vec<u8>>,
    inhibit_any_policy: Option<i64>,
    inhibit_policy_mapping: Option<i64>,
    require_explicit_policy: Option<i64>,
    mappings: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Policies {
    /// Go's `parseCertificatePoliciesExtension` and the `PolicyIdentifiers` derived from it.
    pub fn certificate_policies(&mut self, value: &[u8]) -> Result<(), String> {
        let bad = "x509: invalid certificate policies";
        let mut seq = Der::new(value).read(tag::SEQUENCE).ok_or(bad)?;
        let mut seen = HashSet::new();
        let mut policies = Vec::new();
        while !seq.is_empty() {
            let der = seq
                .read(tag::SEQUENCE)
                .and_then(|mut info| info.read(tag::OID))
                .ok_or(bad)?
                .bytes();
            if !seen.insert(der) || !oid::valid_der(der) {
                return Err(bad.into());
            }
            printable(der)?;
            policies.push(der.to_vec());
        }
        self.identifiers = Some(
            policies
                .iter()
                .filter_map(|d| oid::der_to_arcs(d))
                .collect(),
        );
        self.policies = policies;
        Ok(())
    }

    /// The policy mappings extension (OIDs are kept unchecked, as Go does).
    pub fn mappings(&mut self, value: &[u8]) -> Result<(), String> {
        let bad = "x509: invalid policy mappings extension";
        let mut seq = Der::new(value).read(tag::SEQUENCE).ok_or(bad)?;
        while !seq.is_empty() {
            let mut pair = seq.read(tag::SEQUENCE).ok_or(bad)?;
            let issuer = printable(pair.read(tag::OID).ok_or(bad)?.bytes())?;
            let subject = printable(pair.read(tag::OID).ok_or(bad)?.bytes())?;
            self.mappings.push((issuer, subject));
        }
        Ok(())
    }

    /// The policy constraints extension: requireExplicitPolicy `[0]`, inhibitPolicyMapping `[1]`.
    pub fn constraints(&mut self, value: &[u8]) -> Result<(), String> {
        let bad = "x509: invalid policy constraints extension";
        let mut seq = Der::new(value).read(tag::SEQUENCE).ok_or(bad)?;
        if seq.peek(tag::ctx(0)) {
            self.require_explicit_policy = Some(seq.read_i64_tagged(tag::ctx(0)).ok_or(bad)?);
        }
        if seq.peek(tag::ctx(1)) {
            self.inhibit_policy_mapping = Some(seq.read_i64_tagged(tag::ctx(1)).ok_or(bad)?);
        }
        Ok(())
    }

    /// The inhibitAnyPolicy extension.
    pub fn inhibit_any(&mut self, value: &[u8]) -> Result<(), String> {
        let v = Der::new(value)
            .read_i64()
            .ok_or("x509: invalid inhibit any policy extension")?;
        self.inhibit_any_policy = Some(v);
        Ok(())
    }

    /// Writes the policy fields into the certificate object.
    pub fn fill(&self, out: &mut Map<String, Value>) {
        let text = |der: &[u8]| Value::String(oid::der_to_text(der).unwrap_or_default());
        let identifiers = self.identifiers.as_ref().map_or(Value::Null, |ids| {
            Value::Array(ids.iter().map(|a| oid::to_json(a)).collect())
        });
        let mappings = json::list(&self.mappings, |(i, s)| {
            json::object([
                ("IssuerDomainPolicy", text(i)),
                ("SubjectDomainPolicy", text(s)),
            ])
        });
        let mut put = |k: &str, v: Value| {
            out.insert(k.to_string(), v);
        };
        put("PolicyIdentifiers", identifiers);
        put("Policies", json::list(&self.policies, |d| text(d)));
        put("PolicyMappings", mappings);
        let numbers = [
            ("InhibitAnyPolicy", self.inhibit_any_policy),
            ("InhibitPolicyMapping", self.inhibit_policy_mapping),
            ("RequireExplicitPolicy", self.require_explicit_policy),
        ];
        for (name, v) in numbers {
            put(name, json::int(v.unwrap_or(0)));
            put(&format!("{name}Zero"), Value::Bool(v == Some(0)));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn policies() {
        let mut p = Policies::default();
        // anyPolicy and 2.25.<2^64> (too large for PolicyIdentifiers).
        let value = [
            0x30, 0x15, 0x30, 0x06, 0x06, 0x04, 0x55, 0x1d, 0x20, 0x00, 0x30, 0x0b, 0x06, 0x09,
            0x69, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        ];
        assert!(p.certificate_policies(&value).is_err());
        let value = [
            0x30, 0x19, 0x30, 0x06, 0x06, 0x04, 0x55, 0x1d, 0x20, 0x00, 0x30, 0x0f, 0x06, 0x0d,
            0x69, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x02,
        ];
        p.certificate_policies(&value).unwrap();
        p.inhibit_any(&[0x02, 0x01, 0x00]).unwrap();
        p.constraints(&[0x30, 0x03, 0x81, 0x01, 0x02]).unwrap();
        let mut out = Map::new();
        p.fill(&mut out);
        assert_eq!(
            out["Policies"],
            json!(["2.5.29.32.0", "2.25.18446744073709551616.1.2"])
        );
        assert_eq!(out["PolicyIdentifiers"], json!([[2, 5, 29, 32, 0]]));
        assert_eq!(out["InhibitAnyPolicyZero"], json!(true));
        assert_eq!(out["InhibitPolicyMapping"], json!(2));
        assert_eq!(out["RequireExplicitPolicyZero"], json!(false));
        assert_eq!(out["PolicyMappings"], json!(null));
        let dup = [
            0x30, 0x0c, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03,
        ];
        assert!(Policies::default().certificate_policies(&dup).is_err());
    }
}
