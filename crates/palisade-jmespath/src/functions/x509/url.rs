//! Go's `net/url.Parse`, for the URIs of subject alternative names: the parsed `url.URL`
//! fields as `encoding/json` writes them, or Go's error text.

use std::net::IpAddr;

use serde_json::Value;

use super::json::{self, go_quote};

/// Characters that need no escaping, per mode (Go's `encoding_table.go`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if unreserved(c) {
        return false;
    }
    let allowed: &[u8] = match mode {
        Mode::Path => b"$&+,/:;=@",
        Mode::Host | Mode::Zone => b"!\"$&'()*+,:;<=>[]",
        Mode::UserPassword => b"$&+,;=",
        Mode::Fragment => b"!$&()*+,/:;=?@",
    };
    !allowed.contains(&c)
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.wrapping_sub(b'A').wrapping_add(10),
    }
}

/// Go's `unescape` (no query mode is needed here, so `+` stays `+`).
fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let (hi, esc) = match (b.get(i + 1), b.get(i + 2)) {
                (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    (unhex(h), (unhex(h) << 4) | unhex(l))
                }
                _ => {
                    let bad = s.get(i..(i + 3).min(s.len())).unwrap_or("%");
                    return Err(format!("invalid URL escape {}", go_quote(bad)));
                }
            };
            let text = s.get(i..i + 3).unwrap_or_default();
            let bad_host = mode == Mode::Host && hi < 8 && text != "%25";
            let bad_zone = mode == Mode::Zone
                && text != "%25"
                && esc != b' '
                && should_escape(esc, Mode::Host);
            if bad_host || bad_zone {
                return Err(format!("invalid URL escape {}", go_quote(text)));
            }
            out.push(esc);
            i += 3;
            continue;
        }
        if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
            let ch = char::from(c).to_string();
            return Err(format!("invalid character {} in host name", go_quote(&ch)));
        }
        out.push(c);
        i += 1;
    }
    Ok(json::go_string(&out))
}

/// Go's `escape` for path and fragment modes.
fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(char::from(c));
        }
    }
    out
}

/// The parsed fields of a `url.URL`.
#[derive(Debug, Default)]
struct Url {
    scheme: String,
    opaque: String,
    user: bool,
    host: String,
    path: String,
    raw_path: String,
    omit_host: bool,
    force_query: bool,
    raw_query: String,
    fragment: String,
    raw_fragment: String,
}

fn scheme(raw: &str) -> Result<(String, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((raw[..i].to_ascii_lowercase(), &raw[i + 1..])),
            _ => return Ok((String::new(), raw)),
        }
    }
    Ok((String::new(), raw))
}

fn valid_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn bad_port(port: &str) -> String {
    format!("invalid port {} after host", go_quote(port))
}

/// Go's `parseHost`.
fn host(scheme: &str, host: &str) -> Result<String, String> {
    match host.rfind('[') {
        Some(0) => {
            let close = host.rfind(']').ok_or("missing ']' in host")?;
            let port = &host[close + 1..];
            if !valid_port(port) {
                return Err(bad_port(port));
            }
            let port = unescape(port, Mode::Host)?;
            let inner = &host[1..close];
            let name = match inner.find("%25") {
                Some(z) => unescape(&inner[..z], Mode::Host)? + &unescape(&inner[z..], Mode::Zone)?,
                None => unescape(inner, Mode::Host)?,
            };
            let addr = name.split('%').next().unwrap_or_default();
            match addr.parse::<IpAddr>() {
                Ok(IpAddr::V6(_)) => Ok(format!("[{name}]{port}")),
                Ok(IpAddr::V4(_)) => Err("invalid IP-literal".into()),
                Err(_) => Err(format!(
                    "invalid host: ParseAddr({}): unable to parse IP",
                    go_quote(&name)
                )),
            }
        }
        Some(_) => Err("invalid IP-literal".into()),
        None => {
            if let Some(first) = host.find(':') {
                let last = host.rfind(':').unwrap_or(first);
                let at = if scheme == "http" || scheme == "https" {
                    first
                } else {
                    last
                };
                if !valid_port(&host[at..]) {
                    return Err(bad_port(&host[at..]));
                }
            }
            unescape(host, Mode::Host)
        }
    }
}

fn valid_userinfo(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c))
}

/// Go's `parseAuthority`: whether there is user information, and the host.
fn authority(scheme: &str, auth: &str) -> Result<(bool, String), String> {
    let Some(at) = auth.rfind('@') else {
        return Ok((false, host(scheme, auth)?));
    };
    let h = host(scheme, &auth[at + 1..])?;
    let userinfo = &auth[..at];
    if !valid_userinfo(userinfo) {
        return Err("net/url: invalid userinfo".into());
    }
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    unescape(user, Mode::UserPassword)?;
    unescape(password, Mode::UserPassword)?;
    Ok((true, h))
}

/// Go's unexported `parse` (not via request).
fn parse_ref(raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut u = Url::default();
    if raw == "*" {
        u.path = "*".into();
        return Ok(u);
    }
    let (scheme, mut rest) = scheme(raw)?;
    u.scheme = scheme;
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        u.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        u.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !u.scheme.is_empty() {
            u.opaque = rest.to_string();
            return Ok(u);
        }
        if rest.split('/').next().unwrap_or_default().contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!u.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let auth_and_path = &rest[2..];
        let (auth, path) = auth_and_path
            .find('/')
            .map_or((auth_and_path, ""), |i| auth_and_path.split_at(i));
        (u.user, u.host) = authority(&u.scheme, auth)?;
        rest = path;
    } else if !u.scheme.is_empty() && rest.starts_with('/') {
        u.omit_host = true;
    }
    u.path = unescape(rest, Mode::Path)?;
    if escape(&u.path, Mode::Path) != rest {
        u.raw_path = rest.to_string();
    }
    Ok(u)
}

