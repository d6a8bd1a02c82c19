//! Certificates without I/O: a CA and serving certificates made with rcgen, what an existing
//! PEM certificate says (validity, SANs, issuer), and when to renew.
//!
//! Times are Unix seconds so the decisions are plain arithmetic that tests can drive.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;

/// A certificate or key that could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen refused the parameters or the key.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The PEM text is not one X.509 certificate.
    #[error("cannot read the certificate: {0}")]
    Parse(String),
    /// A time outside what certificates can carry.
    #[error("certificate time out of range: {0}")]
    Time(String),
}

/// A certificate and its private key, PEM encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct Pair {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// Its PKCS#8 private key (PEM).
    pub key_pem: String,
}

impl std::fmt::Debug for Pair {
    // Keys stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

/// What Palisade needs to know about an existing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Start of validity (Unix seconds).
    pub not_before: i64,
    /// End of validity (Unix seconds).
    pub not_after: i64,
    /// DNS names and IP addresses (as text) in the subjectAltName extension.
    pub sans: Vec<String>,
    /// DER of the subject name.
    pub subject: Vec<u8>,
    /// DER of the issuer name.
    pub issuer: Vec<u8>,
}

impl CertInfo {
    /// When to replace the certificate: after two thirds of its lifetime.
    pub fn renew_at(&self) -> i64 {
        let life = self.not_after.saturating_sub(self.not_before).max(0);
        self.not_before.saturating_add(life / 3 * 2)
    }

    /// True once `now` reached the renewal point (or the certificate expired).
    pub fn due(&self, now: i64) -> bool {
        now >= self.renew_at()
    }

    /// True while `now` lies within the validity period.
    pub fn valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now < self.not_after
    }

    /// True when every wanted SAN is in the certificate.
    pub fn covers(&self, wanted: &[String]) -> bool {
        wanted.iter().all(|w| self.sans.iter().any(|s| s == w))
    }
}

/// Reads the first certificate of a PEM text.
pub fn inspect(cert_pem: &str) -> Result<CertInfo, TlsError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
        .map_err(|e| TlsError::Parse(e.to_string()))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| TlsError::Parse(e.to_string()))?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.push((*d).to_string()),
                GeneralName::IPAddress(raw) => {
                    if let Some(ip) = ip_from_bytes(raw) {
                        sans.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let validity = cert.validity();
    Ok(CertInfo {
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        sans,
        subject: cert.subject().as_raw().to_vec(),
        issuer: cert.issuer().as_raw().to_vec(),
    })
}

fn ip_from_bytes(raw: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(raw) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(raw).ok().map(IpAddr::from)
}

/// Splits a PEM bundle into its certificates (each with its BEGIN/END lines).
pub fn split_bundle(bundle: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = bundle;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let Some(end) = rest[start..].find(END) else {
            break;
        };
        let stop = start + end + END.len();
        out.push(format!("{}\n", &rest[start..stop]));
        rest = &rest[stop..];
    }
    out
}

/// The CA bundle to publish: the current CA first, then older CAs that are still valid (a
/// serving certificate they signed may still be served somewhere), without duplicates.
pub fn bundle(current_ca_pem: &str, previous_bundle: &str, now: i64) -> String {
    let mut out = vec![normalise(current_ca_pem)];
    for old in split_bundle(previous_bundle) {
        let keep = inspect(&old).is_ok_and(|i| i.valid_at(now));
        if keep && !out.contains(&old) {
            out.push(old);
        }
    }
    out.concat()
}

fn normalise(pem: &str) -> String {
    split_bundle(pem)
        .into_iter()
        .next()
        .unwrap_or_else(|| pem.to_string())
}

fn at(secs: i64) -> Result<OffsetDateTime, TlsError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| TlsError::Time(e.to_string()))
}

/// How far back a new certificate's validity starts, for clocks a little behind ours: five
/// minutes, but at most a tenth of the lifetime so that a short-lived certificate is not due
/// for renewal as soon as it is made.
fn backdate(validity_secs: i64) -> i64 {
    (validity_secs / 10).clamp(0, 300)
}

