//! Kubernetes' URL library with Go `net/url` parsing rules (`url()`, `isURL`, `getHost`, ...).

use std::any::Any;

use crate::error::{RtError, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::{Key, MapValue, Opaque, Value};

/// CEL type name of URLs.
pub(crate) const URL_TYPE: &str = "kubernetes.URL";

/// A parsed URL; fields hold the raw (still escaped) text as Go keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    raw: String,
    scheme: String,
    host: String,
    path: String,
    query: String,
}

impl Opaque for Url {
    fn type_name(&self) -> &str {
        URL_TYPE
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other.as_any().downcast_ref::<Url>() == Some(self)
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.raw.clone())
    }
}

pub(crate) fn register(reg: &mut Registry) {
    let u = || T::Opaque(URL_TYPE);
    reg.global("url", vec![sig(&[T::String], u())], |_, a| match a {
        [Value::String(s)] => parse_request_uri(s).map(Value::opaque).map_err(|e| {
            RtError::from(format!(
                "URL parse error during conversion from string: {e}"
            ))
        }),
        _ => no_match(),
    });
    reg.global("isURL", vec![sig(&[T::String], T::Bool)], |_, a| match a {
        [Value::String(s)] => Ok(Value::Bool(parse_request_uri(s).is_ok())),
        _ => no_match(),
    });
    reg.method("getScheme", vec![sig(&[u()], T::String)], |_, a| {
        with_url(a, |u| Value::from(u.scheme.as_str()))
    });
    reg.method("getHost", vec![sig(&[u()], T::String)], |_, a| {
        with_url(a, |u| Value::from(u.host.as_str()))
    });
    reg.method("getHostname", vec![sig(&[u()], T::String)], |_, a| {
        with_url(a, |u| Value::from(hostname(&u.host)))
    });
    reg.method("getPort", vec![sig(&[u()], T::String)], |_, a| {
        with_url(a, |u| Value::from(port(&u.host)))
    });
    reg.method("getEscapedPath", vec![sig(&[u()], T::String)], |_, a| {
        with_url(a, |u| Value::from(escaped_path(&u.path)))
    });
    reg.method(
        "getQuery",
        vec![sig(&[u()], T::map(T::String, T::list(T::String)))],
        get_query,
    );
}

fn with_url(args: &[Value], f: impl Fn(&Url) -> Value) -> Result<Value, RtError> {
    match args {
        [v] => v.downcast::<Url>().map(f).map_or_else(no_match, Ok),
        _ => no_match(),
    }
}

/// Parses like Go's `url.ParseRequestURI` (absolute URI or absolute path), keeping a fragment
/// as `url.Parse` does.
pub(crate) fn parse_request_uri(s: &str) -> Result<Url, String> {
    let bad = |why: &str| format!("parse {s:?}: {why}");
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(bad("net/url: invalid control character in URL"));
    }
    if s.is_empty() {
        return Err(bad("empty url"));
    }
    let without_frag = s.split_once('#').map_or(s, |(a, _)| a);
    let (scheme, rest) = split_scheme(without_frag).map_err(bad)?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            // Opaque URL such as `mailto:x@y`.
            return Ok(Url {
                raw: s.into(),
                scheme,
                host: String::new(),
                path: String::new(),
                query: query.into(),
            });
        }
        return Err(bad("invalid URI for request"));
    }
    let (host, path) = match rest.strip_prefix("//") {
        Some(auth_and_path) if !scheme.is_empty() => {
            let (auth, path) = auth_and_path
                .find('/')
                .map_or((auth_and_path, ""), |i| auth_and_path.split_at(i));
            let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
            validate_host(host).map_err(|e| bad(&e))?;
            (host.to_string(), path.to_string())
        }
        _ => (String::new(), rest.to_string()),
    };
    validate_escapes(&path).map_err(|e| bad(&e))?;
    Ok(Url {
        raw: s.into(),
        scheme,
        host,
        path,
        query: query.into(),
    })
}

fn split_scheme(s: &str) -> Result<(String, &str), &'static str> {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err("missing protocol scheme"),
            ':' => return Ok((s[..i].to_ascii_lowercase(), &s[i + 1..])),
            _ => return Ok((String::new(), s)),
        }
    }
    Ok((String::new(), s))
}