/// Go's `url.Parse`, as JSON, or the text of its `*url.Error`.
pub(crate) fn parse(raw: &str) -> Result<Value, String> {
    let (before, frag) = raw.split_once('#').unwrap_or((raw, ""));
    let mut u = parse_ref(before).map_err(|e| format!("parse {}: {e}", go_quote(before)))?;
    if !frag.is_empty() {
        u.fragment =
            unescape(frag, Mode::Fragment).map_err(|e| format!("parse {}: {e}", go_quote(raw)))?;
        if escape(&u.fragment, Mode::Fragment) != frag {
            u.raw_fragment = frag.to_string();
        }
    }
    let user = if u.user {
        json::object([])
    } else {
        Value::Null
    };
    Ok(json::object([
        ("Scheme", Value::String(u.scheme)),
        ("Opaque", Value::String(u.opaque)),
        ("User", user),
        ("Host", Value::String(u.host)),
        ("Path", Value::String(u.path)),
        ("RawPath", Value::String(u.raw_path)),
        ("OmitHost", Value::Bool(u.omit_host)),
        ("ForceQuery", Value::Bool(u.force_query)),
        ("RawQuery", Value::String(u.raw_query)),
        ("Fragment", Value::String(u.fragment)),
        ("RawFragment", Value::String(u.raw_fragment)),
    ]))
}

/// The `Host` field of a parsed URI (for the domain check on SAN URIs).
pub(crate) fn host_of(parsed: &Value) -> &str {
    parsed
        .get("Host")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(raw: &str) -> Value {
        let v = parse(raw).unwrap();
        json!([
            v["Scheme"],
            v["Host"],
            v["Path"],
            v["RawPath"],
            v["Opaque"],
            v["RawQuery"],
            v["Fragment"],
            v["User"]
        ])
    }

    #[test]
    fn parses_like_go() {
        let cases: &[(&str, Value)] = &[
            (
                "spiffe://cluster.local/ns/default/sa/web",
                json!([
                    "spiffe",
                    "cluster.local",
                    "/ns/default/sa/web",
                    "",
                    "",
                    "",
                    "",
                    null
                ]),
            ),
            (
                "https://user:pw@example.com:8443/a%20b/c?q=1#frag",
                json!([
                    "https",
                    "example.com:8443",
                    "/a b/c",
                    "",
                    "",
                    "q=1",
                    "frag",
                    {}
                ]),
            ),
            (
                "urn:uuid:1234",
                json!(["urn", "", "", "", "uuid:1234", "", "", null]),
            ),
            (
                "HTTP://[::1]:80/x%2Fy",
                json!(["http", "[::1]:80", "/x/y", "/x%2Fy", "", "", "", null]),
            ),
            (
                "/relative/path",
                json!(["", "", "/relative/path", "", "", "", "", null]),
            ),
            (
                "http://[fe80::1%25en0]/",
                json!(["http", "[fe80::1%en0]", "/", "", "", "", "", null]),
            ),
            (
                "spiffe://a:b:80/",
                json!(["spiffe", "a:b:80", "/", "", "", "", "", null]),
            ),
            (
                "http://u%41@h/",
                json!(["http", "h", "/", "", "", "", "", {}]),
            ),
            (
                "http://h/%7e?#x%20y",
                json!(["http", "h", "/~", "/%7e", "", "", "x y", null]),
            ),
            ("//host/p", json!(["", "host", "/p", "", "", "", "", null])),
            ("///p", json!(["", "", "///p", "", "", "", "", null])),
            (
                "mailto:x@y",
                json!(["mailto", "", "", "", "x@y", "", "", null]),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(&fields(raw), want, "{raw}");
        }
        assert_eq!(parse("file:/etc").unwrap()["OmitHost"], json!(true));
        assert_eq!(parse("file:///etc").unwrap()["OmitHost"], json!(false));
        assert_eq!(parse("a:b?").unwrap()["ForceQuery"], json!(true));
    }

    #[test]
    fn errors_like_go() {
        let cases: &[(&str, &str)] = &[
            ("://x", "parse \"://x\": missing protocol scheme"),
            (
                "a b:c",
                "parse \"a b:c\": first path segment in URL cannot contain colon",
            ),
            (
                "http://x:y/",
                "parse \"http://x:y/\": invalid port \":y\" after host",
            ),
            (
                "http://a%zz/",
                "parse \"http://a%zz/\": invalid URL escape \"%zz\"",
            ),
            (
                "http://a b/",
                "parse \"http://a b/\": invalid character \" \" in host name",
            ),
            (
                "http://[1.2.3.4]/",
                "parse \"http://[1.2.3.4]/\": invalid IP-literal",
            ),
            (
                "x://h/\u{1}",
                "parse \"x://h/\\x01\": net/url: invalid control character in URL",
            ),
            (
                "http://a/#%g",
                "parse \"http://a/#%g\": invalid URL escape \"%g\"",
            ),
            (
                "http://[zz]/",
                "parse \"http://[zz]/\": invalid host: ParseAddr(\"zz\"): unable to parse IP",
            ),
            (
                "http://a:b:80/",
                "parse \"http://a:b:80/\": invalid port \":b:80\" after host",
            ),
            (
                "http://us er@h/",
                "parse \"http://us er@h/\": net/url: invalid userinfo",
            ),
            (
                "http://%41/",
                "parse \"http://%41/\": invalid URL escape \"%41\"",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(raw).unwrap_err(), *want, "{raw}");
        }
    }
}
