//! Scalar resolution exactly as go-yaml v2's `resolve` does it (YAML 1.1 booleans, octal,
//! `1_000`, ...), and conversion of resolved scalars to JSON values and JSON object keys
//! as sigs.k8s.io/yaml does it.

use std::borrow::Cow;

use base64::Engine as _;
use saphyr_parser::{ScalarStyle, Tag};
use serde_json::{Number, Value};

use crate::ErrorKind;
use crate::number::{
    IntError, format_go_g, is_yaml_style_float, parse_big_uint, parse_dot_float, parse_finite,
    parse_int, parse_uint,
};
use crate::timestamp::is_timestamp;

/// The prefix `!!` expands to.
const CORE: &str = "tag:yaml.org,2002:";

/// A resolved scalar, before it becomes a JSON value or a JSON object key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// An unsigned integer over 64 bits (Go `*big.Int`), as its nearest `f64`.
    BigInt(f64),
    /// Any float, including the non-finite ones JSON cannot hold.
    Float(f64),
    Str(Cow<'a, str>),
}

impl Scalar<'_> {
    /// go-yaml's short tag for this kind of value.
    fn short_tag(&self) -> &'static str {
        match self {
            Scalar::Null => "!!null",
            Scalar::Bool(_) => "!!bool",
            Scalar::Int(_) | Scalar::UInt(_) | Scalar::BigInt(_) => "!!int",
            Scalar::Float(_) => "!!float",
            Scalar::Str(_) => "!!str",
        }
    }

    /// Detaches the scalar from the input buffer.
    pub(crate) fn into_owned(self) -> Scalar<'static> {
        match self {
            Scalar::Null => Scalar::Null,
            Scalar::Bool(b) => Scalar::Bool(b),
            Scalar::Int(i) => Scalar::Int(i),
            Scalar::UInt(u) => Scalar::UInt(u),
            Scalar::BigInt(f) => Scalar::BigInt(f),
            Scalar::Float(f) => Scalar::Float(f),
            Scalar::Str(s) => Scalar::Str(Cow::Owned(s.into_owned())),
        }
    }

    /// The JSON value Go's `json.Marshal` prints for this scalar, as serde_json reads it back.
    pub(crate) fn into_value(self) -> Result<Value, ErrorKind> {
        Ok(match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::from(i),
            Scalar::UInt(u) => Value::from(u),
            Scalar::BigInt(f) => float_value(f),
            Scalar::Float(f) if !f.is_finite() => {
                return Err(ErrorKind::NonFinite(format_go_g(f, false)));
            }
            Scalar::Float(f) => float_value(f),
            Scalar::Str(s) => Value::String(s.into_owned()),
        })
    }

    /// The JSON object key sigs.k8s.io/yaml makes of this scalar used as a mapping key.
    pub(crate) fn into_key(self) -> Result<String, ErrorKind> {
        match self {
            Scalar::Str(s) => Ok(s.into_owned()),
            Scalar::Int(i) => Ok(i.to_string()),
            Scalar::Bool(b) => Ok(b.to_string()),
            Scalar::Float(f) => Ok(match format_go_g(f, true).as_str() {
                "+Inf" => ".inf".to_owned(),
                "-Inf" => "-.inf".to_owned(),
                "NaN" => ".nan".to_owned(),
                s => s.to_owned(),
            }),
            Scalar::Null => Err(ErrorKind::UnsupportedKey("null".to_owned())),
            Scalar::UInt(u) => Err(ErrorKind::UnsupportedKey(format!("{u} (uint64)"))),
            Scalar::BigInt(_) => Err(ErrorKind::UnsupportedKey("(integer beyond 64 bits)".into())),
        }
    }
}

/// A finite float as serde_json would read Go's JSON text for it: Go prints integral values
/// below 1e21 without a fraction or exponent, so they read back as integers when they fit
/// (`-0` included: Kubernetes' JSON decoding turns it into the integer 0).
pub(crate) fn float_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // The range checks make the casts exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
            return Value::from(f as i64);
        } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
            return Value::from(f as u64);
        }
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Resolves an untagged plain scalar (go-yaml v2's `resolve("", s)`).
pub(crate) fn resolve_plain(s: &str) -> Scalar<'_> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Scalar::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Scalar::Bool(false);
        }
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match s.as_bytes().first() {
        Some(b'.') => parse_dot_float(s).map_or(Scalar::Str(Cow::Borrowed(s)), Scalar::Float),
        Some(b'0'..=b'9' | b'+' | b'-') => resolve_number(s),
        _ => Scalar::Str(Cow::Borrowed(s)),
    }
}

