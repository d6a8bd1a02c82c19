//! Conversions between CEL values and `serde_json::Value`.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Number};

use crate::error::EvalError;
use crate::value::{Key, MapValue, Value};

/// Largest integer a double represents exactly; integral doubles up to it become JSON integers.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

impl Value {
    /// Converts a JSON document into a CEL value (objects become maps with string keys).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(Arc::from(s.as_str())),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                let m: MapValue = o
                    .iter()
                    .map(|(k, v)| (Key::String(Arc::from(k.as_str())), Value::from_json(v)))
                    .collect();
                Value::map(m)
            }
        }
    }

    /// Converts a CEL value into JSON, the way Kubernetes marshals CEL results.
    ///
    /// Integral doubles become JSON integers (as Go's encoding/json prints them), bytes become
    /// base64, timestamps RFC 3339 strings, durations `"<seconds>s"`, `optional.none()` null.
    pub fn to_json(&self) -> Result<serde_json::Value, EvalError> {
        Ok(match self {
            Value::Null | Value::Optional(None) => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::Number((*i).into()),
            Value::Uint(u) => serde_json::Value::Number((*u).into()),
            Value::Double(d) => double_to_json(*d)?,
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Bytes(b) => {
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::List(l) => {
                serde_json::Value::Array(l.iter().map(Value::to_json).collect::<Result<_, _>>()?)
            }
            Value::Map(m) => {
                let mut out = Map::new();
                for (k, v) in m.iter() {
                    out.insert(key_string(k), v.to_json()?);
                }
                serde_json::Value::Object(out)
            }
            Value::Timestamp(t) => {
                serde_json::Value::String(crate::library::time::format_timestamp(*t))
            }
            Value::Duration(d) => {
                serde_json::Value::String(crate::library::time::format_duration(*d))
            }
            Value::Type(t) => serde_json::Value::String(t.to_string()),
            Value::Optional(Some(v)) => v.to_json()?,
            Value::Opaque(o) => o.to_json(),
            Value::Doc(d) => d.to_json()?,
        })
    }
}

pub(crate) fn double_to_json(d: f64) -> Result<serde_json::Value, EvalError> {
    if d.fract() == 0.0 && d.abs() <= MAX_SAFE {
        return Ok(serde_json::Value::Number((d as i64).into()));
    }
    Number::from_f64(d)
        .map(serde_json::Value::Number)
        .ok_or_else(|| EvalError::Conversion(format!("{d} has no JSON representation")))
}

fn key_string(k: &Key) -> String {
    match k {
        Key::String(s) => s.to_string(),
        Key::Int(i) => i.to_string(),
        Key::Uint(u) => u.to_string(),
        Key::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_documents() {
        let docs = [
            json!({"a": [1, 2.5, "x", null, true], "b": {"c": {}}}),
            json!([]),
            json!(-7),
            json!("s"),
        ];
        for d in docs {
            assert_eq!(Value::from_json(&d).to_json().unwrap(), d);
        }
    }

    #[test]
    fn special_values() {
        let cases = [
            (Value::Double(2.0), json!(2)),
            (Value::Uint(3), json!(3)),
            (Value::Bytes(b"hi".to_vec().into()), json!("aGk=")),
            (Value::none(), json!(null)),
            (Value::some(Value::Int(1)), json!(1)),
        ];
        for (v, want) in cases {
            assert_eq!(v.to_json().unwrap(), want);
        }
        assert!(Value::Double(f64::NAN).to_json().is_err());
    }
}
