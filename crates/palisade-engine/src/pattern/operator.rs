//! The operator prefix of a string pattern (`>=`, `<=`, `>`, `<`, `!`, ranges).

use std::sync::LazyLock;

use regex::Regex;

/// The comparison a string pattern asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator<'a> {
    /// No prefix: equality (with wildcards).
    Equal,
    /// `!`.
    NotEqual,
    /// `>`.
    More,
    /// `<`.
    Less,
    /// `>=`.
    MoreEqual,
    /// `<=`.
    LessEqual,
    /// `a-b`: inclusive range.
    InRange(&'a str, &'a str),
    /// `a!-b`: outside the range.
    NotInRange(&'a str, &'a str),
}

// A range endpoint is a number with an optional unit suffix (quantities, durations).
static IN_RANGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(-?\d+(?:\.\d+)?[A-Za-z]*)-(-?\d+(?:\.\d+)?[A-Za-z]*)$").ok());
static NOT_IN_RANGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(-?\d+(?:\.\d+)?[A-Za-z]*)!-(-?\d+(?:\.\d+)?[A-Za-z]*)$").ok());

impl<'a> Operator<'a> {
    /// Reads the operator of a pattern.
    pub fn of(pattern: &'a str) -> Operator<'a> {
        if pattern.len() < 2 {
            return Operator::Equal;
        }
        for (prefix, op) in [
            (">=", Operator::MoreEqual),
            ("<=", Operator::LessEqual),
            (">", Operator::More),
            ("<", Operator::Less),
        ] {
            if pattern.starts_with(prefix) {
                return op;
            }
        }
        if let Some((lo, hi)) = captures(&NOT_IN_RANGE, pattern) {
            return Operator::NotInRange(lo, hi);
        }
        if pattern.starts_with('!') {
            return Operator::NotEqual;
        }
        if let Some((lo, hi)) = captures(&IN_RANGE, pattern) {
            return Operator::InRange(lo, hi);
        }
        Operator::Equal
    }

    /// Length of the textual prefix to strip before the operand.
    pub fn prefix_len(self) -> usize {
        match self {
            Operator::MoreEqual | Operator::LessEqual => 2,
            Operator::More | Operator::Less | Operator::NotEqual => 1,
            _ => 0,
        }
    }
}

fn captures<'a>(re: &LazyLock<Option<Regex>>, pattern: &'a str) -> Option<(&'a str, &'a str)> {
    // A range starts with a number; most patterns do not, and skip the regex.
    let digits = pattern.strip_prefix('-').unwrap_or(pattern);
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let caps = re.as_ref()?.captures(pattern)?;
    Some((caps.get(1)?.as_str(), caps.get(2)?.as_str()))
}
