//! The name constraints extension (Go's `parseNameConstraintsExtension`) and the domain and
//! mailbox checks it relies on.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::der::{Der, tag};
use super::json::{self, go_quote};

/// One side (permitted or excluded) of a name constraints extension.
#[derive(Debug, Default)]
struct Subtrees {
    dns: Vec<String>,
    ips: Vec<(Vec<u8>, Vec<u8>)>,
    emails: Vec<String>,
    uri_domains: Vec<String>,
}

/// The name constraint fields of an `x509.Certificate`.
#[derive(Debug, Default)]
pub(crate) struct NameConstraints {
    critical: bool,
    permitted: Subtrees,
    excluded: Subtrees,
}

/// Go's `domainToReverseLabels` validity: non-empty labels of printable ASCII, no
/// trailing dot.
pub(crate) fn domain_labels_ok(domain: &str) -> bool {
    if domain.is_empty() {
        return true;
    }
    domain
        .split('.')
        .all(|l| !l.is_empty() && l.bytes().all(|c| (33..=126).contains(&c)))
}

/// Go's `domainNameValid`: as [`domain_labels_ok`], but constraints may start with a dot
/// (checked after the trailing-dot rule, so `.` alone is invalid).
pub(crate) fn domain_name_valid(s: &str, constraint: bool) -> bool {
    if s.ends_with('.') {
        return false;
    }
    let s = if constraint { strip_dot(s) } else { s };
    domain_labels_ok(s)
}

fn atext(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&c)
}

/// The local part of a quoted mailbox, up to the closing quote; `None` if malformed.
fn quoted_local(mut rest: &[u8]) -> Option<&[u8]> {
    loop {
        let (&c, tail) = rest.split_first()?;
        rest = tail;
        match c {
            b'"' => return Some(rest),
            b'\\' => {
                let (&q, tail) = rest.split_first()?;
                if !matches!(q, 1..=9 | 11 | 12 | 14..=127) {
                    return None;
                }
                rest = tail;
            }
            1..=8 | 11 | 12 | 14..=31 | 32 | 33 | 35..=91 | 93..=127 => {}
            _ => return None,
        }
    }
}

/// Go's `parseRFC2821Mailbox` validity.
fn mailbox_ok(input: &str) -> bool {
    let b = input.as_bytes();
    let rest = match b.split_first() {
        None => return false,
        Some((b'"', tail)) => match quoted_local(tail) {
            Some(rest) => rest,
            None => return false,
        },
        Some(_) => {
            let mut local = Vec::new();
            let mut rest = b;
            while let Some((&c, tail)) = rest.split_first() {
                let (c, tail) = match c {
                    b'\\' => match tail.split_first() {
                        Some((&q, t)) => (q, t),
                        None => return false,
                    },
                    c if atext(c) => (c, tail),
                    _ => break,
                };
                local.push(c);
                rest = tail;
            }
            let dots = local.first() == Some(&b'.')
                || local.last() == Some(&b'.')
                || local.windows(2).any(|w| w == b"..");
            if local.is_empty() || dots {
                return false;
            }
            rest
        }
    };
    match rest.split_first() {
        Some((b'@', domain)) => std::str::from_utf8(domain).is_ok_and(domain_labels_ok),
        _ => false,
    }
}

/// Go's `isValidIPMask`: ones, then zeros.
fn valid_mask(mask: &[u8]) -> bool {
    let mut seen_zero = false;
    for &b in mask {
        if seen_zero {
            if b != 0 {
                return false;
            }
            continue;
        }
        match b {
            0x00 | 0x80 | 0xc0 | 0xe0 | 0xf0 | 0xf8 | 0xfc | 0xfe => seen_zero = true,
            0xff => {}
            _ => return false,
        }
    }
    true
}

fn ia5(value: &[u8]) -> Result<String, String> {
    if value.is_ascii() {
        return Ok(json::go_string(value));
    }
    Err(format!(
        "x509: invalid constraint value: x509: {} cannot be encoded as an IA5String",
        json::go_quote_bytes(value)
    ))
}

fn strip_dot(s: &str) -> &str {
    s.strip_prefix('.').unwrap_or(s)
}

impl Subtrees {
    /// Go's `getValues`; sets `unhandled` for name types Go does not understand.
    fn read(&mut self, mut d: Der<'_>, unhandled: &mut bool) -> Result<(), String> {
        while !d.is_empty() {
            let (t, value) = d
                .read(tag::SEQUENCE)
                .and_then(|mut s| s.read_any())
                .ok_or("x509: invalid NameConstraints extension")?;
            let value = value.bytes();
            match t {
                0x82 => {
                    let domain = ia5(value)?;
                    if !domain_name_valid(&domain, true) {
                        let q = go_quote(&domain);
                        return Err(format!("x509: failed to parse dnsName constraint {q}"));
                    }
                    self.dns.push(domain);
                }
                0x87 => {
                    let (ip, mask) = match value.len() {
                        8 | 32 => value.split_at(value.len() / 2),
                        l => {
                            return Err(format!(
                                "x509: IP constraint contained value of length {l}"
                            ));
                        }
                    };
                    if !valid_mask(mask) {
                        let hex: String = mask.iter().map(|b| format!("{b:02x}")).collect();
                        return Err(format!("x509: IP constraint contained invalid mask {hex}"));
                    }
                    self.ips.push((ip.to_vec(), mask.to_vec()));
                }
                0x81 => {
                    let c = ia5(value)?;
                    let ok = if c.contains('@') {
                        mailbox_ok(&c)
                    } else {
                        domain_name_valid(&c, true)
                    };
                    if !ok {
                        let q = go_quote(&c);
                        return Err(format!("x509: failed to parse rfc822Name constraint {q}"));
                    }
                    self.emails.push(c);
                }
                0x86 => {
                    let domain = ia5(value)?;
                    let q = go_quote(&domain);
                    if domain.parse::<IpAddr>().is_ok() {
                        return Err(format!(
                            "x509: failed to parse URI constraint {q}: cannot be IP address"
                        ));
                    }
                    if !domain_name_valid(&domain, true) {
                        return Err(format!("x509: failed to parse URI constraint {q}"));
                    }
                    self.uri_domains.push(domain);
                }
                _ => *unhandled = true,
            }
        }
        Ok(())
    }
}

