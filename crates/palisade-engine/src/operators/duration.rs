//! `DurationGreaterThan` and friends: numbers are seconds, strings Go durations.

use std::cmp::Ordering;

use serde_json::Value;

use super::as_duration;

/// Orders two durations; `None` when either does not read as a duration.
pub fn compare(key: &Value, value: &Value) -> Option<Ordering> {
    Some(as_duration(key)?.cmp(&as_duration(value)?))
}
