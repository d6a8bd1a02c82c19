//! `In`, `NotIn`, `AnyIn`, `AllIn`, `AnyNotIn`, `AllNotIn`.

use palisade_primitives::wildcard;
use serde_json::Value;

use crate::pattern::{self, Operator as PatternOperator};
use crate::value::go_sprint;

/// What the value side of a membership test holds.
enum Values {
    List(Vec<String>),
    /// A range pattern such as `1-10`.
    Range(String),
}

fn either_way(a: &str, b: &str) -> bool {
    wildcard::matches(a, b) || wildcard::matches(b, a)
}

/// The key as a list of strings: scalars become one element, lists their elements.
fn key_strings(key: &Value) -> Option<Vec<String>> {
    match key {
        Value::Array(items) => Some(items.iter().map(go_sprint).collect()),
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(vec![go_sprint(key)]),
        _ => None,
    }
}

/// The value as a list: a list, a number, a JSON array in a string, a range, or one string.
fn value_strings(value: &Value) -> Option<Values> {
    match value {
        Value::Array(items) => Some(Values::List(items.iter().map(go_sprint).collect())),
        Value::Number(_) => Some(Values::List(vec![go_sprint(value)])),
        Value::String(s) => {
            if matches!(PatternOperator::of(s), PatternOperator::InRange(..)) {
                return Some(Values::Range(s.clone()));
            }
            if let Ok(v) = serde_json::from_str::<Value>(s) {
                // A JSON document that is not a list of strings is a type error in Kyverno.
                let Value::Array(items) = v else { return None };
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect();
                return strings.map(Values::List);
            }
            Some(Values::List(vec![s.clone()]))
        }
        _ => None,
    }
}

fn in_range(key: &str, range: &str) -> bool {
    pattern::validate(
        &Value::String(key.to_string()),
        &Value::String(range.to_string()),
    )
}

fn contains(values: &Values, key: &str) -> bool {
    match values {
        Values::List(list) => list.iter().any(|v| either_way(key, v)),
        Values::Range(range) => in_range(key, range),
    }
}

/// For a single string key, Kyverno first tries the whole value string as a wildcard pattern.
fn single_key_whole_match(key: &Value, value: &Value) -> bool {
    match (key, value) {
        (Value::Array(_), Value::String(v)) => key
            .as_array()
            .is_some_and(|k| k.len() == 1 && go_sprint(&k[0]) == *v),
        (_, Value::String(v)) => key_strings(key)
            .and_then(|k| k.first().cloned())
            .is_some_and(|k| wildcard::matches(v, &k)),
        _ => false,
    }
}

fn count_found(key: &Value, value: &Value) -> Option<(usize, usize)> {
    let keys = key_strings(key)?;
    // A scalar key against a number is a type error in Kyverno; a list key accepts it.
    if !key.is_array() && value.is_number() {
        return None;
    }
    if single_key_whole_match(key, value) {
        return Some((keys.len(), keys.len()));
    }
    let values = value_strings(value)?;
    let found = keys.iter().filter(|k| contains(&values, k)).count();
    Some((found, keys.len()))
}

/// `AnyIn`.
pub fn any_in(key: &Value, value: &Value) -> bool {
    count_found(key, value).is_some_and(|(found, _)| found > 0)
}

/// `AllIn`.
pub fn all_in(key: &Value, value: &Value) -> bool {
    count_found(key, value).is_some_and(|(found, total)| found == total)
}

/// `AnyNotIn`.
pub fn any_not_in(key: &Value, value: &Value) -> bool {
    if !key.is_array() {
        return count_found(key, value).is_some_and(|(found, _)| found == 0);
    }
    if let (Some(keys), Value::String(range)) = (key_strings(key), value)
        && matches!(PatternOperator::of(range), PatternOperator::InRange(..))
    {
        return keys.iter().any(|k| !in_range(k, range));
    }
    count_found(key, value).is_some_and(|(found, total)| found < total)
}

/// `AllNotIn`.
pub fn all_not_in(key: &Value, value: &Value) -> bool {
    count_found(key, value).is_some_and(|(found, _)| found == 0)
}

/// Deprecated `In`: like `AllIn`.
pub fn in_(key: &Value, value: &Value) -> bool {
    all_in(key, value)
}

/// Deprecated `NotIn`: the negation of `In` where the types are valid.
pub fn not_in(key: &Value, value: &Value) -> bool {
    count_found(key, value).is_some_and(|(found, total)| found != total)
}