/// The digit/sign branch of go-yaml v2's resolve: int, then uint, then float, then big int.
fn resolve_number(s: &str) -> Scalar<'_> {
    // go-yaml drops every underscore before trying the number parsers.
    let plain: Cow<'_, str> = if s.contains('_') {
        Cow::Owned(s.replace('_', ""))
    } else {
        Cow::Borrowed(s)
    };
    if let Ok(i) = parse_int(&plain) {
        return Scalar::Int(i);
    }
    let uint = parse_uint(&plain);
    if let Ok(u) = uint {
        return Scalar::UInt(u);
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = parse_finite(&plain)
    {
        return Scalar::Float(f);
    }
    if uint == Err(IntError::Range)
        && let Some(f) = parse_big_uint(&plain)
    {
        return Scalar::BigInt(f);
    }
    Scalar::Str(Cow::Borrowed(s))
}

/// What a scalar's tag asks for.
enum TagKind {
    None,
    Str,
    Binary,
    /// `!!bool`, `!!int`, `!!float`, `!!null`, `!!timestamp`: resolve, then check.
    Checked(&'static str),
    /// Any other tag: go-yaml keeps the text as it is.
    Other,
}

fn tag_kind(tag: Option<&Tag>) -> TagKind {
    let Some(tag) = tag else { return TagKind::None };
    let suffix = if tag.handle == CORE {
        tag.suffix.as_str()
    } else if tag.handle.is_empty() {
        // Verbatim tags (`!<tag:yaml.org,2002:int>`) arrive whole in the suffix.
        match tag.suffix.strip_prefix(CORE) {
            Some(s) => s,
            None => return TagKind::Other,
        }
    } else {
        return TagKind::Other;
    };
    match suffix {
        "str" => TagKind::Str,
        "binary" => TagKind::Binary,
        "bool" => TagKind::Checked("!!bool"),
        "int" => TagKind::Checked("!!int"),
        "float" => TagKind::Checked("!!float"),
        "null" => TagKind::Checked("!!null"),
        "timestamp" => TagKind::Checked("!!timestamp"),
        _ => TagKind::Other,
    }
}

/// Resolves a scalar event from the parser (go-yaml v2's `decoder.scalar` into `interface{}`).
pub(crate) fn resolve_event<'a>(
    text: Cow<'a, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Scalar<'a>, ErrorKind> {
    match tag_kind(tag) {
        TagKind::None if style == ScalarStyle::Plain => Ok(resolve_text(text)),
        TagKind::None | TagKind::Str | TagKind::Other => Ok(Scalar::Str(text)),
        TagKind::Binary => decode_binary(&text),
        TagKind::Checked("!!timestamp") => {
            if is_timestamp(&text) {
                Ok(Scalar::Str(text))
            } else {
                Err(mismatch(&resolve_plain(&text), &text, "!!timestamp"))
            }
        }
        TagKind::Checked(want) => {
            let got = resolve_plain(&text).into_owned();
            match (&got, want) {
                (_, w) if got.short_tag() == w => Ok(got),
                // go-yaml widens int (not uint64) to float for `!!float`.
                #[allow(clippy::cast_precision_loss)]
                (Scalar::Int(i), "!!float") => Ok(Scalar::Float(*i as f64)),
                _ => Err(mismatch(&got, &text, want)),
            }
        }
    }
}

fn mismatch(got: &Scalar<'_>, text: &str, want: &str) -> ErrorKind {
    ErrorKind::TagMismatch {
        found: got.short_tag().to_owned(),
        value: text.to_owned(),
        tag: want.to_owned(),
    }
}

/// `!!binary`: base64 (line breaks ignored, as Go's decoder does); the bytes become a string.
fn decode_binary(text: &str) -> Result<Scalar<'static>, ErrorKind> {
    let compact: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| ErrorKind::InvalidBinary)?;
    Ok(Scalar::Str(Cow::Owned(
        String::from_utf8_lossy(&bytes).into_owned(),
    )))
}

/// [`resolve_plain`] that hands back the event text itself for strings, avoiding a copy.
fn resolve_text(text: Cow<'_, str>) -> Scalar<'_> {
    let typed = match resolve_plain(&text) {
        Scalar::Str(_) => None,
        other => Some(other.into_owned()),
    };
    typed.unwrap_or(Scalar::Str(text))
}

/// Whether a string must be quoted so that it reads back as a string: go-yaml v2 quotes
/// anything `resolve` would type (and timestamps and base-60 floats); `<<` is quoted too so
/// that it is not read back as a merge key.
pub(crate) fn plain_would_change(s: &str) -> bool {
    !matches!(resolve_plain(s), Scalar::Str(_)) || s == "<<" || is_timestamp(s) || is_base60(s)
}

/// go-yaml's `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    if !b.first().is_some_and(u8::is_ascii_digit) || !b.contains(&b':') {
        return false;
    }
    let (head, frac) = match b.iter().position(|c| *c == b'.') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[b.len()..]),
    };
    if !frac.iter().all(|c| c.is_ascii_digit() || *c == b'_') {
        return false;
    }
    let mut parts = head.split(|c| *c == b':');
    let first_ok = parts
        .next()
        .is_some_and(|p| p.iter().all(|c| c.is_ascii_digit() || *c == b'_'));
    first_ok
        && parts.all(|p| match p {
            [d] => d.is_ascii_digit(),
            [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
            _ => false,
        })
}

#[cfg(test)]
mod tests;