/// Makes a self-signed CA valid from shortly before `now` for `validity_secs`.
pub fn generate_ca(now: i64, validity_secs: i64) -> Result<Pair, TlsError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    // The time in the name makes each CA's subject unique, which is how a serving
    // certificate is matched to its issuer.
    params
        .distinguished_name
        .push(DnType::CommonName, format!("palisade-ca@{now}"));
    params
        .distinguished_name
        .push(DnType::OrganizationName, "palisade");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = at(now - backdate(validity_secs))?;
    params.not_after = at(now.saturating_add(validity_secs))?;
    let cert = params.self_signed(&key)?;
    Ok(Pair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Makes a serving certificate for `sans` (DNS names or IP addresses) signed by `ca`, valid
/// from shortly before `now` for `validity_secs` but never beyond the CA's own end.
pub fn issue_serving(
    ca: &Pair,
    sans: &[String],
    now: i64,
    validity_secs: i64,
) -> Result<Pair, TlsError> {
    let ca_key = KeyPair::from_pem(&ca.key_pem)?;
    let ca_end = inspect(&ca.cert_pem)?.not_after;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(sans.to_vec())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let cn = sans.first().map_or("palisade", String::as_str);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = at(now - backdate(validity_secs))?;
    params.not_after = at(now.saturating_add(validity_secs).min(ca_end))?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(Pair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// What to do with the stored CA and serving certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Both are fine: serve them as they are.
    Keep,
    /// The CA is fine; make a new serving certificate (missing, due, wrong SANs or issuer).
    IssueServing,
    /// Make a new CA (missing, unreadable or due) and a serving certificate signed by it.
    RotateCa,
}

/// Decides from what is stored: `ca` and `serving` are `None` when missing or unreadable.
pub fn plan(now: i64, ca: Option<&CertInfo>, serving: Option<&CertInfo>, sans: &[String]) -> Plan {
    let Some(ca) = ca else {
        return Plan::RotateCa;
    };
    if ca.due(now) || !ca.valid_at(now) {
        return Plan::RotateCa;
    }
    match serving {
        Some(s) if s.issuer == ca.subject && !s.due(now) && s.valid_at(now) && s.covers(sans) => {
            Plan::Keep
        }
        _ => Plan::IssueServing,
    }
}

/// The next time something needs renewing: the earlier renewal point of the two.
pub fn next_renewal(ca: &CertInfo, serving: &CertInfo) -> i64 {
    ca.renew_at().min(serving.renew_at())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;

    fn sans() -> Vec<String> {
        vec!["palisade.palisade.svc".to_string(), "127.0.0.1".to_string()]
    }

    #[test]
    fn generated_chain_reads_back() {
        let ca = generate_ca(NOW, 365 * DAY).unwrap();
        let leaf = issue_serving(&ca, &sans(), NOW, 90 * DAY).unwrap();
        let ca_info = inspect(&ca.cert_pem).unwrap();
        let info = inspect(&leaf.cert_pem).unwrap();
        assert_eq!(info.issuer, ca_info.subject);
        assert_eq!(info.sans, sans());
        assert_eq!(info.not_after, NOW + 90 * DAY);
        assert_eq!(info.not_before, NOW - 300);
        assert!(leaf.key_pem.contains("PRIVATE KEY"));
        assert_eq!(plan(NOW, Some(&ca_info), Some(&info), &sans()), Plan::Keep);
    }

    #[test]
    fn serving_never_outlives_the_ca() {
        let ca = generate_ca(NOW, 10 * DAY).unwrap();
        let leaf = issue_serving(&ca, &sans(), NOW, 90 * DAY).unwrap();
        assert_eq!(inspect(&leaf.cert_pem).unwrap().not_after, NOW + 10 * DAY);
    }

    fn info(not_before: i64, not_after: i64, subject: &[u8], issuer: &[u8]) -> CertInfo {
        CertInfo {
            not_before,
            not_after,
            sans: sans(),
            subject: subject.to_vec(),
            issuer: issuer.to_vec(),
        }
    }

    #[test]
    fn plan_table() {
        let ca = info(NOW - DAY, NOW + 299 * DAY, b"ca1", b"ca1");
        let old_ca = info(NOW - 300 * DAY, NOW + 60 * DAY, b"ca0", b"ca0");
        let fresh = info(NOW - DAY, NOW + 89 * DAY, b"leaf", b"ca1");
        let due = info(NOW - 61 * DAY, NOW + 29 * DAY, b"leaf", b"ca1");
        let other_issuer = info(NOW - DAY, NOW + 89 * DAY, b"leaf", b"ca0");
        let mut narrow = fresh.clone();
        narrow.sans = vec!["127.0.0.1".to_string()];
        let expired = info(NOW - 91 * DAY, NOW - DAY, b"leaf", b"ca1");
        let cases: &[(Option<&CertInfo>, Option<&CertInfo>, Plan)] = &[
            (None, None, Plan::RotateCa),
            (None, Some(&fresh), Plan::RotateCa),
            (Some(&old_ca), Some(&fresh), Plan::RotateCa),
            (Some(&ca), None, Plan::IssueServing),
            (Some(&ca), Some(&due), Plan::IssueServing),
            (Some(&ca), Some(&other_issuer), Plan::IssueServing),
            (Some(&ca), Some(&narrow), Plan::IssueServing),
            (Some(&ca), Some(&expired), Plan::IssueServing),
            (Some(&ca), Some(&fresh), Plan::Keep),
        ];
        for (i, (c, s, want)) in cases.iter().enumerate() {
            assert_eq!(plan(NOW, *c, *s, &sans()), *want, "case {i}");
        }
    }

    #[test]
    fn renewal_at_two_thirds() {
        let c = info(0, 90 * DAY, b"a", b"a");
        assert_eq!(c.renew_at(), 60 * DAY);
        assert!(!c.due(60 * DAY - 1));
        assert!(c.due(60 * DAY));
        let ca = info(0, 30 * DAY, b"a", b"a");
        assert_eq!(next_renewal(&ca, &c), 20 * DAY);
    }

    #[test]
    fn bundle_keeps_valid_old_cas_once() {
        let old = generate_ca(NOW - 100, 365 * DAY).unwrap();
        let expired = generate_ca(NOW - 400 * DAY, 365 * DAY).unwrap();
        let new = generate_ca(NOW, 365 * DAY).unwrap();
        let previous = format!("{}{}", old.cert_pem, expired.cert_pem);
        let b = bundle(&new.cert_pem, &previous, NOW);
        let parts = split_bundle(&b);
        assert_eq!(parts, vec![new.cert_pem.clone(), old.cert_pem.clone()]);
        // Building again from its own output changes nothing.
        assert_eq!(bundle(&new.cert_pem, &b, NOW), b);
    }

    #[test]
    fn short_lived_certificates_are_not_due_at_once() {
        let ca = generate_ca(NOW, 60).unwrap();
        let leaf = issue_serving(&ca, &sans(), NOW, 30).unwrap();
        let ca_info = inspect(&ca.cert_pem).unwrap();
        let info = inspect(&leaf.cert_pem).unwrap();
        assert_eq!(info.not_before, NOW - 3);
        assert!(!ca_info.due(NOW) && !info.due(NOW));
        assert!(info.due(NOW + 20));
        assert_eq!(plan(NOW, Some(&ca_info), Some(&info), &sans()), Plan::Keep);
        assert_eq!(
            plan(NOW + 20, Some(&ca_info), Some(&info), &sans()),
            Plan::IssueServing
        );
        assert_eq!(
            plan(NOW + 40, Some(&ca_info), Some(&info), &sans()),
            Plan::RotateCa
        );
    }

    #[test]
    fn bad_pem_is_an_error() {
        assert!(inspect("not a certificate").is_err());
        assert!(split_bundle("-----BEGIN CERTIFICATE-----\nabc").is_empty());
    }
}
