//! Certificate extensions: Go's `parseExtension` and `processExtensions`, filling the
//! `x509.Certificate` fields that come from extensions.

use serde_json::{Map, Value};

use super::constraints::{self, NameConstraints, domain_name_valid};
use super::der::{Der, tag};
use super::json::{self, go_quote};
use super::oid::{self, Arcs};
use super::policy::Policies;
use super::url;

/// A raw extension (`pkix.Extension`).
#[derive(Debug, Clone)]
pub(crate) struct Extension<'a> {
    pub id: Arcs,
    pub critical: bool,
    pub value: &'a [u8],
}

impl Extension<'_> {
    pub fn to_json(&self) -> Value {
        json::object([
            ("Id", oid::to_json(&self.id)),
            ("Critical", Value::Bool(self.critical)),
            ("Value", json::bytes(self.value)),
        ])
    }
}

/// Go's `parseExtension` on the contents of the extension SEQUENCE.
pub(crate) fn parse_one(mut d: Der<'_>) -> Result<Extension<'_>, String> {
    let id = oid::read(&mut d).ok_or("x509: malformed extension OID field")?;
    let critical = if d.peek(tag::BOOLEAN) {
        d.read_bool()
            .ok_or("x509: malformed extension critical field")?
    } else {
        false
    };
    let value = d
        .read(tag::OCTET_STRING)
        .ok_or("x509: malformed extension value field")?
        .bytes();
    Ok(Extension {
        id,
        critical,
        value,
    })
}

/// Subject alternative names (`parseSANExtension`).
#[derive(Debug, Default)]
pub(crate) struct Sans {
    pub dns: Vec<String>,
    pub email: Vec<String>,
    pub ips: Vec<Vec<u8>>,
    pub uris: Vec<Value>,
}

impl Sans {
    fn is_empty(&self) -> bool {
        self.dns.is_empty() && self.email.is_empty() && self.ips.is_empty() && self.uris.is_empty()
    }

    /// Writes the four SAN fields into a certificate or CSR object.
    pub fn fill(&self, out: &mut Map<String, Value>) {
        out.insert("DNSNames".into(), json::strings(&self.dns));
        out.insert("EmailAddresses".into(), json::strings(&self.email));
        out.insert(
            "IPAddresses".into(),
            json::list(&self.ips, |ip| json::ip(ip)),
        );
        out.insert("URIs".into(), json::list(&self.uris, Value::clone));
    }
}

fn ia5(data: &[u8], what: &str) -> Result<String, String> {
    if !data.is_ascii() {
        return Err(format!("x509: SAN {what} is malformed"));
    }
    Ok(json::go_string(data))
}

fn san_uri(data: &[u8]) -> Result<Value, String> {
    let uri = ia5(data, "uniformResourceIdentifier")?;
    let parsed =
        url::parse(&uri).map_err(|e| format!("x509: cannot parse URI {}: {e}", go_quote(&uri)))?;
    let host = url::host_of(&parsed);
    if !host.is_empty() && !domain_name_valid(host, false) {
        return Err(format!(
            "x509: cannot parse URI {}: invalid domain",
            go_quote(&uri)
        ));
    }
    Ok(parsed)
}

/// Go's `parseSANExtension`.
pub(crate) fn parse_sans(value: &[u8]) -> Result<Sans, String> {
    let mut seq = Der::new(value)
        .read(tag::SEQUENCE)
        .ok_or("x509: invalid subject alternative names")?;
    let mut sans = Sans::default();
    while !seq.is_empty() {
        let (t, data) = seq
            .read_any()
            .ok_or("x509: invalid subject alternative name")?;
        let data = data.bytes();
        match t ^ 0x80 {
            1 => sans.email.push(ia5(data, "rfc822Name")?),
            2 => sans.dns.push(ia5(data, "dNSName")?),
            6 => sans.uris.push(san_uri(data)?),
            7 if data.len() == 4 || data.len() == 16 => sans.ips.push(data.to_vec()),
            7 => {
                let n = data.len();
                return Err(format!("x509: cannot parse IP address of length {n}"));
            }
            _ => {}
        }
    }
    Ok(sans)
}

/// Every certificate field that `processExtensions` sets.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    key_usage: i64,
    unhandled_critical: Vec<Arcs>,
    ext_key_usage: Vec<u8>,
    unknown_ext_key_usage: Vec<Arcs>,
    basic_constraints_valid: bool,
    is_ca: bool,
    max_path_len: i64,
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
    ocsp_server: Vec<String>,
    issuing_certificate_url: Vec<String>,
    sans: Sans,
    name_constraints: NameConstraints,
    crl_distribution_points: Vec<String>,
    policies: Policies,
}

