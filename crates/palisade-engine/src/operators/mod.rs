//! Condition operators of `preconditions`, `deny` and exception `conditions`.
//!
//! One file per family, each mirroring Kyverno's handler of the same name
//! (`pkg/engine/variables/operator`). Operator names are matched case-insensitively.

mod duration;
mod equals;
mod membership;
mod numeric;

use serde_json::Value;

/// A condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// Key equals value (wildcards, quantities, durations).
    Equals,
    /// Negation of Equals for comparable types.
    NotEquals,
    /// Deprecated: key (or every key element) is in value.
    In,
    /// Deprecated: key is not in value.
    NotIn,
    /// At least one key element is in value.
    AnyIn,
    /// Every key element is in value.
    AllIn,
    /// At least one key element is not in value.
    AnyNotIn,
    /// No key element is in value.
    AllNotIn,
    /// Numeric, quantity, duration or semver `>`.
    GreaterThan,
    /// `>=`.
    GreaterThanOrEquals,
    /// `<`.
    LessThan,
    /// `<=`.
    LessThanOrEquals,
    /// Duration `>`.
    DurationGreaterThan,
    /// Duration `>=`.
    DurationGreaterThanOrEquals,
    /// Duration `<`.
    DurationLessThan,
    /// Duration `<=`.
    DurationLessThanOrEquals,
}

/// Every operator with its canonical name and a one-line description, for docs and errors.
pub const OPERATORS: &[(Operator, &str, &str)] = &[
    (
        Operator::Equals,
        "Equals",
        "key equals value; strings match with wildcards, quantities and durations by value",
    ),
    (
        Operator::NotEquals,
        "NotEquals",
        "key does not equal value (false when the types cannot be compared)",
    ),
    (
        Operator::In,
        "In",
        "deprecated: key, or every element of a key list, is in the value list",
    ),
    (
        Operator::NotIn,
        "NotIn",
        "deprecated: key, or some element of a key list, is not in the value list",
    ),
    (
        Operator::AnyIn,
        "AnyIn",
        "at least one key element matches a value element (wildcards both ways, ranges)",
    ),
    (
        Operator::AllIn,
        "AllIn",
        "every key element matches a value element",
    ),
    (
        Operator::AnyNotIn,
        "AnyNotIn",
        "at least one key element matches no value element",
    ),
    (
        Operator::AllNotIn,
        "AllNotIn",
        "no key element matches a value element",
    ),
    (
        Operator::GreaterThan,
        "GreaterThan",
        "numeric, quantity, duration or semver comparison",
    ),
    (
        Operator::GreaterThanOrEquals,
        "GreaterThanOrEquals",
        "numeric, quantity, duration or semver comparison",
    ),
    (
        Operator::LessThan,
        "LessThan",
        "numeric, quantity, duration or semver comparison",
    ),
    (
        Operator::LessThanOrEquals,
        "LessThanOrEquals",
        "numeric, quantity, duration or semver comparison",
    ),
    (
        Operator::DurationGreaterThan,
        "DurationGreaterThan",
        "duration comparison; numbers are seconds",
    ),
    (
        Operator::DurationGreaterThanOrEquals,
        "DurationGreaterThanOrEquals",
        "duration comparison; numbers are seconds",
    ),
    (
        Operator::DurationLessThan,
        "DurationLessThan",
        "duration comparison; numbers are seconds",
    ),
    (
        Operator::DurationLessThanOrEquals,
        "DurationLessThanOrEquals",
        "duration comparison; numbers are seconds",
    ),
];

impl Operator {
    /// Parses an operator name, ignoring case; `Equal`/`NotEqual` are accepted aliases.
    pub fn parse(name: &str) -> Option<Operator> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "equal" => return Some(Operator::Equals),
            "notequal" => return Some(Operator::NotEquals),
            _ => {}
        }
        OPERATORS
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(&lower))
            .map(|(op, _, _)| *op)
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(op, _, _)| *op == self)
            .map_or("", |(_, n, _)| n)
    }

    /// Evaluates `key <op> value` on substituted values.
    pub fn evaluate(self, key: &Value, value: &Value) -> bool {
        use std::cmp::Ordering::{Greater, Less};
        match self {
            Operator::Equals => equals::equals(key, value),
            Operator::NotEquals => equals::not_equals(key, value),
            Operator::In => membership::in_(key, value),
            Operator::NotIn => membership::not_in(key, value),
            Operator::AnyIn => membership::any_in(key, value),
            Operator::AllIn => membership::all_in(key, value),
            Operator::AnyNotIn => membership::any_not_in(key, value),
            Operator::AllNotIn => membership::all_not_in(key, value),
            Operator::GreaterThan => numeric::compare(key, value).is_some_and(|o| o == Greater),
            Operator::GreaterThanOrEquals => {
                numeric::compare(key, value).is_some_and(|o| o != Less)
            }
            Operator::LessThan => numeric::compare(key, value).is_some_and(|o| o == Less),
            Operator::LessThanOrEquals => {
                numeric::compare(key, value).is_some_and(|o| o != Greater)
            }
            Operator::DurationGreaterThan => {
                duration::compare(key, value).is_some_and(|o| o == Greater)
            }
            Operator::DurationGreaterThanOrEquals => {
                duration::compare(key, value).is_some_and(|o| o != Less)
            }
            Operator::DurationLessThan => duration::compare(key, value).is_some_and(|o| o == Less),
            Operator::DurationLessThanOrEquals => {
                duration::compare(key, value).is_some_and(|o| o != Greater)
            }
        }
    }

    /// True for the deprecated `In`/`NotIn`.
    pub fn is_deprecated(self) -> bool {
        matches!(self, Operator::In | Operator::NotIn)
    }
}

/// A key or value read as a Go duration: strings by `time.ParseDuration`, numbers as seconds.
pub(crate) fn as_duration(v: &Value) -> Option<i128> {
    match v {
        Value::String(s) => palisade_primitives::duration::parse_duration(s)
            .ok()
            .map(i128::from),
        Value::Number(n) => n
            .as_f64()
            // Saturating: a huge number of seconds must not overflow (found by fuzzing).
            .map(|secs| (secs.trunc() as i128).saturating_mul(1_000_000_000)),
        _ => None,
    }
}

/// Go's `parseDuration(key, value)`: both must read as durations and at least one is a string.
pub(crate) fn both_durations(key: &Value, value: &Value) -> Option<(i128, i128)> {
    if !key.is_string() && !value.is_string() {
        return None;
    }
    Some((as_duration(key)?, as_duration(value)?))
}

#[cfg(test)]
mod tests;
