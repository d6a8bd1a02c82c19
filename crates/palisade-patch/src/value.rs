//! Small helpers over `serde_json::Value` shared by the modules.

use serde_json::Value;

/// Deepest nesting any recursive walk in this crate accepts: serde_json parses at most 128
/// levels, and real Kubernetes objects stay far below that.
pub(crate) const MAX_DEPTH: usize = 128;

/// The node kind names used in error messages, as kyaml names them.
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "a map",
        Value::Array(_) => "a list",
        Value::Null => "null",
        _ => "a scalar",
    }
}

/// The text a YAML scalar node holds for this value, which is what kyaml compares merge keys on
/// and what Kyverno hands to its pattern matcher for scalar conditions.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        Value::Object(_) | Value::Array(_) => None,
    }
}

/// Whether a scalar's YAML text equals `text` without allocating for strings.
pub(crate) fn scalar_text_eq(v: &Value, text: &str) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Object(_) | Value::Array(_) => false,
        other => scalar_text(other).is_some_and(|t| t == text),
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`), as Go's `encoding/json` does.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!("1")));
        assert!(json_eq(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
    }

    #[test]
    fn scalar_text_matches_yaml() {
        assert_eq!(scalar_text(&json!(80)).as_deref(), Some("80"));
        assert!(scalar_text_eq(&json!(80), "80"));
        assert!(scalar_text_eq(&json!("80"), "80"));
        assert!(scalar_text_eq(&json!(true), "true"));
        assert_eq!(scalar_text(&json!({})), None);
    }
}