fn validate_host(host: &str) -> Result<(), String> {
    if let Some(rest) = host.strip_prefix('[') {
        let end = rest.find(']').ok_or("missing ']' in host")?;
        let port = &rest[end + 1..];
        if !port.is_empty() && !valid_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
        return Ok(());
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
    }
    validate_escapes(host)
}

fn valid_port(p: &str) -> bool {
    p.strip_prefix(':')
        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
}

fn validate_escapes(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b.get(i) == Some(&b'%') {
            let ok = b
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                return Err(format!(
                    "invalid URL escape {:?}",
                    s.get(i..(i + 3).min(s.len())).unwrap_or("%")
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn hostname(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_string();
    }
    match host.rfind(':') {
        Some(i) if valid_port(&host[i..]) => host[..i].to_string(),
        _ => host.to_string(),
    }
}

fn port(host: &str) -> String {
    let tail = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, p)| p),
        None => host.rfind(':').map_or("", |i| &host[i..]),
    };
    if valid_port(tail) {
        tail[1..].to_string()
    } else {
        String::new()
    }
}

/// Go's `URL.EscapedPath`: the path as written if it is validly encoded, else re-escaped.
fn escaped_path(raw: &str) -> String {
    let valid = raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@[]/%".contains(&b));
    if valid {
        return raw.to_string();
    }
    let mut decoded = Vec::with_capacity(raw.len());
    let b = raw.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (c, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                decoded.push(v);
                i += 3;
            }
            _ => {
                decoded.push(c);
                i += 1;
            }
        }
    }
    let mut out = String::with_capacity(decoded.len() * 3);
    for c in decoded {
        if c.is_ascii_alphanumeric() || b"-._~$&+,/:;=@".contains(&c) {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+` as Go's `url.QueryUnescape`; `None` on a bad escape.
fn query_unescape(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn get_query(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [v] = args else { return no_match() };
    let Some(u) = v.downcast::<Url>() else {
        return no_match();
    };
    ctx.charge_size(u.query.len())?;
    let mut grouped: Vec<(String, Vec<Value>)> = Vec::new();
    // Go drops pairs that contain ';' or fail to unescape.
    for pair in u
        .query
        .split('&')
        .filter(|p| !p.is_empty() && !p.contains(';'))
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(k), Some(v)) = (query_unescape(k), query_unescape(v)) else {
            continue;
        };
        match grouped.iter_mut().find(|(g, _)| *g == k) {
            Some((_, vals)) => vals.push(Value::from(v)),
            None => grouped.push((k, vec![Value::from(v)])),
        }
    }
    let m: MapValue = grouped
        .into_iter()
        .map(|(k, v)| (Key::String(k.into()), Value::list(v)))
        .collect();
    Ok(Value::map(m))
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn url_library() {
        assert_true(&[
            "url('https://example.com:8443/a/b?x=1#frag').getScheme() == 'https'",
            "url('https://example.com:8443/a/b').getHost() == 'example.com:8443'",
            "url('https://example.com:8443/a/b').getHostname() == 'example.com'",
            "url('https://example.com:8443/a/b').getPort() == '8443'",
            "url('https://example.com/a/b').getPort() == ''",
            "url('https://[::1]:80/').getHostname() == '::1'",
            "url('https://[::1]:80/').getHost() == '[::1]:80'",
            "url('https://[::1]:80/').getPort() == '80'",
            "url('https://example.com/with%20space').getEscapedPath() == '/with%20space'",
            "url('/absolute/path').getEscapedPath() == '/absolute/path'",
            "url('https://e.com/a b/ü').getEscapedPath() == '/a%20b/%C3%BC'",
            "url('https://e.com/keep!(it)').getEscapedPath() == '/keep!(it)'",
            "url('https://e.com/?a=1&a=2&b=x+y').getQuery() == {'a': ['1', '2'], 'b': ['x y']}",
            "url('https://e.com/').getQuery() == {}",
            "isURL('https://example.com') && isURL('/path') && isURL('mailto:someone@example.com')",
            "!isURL('relative/path') && !isURL('') && !isURL('https://e.com:abc/') && !isURL('://x')",
            "url('https://a.io') == url('https://a.io')",
        ]);
        assert_err(&[("url('not a url')", "URL parse error")]);
    }
}
