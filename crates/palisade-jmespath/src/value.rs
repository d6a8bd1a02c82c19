//! Value helpers with Go's semantics: float64 numbers, truthiness, deep equality, type names.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

/// The shared `null`, so lookups can borrow it.
pub static NULL: Value = Value::Null;

/// Maps up to this size are searched by [`get`] with a scan; larger ones by their own search.
const SCANNED: usize = 12;

/// `map.get(key)`, faster on the small maps of Kubernetes objects. A `serde_json` map is a
/// `BTreeMap`, whose search compares the key with every smaller key, one `memcmp` call each.
/// A scan compares first bytes inline and whole keys only when the first bytes agree; keys
/// that sort late (`spec`, `securityContext`, `volumes`: a container's `securityContext` is
/// seventh of eight) are scanned for from the back, the others from the front. Same result
/// as `get`.
#[inline]
pub fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let first = match key.as_bytes().first() {
        Some(&b) if map.len() > 1 && map.len() <= SCANNED => b,
        _ => return map.get(key),
    };
    // Keys are sorted, so those with the key's first byte are together: within them only
    // equal lengths are compared in full (most keys differ in length: no `memcmp` call).
    let same = |k: &str| k.len() == key.len() && k == key;
    if first >= b's' {
        for (k, v) in map.iter().rev() {
            match k.as_bytes().first().copied().unwrap_or(0).cmp(&first) {
                Ordering::Greater => continue,
                Ordering::Less => return None,
                Ordering::Equal if same(k) => return Some(v),
                Ordering::Equal => continue,
            }
        }
        return None;
    }
    for (k, v) in map {
        match k.as_bytes().first().cmp(&Some(&first)) {
            Ordering::Less => continue,
            Ordering::Greater => return None,
            Ordering::Equal if same(k) => return Some(v),
            Ordering::Equal => continue,
        }
    }
    None
}

/// A JSON number from an `f64`, as Kyverno's output shows it: whole numbers become integers
/// (`6`, not `6.0`), others stay floats; non-finite values become `null`.
pub fn number(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        return Value::Number(Number::from(f as i64));
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// The number as `f64` (Go holds every JSON number as float64).
pub fn as_f64(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// JMESPath truthiness: false, null, "", [], {} are false.
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}

/// Deep equality comparing numbers as float64 (so `1 == 1.0`).
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// JMESPath type name of a value.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Ordering for `sort`/`max`/`min`: numbers by value, strings by bytes; `None` otherwise.
pub fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Go's `%v` rendering of a value (used by Kyverno when it embeds values in strings).
pub fn go_string(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => palisade_primitives::gofloat::format_v(n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }
}

/// Builds an object from pairs.
pub fn object(pairs: impl IntoIterator<Item = (String, Value)>) -> Value {
    Value::Object(pairs.into_iter().collect::<Map<String, Value>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scans_find_what_get_finds() {
        let keys = [
            "",
            "\u{0}",
            "a",
            "ab",
            "apiVersion",
            "containers",
            "ephemeralContainers",
            "initContainers",
            "kind",
            "metadata",
            "s",
            "sa",
            "sb",
            "se",
            "seLinuxOptions",
            "seccompProfile",
            "securityContext",
            "spec",
            "t",
            "volumeMounts",
            "volumes",
            "z",
            "zz",
            "\u{e9}",
            "S",
            "~",
        ];
        for n in 0..keys.len() {
            for skip in 0..5 {
                let map: Map<String, Value> = keys
                    .iter()
                    .skip(skip)
                    .take(n)
                    .map(|k| (k.to_string(), json!(k)))
                    .collect();
                for probe in keys.iter().chain(&[
                    "sz", "secret", "u", "r", "\u{ff}", "b", "c", "cz", "hostPID", "",
                ]) {
                    assert_eq!(get(&map, probe), map.get(*probe), "{probe} in {map:?}");
                }
            }
        }
    }

    #[test]
    fn numbers_normalise() {
        assert_eq!(number(6.0), json!(6));
        assert_eq!(number(-2.0), json!(-2));
        assert_eq!(number(1.5), json!(1.5));
        assert_eq!(number(f64::NAN), Value::Null);
        assert_eq!(number(1e300), json!(1e300));
    }

    #[test]
    fn equality_and_truth() {
        assert!(equal(&json!(1), &json!(1.0)));
        assert!(equal(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!equal(&json!("1"), &json!(1)));
        for (v, t) in [
            (json!(null), false),
            (json!(""), false),
            (json!([]), false),
            (json!({}), false),
            (json!(0), true),
            (json!(" "), true),
        ] {
            assert_eq!(is_truthy(&v), t, "{v}");
        }
        assert_eq!(go_string(&json!(1e6)), "1e+06");
    }
}