/// Known extended key usages, in Go's `ExtKeyUsage` order.
const EKUS: &[&[u32]] = &[
    &[2, 5, 29, 37, 0],
    &[1, 3, 6, 1, 5, 5, 7, 3, 1],
    &[1, 3, 6, 1, 5, 5, 7, 3, 2],
    &[1, 3, 6, 1, 5, 5, 7, 3, 3],
    &[1, 3, 6, 1, 5, 5, 7, 3, 4],
    &[1, 3, 6, 1, 5, 5, 7, 3, 5],
    &[1, 3, 6, 1, 5, 5, 7, 3, 6],
    &[1, 3, 6, 1, 5, 5, 7, 3, 7],
    &[1, 3, 6, 1, 5, 5, 7, 3, 8],
    &[1, 3, 6, 1, 5, 5, 7, 3, 9],
    &[1, 3, 6, 1, 4, 1, 311, 10, 3, 3],
    &[2, 16, 840, 1, 113730, 4, 1],
    &[1, 3, 6, 1, 4, 1, 311, 2, 1, 22],
    &[1, 3, 6, 1, 4, 1, 311, 61, 1, 1],
];

const AIA: &[u32] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const AIA_OCSP: &[u32] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];
const AIA_ISSUERS: &[u32] = &[1, 3, 6, 1, 5, 5, 7, 48, 2];

fn key_usage(value: &[u8]) -> Result<i64, String> {
    let bits = Der::new(value)
        .read_bit_string()
        .ok_or("x509: invalid key usage")?;
    Ok((0..9).filter(|&i| bits.at(i)).map(|i| 1i64 << i).sum())
}

/// `(IsCA, MaxPathLen)`; MaxPathLen is -1 when absent.
fn basic_constraints(value: &[u8]) -> Result<(bool, i64), String> {
    let bad = "x509: invalid basic constraints";
    let mut seq = Der::new(value).read(tag::SEQUENCE).ok_or(bad)?;
    let is_ca = if seq.peek(tag::BOOLEAN) {
        seq.read_bool().ok_or(bad)?
    } else {
        false
    };
    let mut max_path_len = -1;
    if seq.peek(tag::INTEGER) {
        let v = seq.read_u64().ok_or(bad)?;
        max_path_len = i64::try_from(v).map_err(|_| bad)?;
    }
    Ok((is_ca, max_path_len))
}

fn authority_key_id(e: &Extension<'_>) -> Result<Option<Vec<u8>>, String> {
    if e.critical {
        return Err("x509: authority key identifier incorrectly marked critical".into());
    }
    let bad = "x509: invalid authority key identifier";
    let mut akid = Der::new(e.value).read(tag::SEQUENCE).ok_or(bad)?;
    if !akid.peek(tag::ctx(0)) {
        return Ok(None);
    }
    Ok(Some(akid.read(tag::ctx(0)).ok_or(bad)?.bytes().to_vec()))
}

fn subject_key_id(e: &Extension<'_>) -> Result<Vec<u8>, String> {
    if e.critical {
        return Err("x509: subject key identifier incorrectly marked critical".into());
    }
    let skid = Der::new(e.value)
        .read(tag::OCTET_STRING)
        .ok_or("x509: invalid subject key identifier")?;
    Ok(skid.bytes().to_vec())
}

impl Fields {
    fn ext_key_usage(&mut self, value: &[u8]) -> Result<(), String> {
        let bad = "x509: invalid extended key usages";
        let mut seq = Der::new(value).read(tag::SEQUENCE).ok_or(bad)?;
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        while !seq.is_empty() {
            let eku = oid::read(&mut seq).ok_or(bad)?;
            match EKUS.iter().position(|o| *o == eku.as_slice()) {
                Some(i) => known.push(u8::try_from(i).unwrap_or(u8::MAX)),
                None => unknown.push(eku),
            }
        }
        (self.ext_key_usage, self.unknown_ext_key_usage) = (known, unknown);
        Ok(())
    }

