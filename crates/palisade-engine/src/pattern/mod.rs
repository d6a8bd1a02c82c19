//! Leaf-value matching of validate patterns: wildcards, `|` and `&`, `!`, comparisons,
//! ranges, Kubernetes quantities and Go durations, and Kyverno's null handling.
//!
//! Mirrors Kyverno's `pkg/engine/pattern`: each function keeps its Go counterpart's type rules,
//! because policies in the wild depend on them (e.g. a `null` pattern matches `0`, `""`, `false`).

mod operator;

use std::borrow::Cow;
use std::cmp::Ordering;

use palisade_primitives::{duration, quantity::Quantity, wildcard};
use serde_json::Value;

pub use operator::Operator;

use crate::value::{Num, num};

/// Checks a resource value against a leaf pattern value.
pub fn validate(value: &Value, pattern: &Value) -> bool {
    match pattern {
        Value::Bool(p) => value.as_bool() == Some(*p),
        Value::Number(_) => match num(pattern) {
            Some(Num::Int(p)) => int_pattern(value, p),
            Some(Num::Float(p)) => float_pattern(value, p),
            None => false,
        },
        Value::Null => nil_pattern(value),
        Value::Object(_) => value.is_object(),
        Value::String(p) => string_patterns(value, p),
        Value::Array(_) => false,
    }
}

fn int_pattern(value: &Value, pattern: i64) -> bool {
    match value {
        Value::Number(_) => match num(value) {
            Some(Num::Int(v)) => v == pattern,
            Some(Num::Float(v)) => v.trunc() == v && v as i64 == pattern,
            None => false,
        },
        Value::String(s) => s.parse::<i64>().is_ok_and(|v| v == pattern),
        _ => false,
    }
}

fn float_pattern(value: &Value, pattern: f64) -> bool {
    match value {
        Value::Number(_) => match num(value) {
            Some(Num::Int(v)) => pattern.trunc() == pattern && pattern as i64 == v,
            Some(Num::Float(v)) => v == pattern,
            None => false,
        },
        Value::String(s) => s.trim().parse::<f64>().is_ok_and(|v| v == pattern),
        _ => false,
    }
}

fn nil_pattern(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Number(_) => num(value).is_some_and(|n| n.as_f64() == 0.0),
        Value::Array(_) | Value::Object(_) => false,
    }
}

fn string_patterns(value: &Value, pattern: &str) -> bool {
    if value.as_str() == Some(pattern) {
        return true;
    }
    pattern.split('|').any(|alternative| {
        alternative
            .trim_matches(' ')
            .split('&')
            .all(|condition| string_pattern(value, condition.trim_matches(' ')))
    })
}

fn string_pattern(value: &Value, pattern: &str) -> bool {
    match Operator::of(pattern) {
        Operator::InRange(lo, hi) => {
            string_pattern(value, &format!(">= {lo}")) && string_pattern(value, &format!("<= {hi}"))
        }
        Operator::NotInRange(lo, hi) => {
            string_pattern(value, &format!("< {lo}")) || string_pattern(value, &format!("> {hi}"))
        }
        op => {
            let operand = pattern[op.prefix_len()..].trim();
            compare_duration(value, operand, op)
                || compare_quantity(value, operand, op)
                || compare_string(value, operand, op)
        }
    }
}

fn compare_duration(value: &Value, pattern: &str, op: Operator) -> bool {
    // A Go duration starts with a digit or a dot after its sign; most patterns are words,
    // whose failed parse would allocate an error.
    let unsigned = pattern.strip_prefix(['+', '-']).unwrap_or(pattern);
    if !unsigned
        .bytes()
        .next()
        .is_some_and(|b| b == b'.' || b.is_ascii_digit())
    {
        return false;
    }
    let Ok(p) = duration::parse_duration(pattern) else {
        return false;
    };
    // A number's text has no unit, so it parses as a duration only when it is "0" (a
    // float's text always has decimals): skip the text and the failing parse.
    if value.is_number() && !matches!(num(value), Some(Num::Int(0))) {
        return false;
    }
    let Some(text) = number_as_string(value) else {
        return false;
    };
    let Ok(v) = duration::parse_duration(&text) else {
        return false;
    };
    op.holds(v.cmp(&p))
}

fn compare_quantity(value: &Value, pattern: &str, op: Operator) -> bool {
    let Ok(p) = Quantity::parse(pattern) else {
        return false;
    };
    let Some(text) = number_as_string(value) else {
        return false;
    };
    let Ok(v) = Quantity::parse(&text) else {
        return false;
    };
    op.holds(v.cmp_value(&p))
}

fn compare_string(value: &Value, pattern: &str, op: Operator) -> bool {
    let text: Cow<'_, str> = match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Number(_) => match num(value) {
            Some(Num::Int(i)) => Cow::Owned(i.to_string()),
            // Go formats float64 with 'E' here (1.5 -> "1.5E+00").
            Some(Num::Float(f)) => Cow::Owned(go_format_e(f)),
            None => return false,
        },
        _ => return false,
    };
    match op {
        Operator::Equal => wildcard::matches(pattern, &text),
        Operator::NotEqual => !wildcard::matches(pattern, &text),
        _ => false,
    }
}

/// Go's `convertNumberToString`: nil is "0", floats use `%f`.
fn number_as_string(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Null => Some(Cow::Borrowed("0")),
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(_) => match num(value)? {
            Num::Int(i) => Some(Cow::Owned(i.to_string())),
            Num::Float(f) => Some(Cow::Owned(format!("{f:.6}"))),
        },
        _ => None,
    }
}

fn go_format_e(f: f64) -> String {
    // Rust's `{:E}` gives "1.5E0"; Go gives "1.5E+00".
    let s = format!("{f:E}");
    match s.split_once('E') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}E{sign}{digits:0>2}")
        }
        None => s,
    }
}

impl Operator<'_> {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Operator::Equal => ord == Ordering::Equal,
            Operator::NotEqual => ord != Ordering::Equal,
            Operator::More => ord == Ordering::Greater,
            Operator::Less => ord == Ordering::Less,
            Operator::MoreEqual => ord != Ordering::Less,
            Operator::LessEqual => ord != Ordering::Greater,
            Operator::InRange(..) | Operator::NotInRange(..) => false,
        }
    }
}

#[cfg(test)]
mod tests;