/// Go's `parseNameConstraintsExtension`; returns whether the extension is unhandled.
pub(crate) fn parse(
    out: &mut NameConstraints,
    value: &[u8],
    critical: bool,
) -> Result<bool, String> {
    let bad = "x509: invalid NameConstraints extension";
    let mut outer = Der::new(value);
    let mut top = outer.read(tag::SEQUENCE).ok_or(bad)?;
    let permitted = top.read_optional(tag::ctx_cons(0)).ok_or(bad)?;
    let excluded = top.read_optional(tag::ctx_cons(1)).ok_or(bad)?;
    if !outer.is_empty() || !top.is_empty() {
        return Err(bad.into());
    }
    let empty = |d: &Option<Der<'_>>| d.is_none_or(|d| d.is_empty());
    if empty(&permitted) && empty(&excluded) {
        return Err("x509: empty name constraints extension".into());
    }
    let mut unhandled = false;
    let mut nc = NameConstraints::default();
    if let Some(p) = permitted {
        nc.permitted.read(p, &mut unhandled)?;
    }
    if let Some(x) = excluded {
        nc.excluded.read(x, &mut unhandled)?;
    }
    nc.critical = critical;
    *out = nc;
    Ok(unhandled)
}

fn ip_nets(nets: &[(Vec<u8>, Vec<u8>)]) -> Value {
    json::list(nets, |(ip, mask)| {
        json::object([("IP", json::ip(ip)), ("Mask", json::bytes(mask))])
    })
}

impl NameConstraints {
    /// Writes the name constraint fields into the certificate object.
    pub fn fill(&self, out: &mut Map<String, Value>) {
        let (p, x) = (&self.permitted, &self.excluded);
        let fields = [
            ("PermittedDNSDomainsCritical", Value::Bool(self.critical)),
            ("PermittedDNSDomains", json::strings(&p.dns)),
            ("ExcludedDNSDomains", json::strings(&x.dns)),
            ("PermittedIPRanges", ip_nets(&p.ips)),
            ("ExcludedIPRanges", ip_nets(&x.ips)),
            ("PermittedEmailAddresses", json::strings(&p.emails)),
            ("ExcludedEmailAddresses", json::strings(&x.emails)),
            ("PermittedURIDomains", json::strings(&p.uri_domains)),
            ("ExcludedURIDomains", json::strings(&x.uri_domains)),
        ];
        for (k, v) in fields {
            out.insert(k.to_string(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_mailboxes() {
        let domains = [
            ("example.com", true),
            ("", true),
            ("a..b", false),
            ("a.", false),
            ("a b", false),
        ];
        for (d, want) in domains {
            assert_eq!(domain_labels_ok(d), want, "{d}");
        }
        let boxes = [
            ("user@example.com", true),
            ("\"quoted user\"@example.com", true),
            (".user@example.com", false),
            ("us..er@example.com", false),
            ("user@", true),
            ("user", false),
            ("@example.com", false),
        ];
        for (m, want) in boxes {
            assert_eq!(mailbox_ok(m), want, "{m}");
        }
        let constraints = [
            (".", false),
            (".a.com", true),
            ("", true),
            ("..a", false),
            ("a.com.", false),
        ];
        for (d, want) in constraints {
            assert_eq!(domain_name_valid(d, true), want, "{d}");
        }
        assert!(!domain_name_valid(".a.com", false));
        assert!(valid_mask(&[0xff, 0xf0, 0, 0]));
        assert!(!valid_mask(&[0xff, 0x0f, 0, 0]));
    }

    #[test]
    fn constraints() {
        // permitted: DNS "a.com", IP 10.0.0.0/8; excluded: an x400 name (unhandled).
        let value = [
            0x30, 0x1d, 0xa0, 0x15, 0x30, 0x07, 0x82, 0x05, b'a', b'.', b'c', b'o', b'm', 0x30,
            0x0a, 0x87, 0x08, 10, 0, 0, 0, 0xff, 0, 0, 0, 0xa1, 0x04, 0x30, 0x02, 0xa3, 0x00,
        ];
        let mut nc = NameConstraints::default();
        assert_eq!(parse(&mut nc, &value, true), Ok(true));
        let mut out = Map::new();
        nc.fill(&mut out);
        assert_eq!(out["PermittedDNSDomains"], serde_json::json!(["a.com"]));
        assert_eq!(
            out["PermittedIPRanges"],
            serde_json::json!([{"IP": "10.0.0.0", "Mask": "/wAAAA=="}])
        );
        assert_eq!(out["PermittedDNSDomainsCritical"], serde_json::json!(true));
        let err = parse(&mut nc, &[0x30, 0x00], false).unwrap_err();
        assert_eq!(err, "x509: empty name constraints extension");
    }
}
