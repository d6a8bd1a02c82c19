//! How Go's `encoding/json` writes the pieces of an `x509.Certificate`, after Kyverno's
//! round trip through `map[string]interface{}` (so every number is a float64).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// A `[]byte`: standard base64.
pub(crate) fn bytes(b: &[u8]) -> Value {
    Value::String(STANDARD.encode(b))
}

/// A `[]byte` that may be nil.
pub(crate) fn opt_bytes(b: Option<&[u8]>) -> Value {
    b.map_or(Value::Null, bytes)
}

/// A slice that is nil when nothing was appended to it.
pub(crate) fn list<T>(items: &[T], f: impl Fn(&T) -> Value) -> Value {
    if items.is_empty() {
        return Value::Null;
    }
    Value::Array(items.iter().map(f).collect())
}

/// A `[]string` that is nil when empty.
pub(crate) fn strings(items: &[String]) -> Value {
    list(items, |s| Value::String(s.clone()))
}

/// A Go `int` after the float64 round trip.
pub(crate) fn int(n: i64) -> Value {
    crate::value::number(n as f64)
}

/// A Go `string` built from arbitrary bytes: `encoding/json` writes each byte of an invalid
/// UTF-8 sequence as U+FFFD.
pub(crate) fn go_string(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(chunk.invalid().iter().map(|_| char::REPLACEMENT_CHARACTER));
    }
    out
}

/// Go's `strconv.Quote`: printable characters as they are, the usual escapes, `\xNN` for
/// other ASCII controls and for bytes of invalid UTF-8.
pub(crate) fn go_quote(s: &str) -> String {
    go_quote_bytes(s.as_bytes())
}

/// [`go_quote`] for bytes that may not be UTF-8.
pub(crate) fn go_quote_bytes(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\u{b}' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}

/// `net.IP` text (`MarshalText`): IPv4 and IPv4-mapped addresses in dotted form.
pub(crate) fn ip(b: &[u8]) -> Value {
    let text = match b {
        [] => String::new(),
        [a, b, c, d] => Ipv4Addr::new(*a, *b, *c, *d).to_string(),
        _ => match <[u8; 16]>::try_from(b) {
            Ok(v6) => {
                let addr = Ipv6Addr::from(v6);
                addr.to_ipv4_mapped()
                    .map_or_else(|| addr.to_string(), |v4| v4.to_string())
            }
            Err(_) => return Value::Null,
        },
    };
    Value::String(text)
}

/// An object from `(field, value)` pairs.
pub(crate) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let map: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn go_encodings() {
        assert_eq!(bytes(&[0xff, 0x00]), json!("/wA="));
        assert_eq!(opt_bytes(None), json!(null));
        assert_eq!(opt_bytes(Some(&[])), json!(""));
        assert_eq!(strings(&[]), json!(null));
        assert_eq!(int(-1), json!(-1));
        assert_eq!(go_string(b"a\xe2\x82b\xff"), "a\u{fffd}\u{fffd}b\u{fffd}");
        assert_eq!(go_quote("a\"b\\\x01"), "\"a\\\"b\\\\\\x01\"");
        assert_eq!(go_quote_bytes(b"e\x82x\xc3\xa9"), "\"e\\x82xé\"");
        assert_eq!(ip(&[10, 0, 0, 1]), json!("10.0.0.1"));
        let mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1];
        assert_eq!(ip(&mapped), json!("192.0.2.1"));
        let v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(ip(&v6), json!("2001:db8::1"));
        let compat = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(ip(&compat), json!("::102:304"));
    }
}