    fn crl_distribution_points(&mut self, value: &[u8]) -> Result<(), String> {
        let bad = "x509: invalid CRL distribution point";
        let mut seq = Der::new(value)
            .read(tag::SEQUENCE)
            .ok_or("x509: invalid CRL distribution points")?;
        while !seq.is_empty() {
            let mut dp = seq.read(tag::SEQUENCE).ok_or(bad)?;
            let Some(mut name) = dp.read_optional(tag::ctx_cons(0)).ok_or(bad)? else {
                continue;
            };
            let mut full = name.read(tag::ctx_cons(0)).ok_or(bad)?;
            while full.peek(tag::ctx(6)) {
                let uri = full.read(tag::ctx(6)).ok_or(bad)?;
                self.crl_distribution_points
                    .push(json::go_string(uri.bytes()));
            }
        }
        Ok(())
    }

    fn authority_info_access(&mut self, e: &Extension<'_>) -> Result<(), String> {
        if e.critical {
            return Err("x509: authority info access incorrectly marked critical".into());
        }
        let bad = "x509: invalid authority info access";
        let mut seq = Der::new(e.value).read(tag::SEQUENCE).ok_or(bad)?;
        while !seq.is_empty() {
            let mut aia = seq.read(tag::SEQUENCE).ok_or(bad)?;
            let method = oid::read(&mut aia).ok_or(bad)?;
            if !aia.peek(tag::ctx(6)) {
                continue;
            }
            let uri = json::go_string(aia.read(tag::ctx(6)).ok_or(bad)?.bytes());
            if method == AIA_OCSP {
                self.ocsp_server.push(uri);
            } else if method == AIA_ISSUERS {
                self.issuing_certificate_url.push(uri);
            }
        }
        Ok(())
    }

    /// One `id-ce` (2.5.29.n) extension; returns whether it counts as unhandled.
    fn id_ce(&mut self, n: u32, e: &Extension<'_>) -> Result<bool, String> {
        match n {
            15 => self.key_usage = key_usage(e.value)?,
            19 => {
                (self.is_ca, self.max_path_len) = basic_constraints(e.value)?;
                self.basic_constraints_valid = true;
            }
            17 => {
                self.sans = parse_sans(e.value)?;
                return Ok(self.sans.is_empty());
            }
            30 => return constraints::parse(&mut self.name_constraints, e.value, e.critical),
            31 => self.crl_distribution_points(e.value)?,
            35 => self.authority_key_id = authority_key_id(e)?,
            36 => self.policies.constraints(e.value)?,
            37 => self.ext_key_usage(e.value)?,
            14 => self.subject_key_id = Some(subject_key_id(e)?),
            32 => self.policies.certificate_policies(e.value)?,
            33 => self.policies.mappings(e.value)?,
            54 => self.policies.inhibit_any(e.value)?,
            _ => return Ok(true),
        }
        Ok(false)
    }

