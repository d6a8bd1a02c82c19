//! Helpers that give `serde_json::Value` the behaviour of Go's `interface{}` values,
//! as Kyverno sees decoded JSON: whole numbers are integers, the rest are `float64`.

use palisade_primitives::gofloat;
use serde_json::Value;

/// A JSON number as Go's unstructured decoding types it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// `int64`.
    Int(i64),
    /// `float64`.
    Float(f64),
}

impl Num {
    /// The number as `f64`.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// The number held by `v`, typed as Go would type it.
pub fn num(v: &Value) -> Option<Num> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        Some(Num::Int(i))
    } else {
        n.as_f64().map(Num::Float)
    }
}

/// Go's `fmt.Sprint` of a decoded JSON value.
pub fn go_sprint(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => match num(v) {
            Some(Num::Int(i)) => i.to_string(),
            Some(Num::Float(f)) => gofloat::format_v(f),
            None => String::new(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_sprint).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_sprint(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

/// The Go type name used in Kyverno's error messages (`%T`).
pub fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => match num(v) {
            Some(Num::Int(_)) => "int64",
            _ => "float64",
        },
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sprint_matches_go() {
        let cases = [
            (json!("a"), "a"),
            (json!(3), "3"),
            (json!(1.5), "1.5"),
            (json!(true), "true"),
            (json!(null), "<nil>"),
            (json!(["a", 1]), "[a 1]"),
            (json!({"b": 1, "a": "x"}), "map[a:x b:1]"),
        ];
        for (v, want) in cases {
            assert_eq!(go_sprint(&v), want);
        }
    }
}
