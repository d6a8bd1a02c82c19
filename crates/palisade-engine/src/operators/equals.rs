//! `Equals` and `NotEquals`.

use palisade_primitives::{quantity::Quantity, wildcard};
use serde_json::Value;

use super::both_durations;
use crate::value::{Num, num};

/// Kyverno's EqualHandler: the comparison depends on the key's type.
pub fn equals(key: &Value, value: &Value) -> bool {
    compare(key, value).unwrap_or(false)
}

/// Kyverno's NotEqualHandler: false whenever the types cannot be compared, except that a map
/// or list key differs from a value of another type (Kyverno 1.10+).
pub fn not_equals(key: &Value, value: &Value) -> bool {
    match compare(key, value) {
        Some(eq) => !eq,
        None => key.is_object() || key.is_array(),
    }
}

/// `Some(equal)` when key and value are comparable, `None` otherwise.
fn compare(key: &Value, value: &Value) -> Option<bool> {
    match key {
        Value::Bool(k) => value.as_bool().map(|v| *k == v),
        Value::Number(_) => match num(key)? {
            Num::Int(k) => int_equals(k, value),
            Num::Float(k) => float_equals(k, value),
        },
        Value::String(k) => string_equals(k, value),
        Value::Object(_) => value.is_object().then(|| key == value),
        Value::Array(_) => value.is_array().then(|| key == value),
        Value::Null => None,
    }
}

fn int_equals(key: i64, value: &Value) -> Option<bool> {
    match value {
        Value::Number(_) => match num(value)? {
            Num::Int(v) => Some(v == key),
            Num::Float(v) => (v.trunc() == v).then_some(v as i64 == key),
        },
        Value::String(s) => s.parse::<i64>().ok().map(|v| v == key),
        _ => None,
    }
}

fn float_equals(key: f64, value: &Value) -> Option<bool> {
    match value {
        Value::Number(_) => match num(value)? {
            Num::Int(v) => (key.trunc() == key).then_some(key as i64 == v),
            Num::Float(v) => Some(v == key),
        },
        Value::String(s) => s.parse::<f64>().ok().map(|v| v == key),
        _ => None,
    }
}

fn string_equals(key: &str, value: &Value) -> Option<bool> {
    let key_value = Value::String(key.to_string());
    if let Some((k, v)) = both_durations(&key_value, value) {
        return Some(k == v);
    }
    if let (Ok(k), Value::String(v)) = (Quantity::parse(key), value) {
        return Some(Quantity::parse(v).is_ok_and(|v| k.cmp_value(&v).is_eq()));
    }
    value
        .as_str()
        .map(|pattern| wildcard::matches(pattern, key))
}