    /// Go's `processExtensions`.
    pub fn process(exts: &[Extension<'_>]) -> Result<Self, String> {
        let mut f = Fields::default();
        for e in exts {
            let unhandled = match e.id.as_slice() {
                [2, 5, 29, n] => f.id_ce(*n, e)?,
                id if id == AIA => {
                    f.authority_info_access(e)?;
                    false
                }
                _ => true,
            };
            if e.critical && unhandled {
                f.unhandled_critical.push(e.id.clone());
            }
        }
        Ok(f)
    }

    /// Writes the fields into the certificate object.
    pub fn fill(&self, out: &mut Map<String, Value>) {
        let mut put = |k: &str, v: Value| {
            out.insert(k.to_string(), v);
        };
        put("KeyUsage", json::int(self.key_usage));
        put(
            "UnhandledCriticalExtensions",
            json::list(&self.unhandled_critical, |o| oid::to_json(o)),
        );
        put(
            "ExtKeyUsage",
            json::list(&self.ext_key_usage, |&u| Value::from(u)),
        );
        put(
            "UnknownExtKeyUsage",
            json::list(&self.unknown_ext_key_usage, |o| oid::to_json(o)),
        );
        put(
            "BasicConstraintsValid",
            Value::Bool(self.basic_constraints_valid),
        );
        put("IsCA", Value::Bool(self.is_ca));
        put("MaxPathLen", json::int(self.max_path_len));
        let zero = self.basic_constraints_valid && self.max_path_len == 0;
        put("MaxPathLenZero", Value::Bool(zero));
        put(
            "SubjectKeyId",
            json::opt_bytes(self.subject_key_id.as_deref()),
        );
        put(
            "AuthorityKeyId",
            json::opt_bytes(self.authority_key_id.as_deref()),
        );
        put("OCSPServer", json::strings(&self.ocsp_server));
        put(
            "IssuingCertificateURL",
            json::strings(&self.issuing_certificate_url),
        );
        put(
            "CRLDistributionPoints",
            json::strings(&self.crl_distribution_points),
        );
        self.sans.fill(out);
        self.name_constraints.fill(out);
        self.policies.fill(out);
    }
}

/// Reads the `[3]` extensions of a v3 TBSCertificate, rejecting duplicates like Go.
pub(crate) fn read_all<'a>(mut seq: Der<'a>) -> Result<Vec<Extension<'a>>, String> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    while !seq.is_empty() {
        let ext = seq.read(tag::SEQUENCE).ok_or("x509: malformed extension")?;
        let ext = parse_one(ext)?;
        let text = oid::dotted(&ext.id);
        if !seen.insert(text.clone()) {
            return Err(format!(
                "x509: certificate contains duplicate extension with OID {}",
                go_quote(&text)
            ));
        }
        out.push(ext);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_extensions() {
        assert_eq!(key_usage(&[0x03, 0x02, 0x02, 0xa4]), Ok(37));
        assert_eq!(key_usage(&[0x03, 0x03, 0x07, 0x80, 0x80]), Ok(257));
        assert_eq!(
            basic_constraints(&[0x30, 0x03, 0x01, 0x01, 0xff]),
            Ok((true, -1))
        );
        assert_eq!(
            basic_constraints(&[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]),
            Ok((true, 0))
        );
        assert!(basic_constraints(&[0x30, 0x03, 0x02, 0x01, 0xff]).is_err());
        let sans =
            parse_sans(&[0x30, 0x0a, 0x82, 0x02, b'a', b'b', 0x87, 0x04, 10, 0, 0, 1]).unwrap();
        assert_eq!(
            (sans.dns, sans.ips),
            (vec!["ab".to_string()], vec![vec![10, 0, 0, 1]])
        );
        let err = parse_sans(&[0x30, 0x04, 0x87, 0x02, 10, 0]).unwrap_err();
        assert_eq!(err, "x509: cannot parse IP address of length 2");
        let err = parse_sans(&[0x30, 0x03, 0x82, 0x01, 0xff]).unwrap_err();
        assert_eq!(err, "x509: SAN dNSName is malformed");
    }

    #[test]
    fn unhandled_and_duplicates() {
        let unknown = Extension {
            id: vec![1, 2, 3],
            critical: true,
            value: &[],
        };
        let empty_san = Extension {
            id: vec![2, 5, 29, 17],
            critical: true,
            value: &[0x30, 0x00],
        };
        let f = Fields::process(&[unknown, empty_san]).unwrap();
        assert_eq!(
            f.unhandled_critical,
            vec![vec![1, 2, 3], vec![2, 5, 29, 17]]
        );
        let one = [0x30, 0x06, 0x06, 0x01, 0x2a, 0x04, 0x01, 0x00];
        let mut two = one.to_vec();
        two.extend(one);
        let err = read_all(Der::new(&two)).unwrap_err();
        assert_eq!(
            err,
            "x509: certificate contains duplicate extension with OID \"1.2\""
        );
        let skid = Extension {
            id: vec![2, 5, 29, 14],
            critical: true,
            value: &[0x04, 0x00],
        };
        assert!(
            Fields::process(&[skid])
                .unwrap_err()
                .contains("incorrectly marked critical")
        );
    }
}
