//! Leaf-value matching of validate patterns: wildcards, `|` and `&`, `!`, comparisons,
//! ranges, Kubernetes quantities and Go durations, and Kyverno's null handling.
//!
//! Mirrors Kyverno's `pkg/engine/pattern`: each function keeps its Go counterpart's type rules,
//! because policies in the wild depend on them (e.g. a `null` pattern matches `0`, `""`, `false`).

mod operator;

use std::borrow::Cow;
use std::cmp::Ordering;

use palisade_primitives::quantity::{Format, Quantity};
use palisade_primitives::{duration, wildcard};
use serde_json::Value;

pub use operator::Operator;

use crate::value::{Num, num};

/// Checks a resource value against a leaf pattern value.
pub fn validate(value: &Value, pattern: &Value) -> bool {
    scalar_pattern(value, pattern)
}

/// A leaf pattern parsed once: a string pattern's `|` alternatives of `&` conditions, each
/// with its operator and operand read and its operand parsed as a duration and a quantity
/// (a validate pattern is prepared when the policy is compiled, and matched on every
/// container of every request).
#[derive(Debug, Clone)]
pub struct Leaf {
    pattern: Value,
    /// For a string pattern, its alternatives; empty otherwise.
    checks: Checks,
}

impl Leaf {
    /// Prepares `pattern`.
    pub fn new(pattern: &Value) -> Leaf {
        let checks = match pattern {
            Value::String(p) => Checks::new(p),
            _ => Checks::default(),
        };
        Leaf {
            pattern: pattern.clone(),
            checks,
        }
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &Value {
        &self.pattern
    }

    /// Checks a resource value against the pattern, as [`validate`] does.
    pub fn matches(&self, value: &Value) -> bool {
        match &self.pattern {
            Value::String(p) => value.as_str() == Some(p.as_str()) || self.checks.hold(value),
            other => scalar_pattern(value, other),
        }
    }
}

/// A string pattern's alternatives (`|`), each a list of conditions that must all hold (`&`).
#[derive(Debug, Clone, Default)]
struct Checks(Box<[Box<[Check]>]>);

impl Checks {
    fn new(pattern: &str) -> Checks {
        Checks(
            pattern
                .split('|')
                .map(|alternative| {
                    alternative
                        .trim_matches(' ')
                        .split('&')
                        .map(|condition| Check::new(condition.trim_matches(' ')))
                        .collect()
                })
                .collect(),
        )
    }

    fn hold(&self, value: &Value) -> bool {
        self.0
            .iter()
            .any(|alternative| alternative.iter().all(|c| c.holds(value)))
    }
}

/// One condition of a string pattern. A range is two comparisons, as Kyverno rewrites
/// `a-b` to `>= a` and `<= b`, and `a!-b` to `< a` or `> b`.
#[derive(Debug, Clone)]
enum Check {
    One(Comparison),
    Both(Comparison, Comparison),
    Either(Comparison, Comparison),
}

impl Check {
    fn new(pattern: &str) -> Check {
        match Operator::of(pattern) {
            Operator::InRange(lo, hi) => Check::Both(
                Comparison::new(Operator::MoreEqual, lo),
                Comparison::new(Operator::LessEqual, hi),
            ),
            Operator::NotInRange(lo, hi) => Check::Either(
                Comparison::new(Operator::Less, lo),
                Comparison::new(Operator::More, hi),
            ),
            op => Check::One(Comparison::new(op, &pattern[op.prefix_len()..])),
        }
    }

    fn holds(&self, value: &Value) -> bool {
        match self {
            Check::One(c) => c.holds(value),
            Check::Both(a, b) => a.holds(value) && b.holds(value),
            Check::Either(a, b) => a.holds(value) || b.holds(value),
        }
    }
}

/// An operator and its operand, tried as a duration, a quantity and a (wildcard) string,
/// in that order.
#[derive(Debug, Clone)]
struct Comparison {
    /// Never a range.
    op: Operator<'static>,
    operand: Box<str>,
    /// The operand as a Go duration, when it is one.
    duration: Option<i64>,
    /// The operand as a Kubernetes quantity, when it is one.
    quantity: Option<Quantity>,
    /// The operand has no wildcard: string comparison is equality (decided here, not on
    /// every container: `RuntimeDefault | Localhost` is checked for each one).
    literal: bool,
}

impl Comparison {
    fn new(op: Operator<'_>, operand: &str) -> Comparison {
        let operand = operand.trim();
        let op = match op {
            Operator::NotEqual => Operator::NotEqual,
            Operator::More => Operator::More,
            Operator::Less => Operator::Less,
            Operator::MoreEqual => Operator::MoreEqual,
            Operator::LessEqual => Operator::LessEqual,
            // Ranges are split into two comparisons by `Check::new`.
            Operator::Equal | Operator::InRange(..) | Operator::NotInRange(..) => Operator::Equal,
        };
        Comparison {
            op,
            operand: operand.into(),
            duration: duration_operand(operand),
            quantity: Quantity::parse(operand).ok(),
            literal: !wildcard::contains_wildcard(operand),
        }
    }

    fn holds(&self, value: &Value) -> bool {
        self.duration
            .is_some_and(|p| compare_duration(value, p, self.op))
            || self
                .quantity
                .as_ref()
                .is_some_and(|p| compare_quantity(value, p, self.op))
            || match (value, self.op) {
                // `wildcard::matches` on a pattern without wildcards, less its check for them.
                (Value::String(text), Operator::Equal) if self.literal => *self.operand == **text,
                (Value::String(text), Operator::NotEqual) if self.literal => {
                    *self.operand != **text
                }
                _ => compare_string(value, &self.operand, self.op),
            }
    }
}

/// A pattern operand as a Go duration.
fn duration_operand(pattern: &str) -> Option<i64> {
    // A Go duration starts with a digit or a dot after its sign; most patterns are words,
    // whose failed parse would allocate an error.
    let unsigned = pattern.strip_prefix(['+', '-']).unwrap_or(pattern);
    if !unsigned
        .bytes()
        .next()
        .is_some_and(|b| b == b'.' || b.is_ascii_digit())
    {
        return None;
    }
    duration::parse_duration(pattern).ok()
}

/// A leaf pattern parsed for this one check.
fn scalar_pattern(value: &Value, pattern: &Value) -> bool {
    match pattern {
        Value::Bool(p) => value.as_bool() == Some(*p),
        Value::Number(_) => match num(pattern) {
            Some(Num::Int(p)) => int_pattern(value, p),
            Some(Num::Float(p)) => float_pattern(value, p),
            None => false,
        },
        Value::Null => nil_pattern(value),
        Value::Object(_) => value.is_object(),
        Value::String(p) => value.as_str() == Some(p.as_str()) || Checks::new(p).hold(value),
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

fn compare_duration(value: &Value, pattern: i64, op: Operator) -> bool {
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
    op.holds(v.cmp(&pattern))
}

fn compare_quantity(value: &Value, pattern: &Quantity, op: Operator) -> bool {
    // An integer's text parses as exactly that quantity: compare without the text (a
    // `!0`-style pattern on a user ID or port runs on every container of every request).
    if let Some(Num::Int(i)) = num(value) {
        let v = Quantity::from_i64(i, Format::DecimalSi);
        return op.holds(v.cmp_value(pattern));
    }
    let Some(text) = number_as_string(value) else {
        return false;
    };
    let Ok(v) = Quantity::parse(&text) else {
        return false;
    };
    op.holds(v.cmp_value(pattern))
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
