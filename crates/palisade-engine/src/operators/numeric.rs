//! `GreaterThan`, `GreaterThanOrEquals`, `LessThan`, `LessThanOrEquals`.

use std::cmp::Ordering;

use palisade_primitives::{quantity::Quantity, semver::Version};
use serde_json::Value;

use super::both_durations;

/// Orders key against value as Kyverno's NumericOperatorHandler does: durations first, then
/// numbers, then quantities, then semantic versions. `None` when they cannot be compared.
pub fn compare(key: &Value, value: &Value) -> Option<Ordering> {
    if let Some((k, v)) = both_durations(key, value) {
        return Some(k.cmp(&v));
    }
    match key {
        Value::Number(n) => number_against(n.as_f64()?, value),
        Value::String(s) => string_key(s, value),
        _ => None,
    }
}

fn number_against(key: f64, value: &Value) -> Option<Ordering> {
    let v = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    key.partial_cmp(&v)
}

fn string_key(key: &str, value: &Value) -> Option<Ordering> {
    if let Ok(k) = key.trim().parse::<f64>() {
        return number_against(k, value);
    }
    if let Ok(k) = Quantity::parse(key) {
        let v = Quantity::parse(value.as_str()?).ok()?;
        return Some(k.cmp_value(&v));
    }
    let k = Version::parse(key.trim_start_matches('v')).ok()?;
    let v = Version::parse(value.as_str()?.trim_start_matches('v')).ok()?;
    Some(k.compare(&v))
}
