//! Go's `time.ParseDuration` and `time.Duration.String()`.
//!
//! A duration is a signed count of nanoseconds in an `i64`, as in Go.

use thiserror::Error;

/// Nanoseconds in one microsecond, millisecond, second, minute and hour.
const NS_US: u64 = 1_000;
const NS_MS: u64 = 1_000_000;
const NS_S: u64 = 1_000_000_000;
const NS_M: u64 = 60 * NS_S;
const NS_H: u64 = 60 * NS_M;

/// Why a duration string was rejected; messages match Go's `time` package.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// The text is not a duration at all, or it overflows `i64` nanoseconds.
    #[error("time: invalid duration {0:?}")]
    Invalid(String),
    /// A number had no unit after it (`"1"`).
    #[error("time: missing unit in duration {0:?}")]
    MissingUnit(String),
    /// The unit is not one of ns, us, µs, ms, s, m, h.
    #[error("time: unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The unit found.
        unit: String,
        /// The whole input.
        input: String,
    },
}

fn unit_ns(unit: &str) -> Option<u64> {
    match unit {
        "ns" => Some(1),
        // U+00B5 micro sign and U+03BC Greek mu are both accepted by Go.
        "us" | "\u{b5}s" | "\u{3bc}s" => Some(NS_US),
        "ms" => Some(NS_MS),
        "s" => Some(NS_S),
        "m" => Some(NS_M),
        "h" => Some(NS_H),
        _ => None,
    }
}

/// Parses a Go duration string such as `"1h30m"`, `"-1.5h"` or `"300ms"` into nanoseconds.
pub fn parse_duration(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let mut s = input;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let first = s.as_bytes().first().copied().unwrap_or(0);
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let (whole, rest, pre) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if let Some(rest) = s.strip_prefix('.') {
            let (f, sc, rest2, any) = leading_fraction(rest);
            frac = f;
            scale = sc;
            post = any;
            s = rest2;
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_end = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        if unit_end == 0 {
            return Err(DurationError::MissingUnit(input.to_string()));
        }
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        let per = unit_ns(unit).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_string(),
            input: input.to_string(),
        })?;
        let mut v = whole.checked_mul(per).ok_or_else(invalid)?;
        if frac > 0 {
            // Go computes the fractional part in float64; keep the same rounding.
            let add = (frac as f64 * (per as f64 / scale)) as u64;
            v = v.checked_add(add).ok_or_else(invalid)?;
            if v > 1 << 63 {
                return Err(invalid());
            }
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > 1 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        if total == 1 << 63 {
            return Ok(i64::MIN);
        }
        return Ok(-(total as i64));
    }
    if total > i64::MAX as u64 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// Leading decimal integer: value, rest, and whether any digit was read. `None` on overflow.
fn leading_int(s: &str) -> Option<(u64, &str, bool)> {
    let mut v: u64 = 0;
    let mut i = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        if v > (1 << 63) / 10 {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
        if v > 1 << 63 {
            return None;
        }
        i += 1;
    }
    Some((v, &s[i..], i > 0))
}

/// Fraction digits after '.': value, scale (10^digits kept), rest, whether any digit was read.
/// Digits beyond what fits are dropped, as Go does.
fn leading_fraction(s: &str) -> (u64, f64, &str, bool) {
    let mut v: u64 = 0;
    let mut scale = 1.0;
    let mut overflow = false;
    let mut i = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        i += 1;
        if overflow {
            continue;
        }
        if v > (i64::MAX as u64) / 10 {
            overflow = true;
            continue;
        }
        let y = v * 10 + u64::from(b - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        v = y;
        scale *= 10.0;
    }
    (v, scale, &s[i..], i > 0)
}

/// Formats nanoseconds like Go's `Duration.String()`: `"1h30m0s"`, `"1.5s"`, `"2µs"`, `"0s"`.
pub fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0s".to_string();
    }
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < NS_S {
        let (unit, prec) = if u < NS_US {
            ("ns", 0)
        } else if u < NS_MS {
            ("\u{b5}s", 3)
        } else {
            ("ms", 6)
        };
        let (frac, rest) = frac_part(u, prec);
        out.push_str(&rest.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (frac, secs) = frac_part(u, 9);
        u = secs;
        let mut parts = format!("{}{}s", u % 60, frac);
        u /= 60;
        if u > 0 {
            parts = format!("{}m{}", u % 60, parts);
            u /= 60;
            if u > 0 {
                parts = format!("{u}h{parts}");
            }
        }
        out.push_str(&parts);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Splits off `prec` decimal digits: returns ".ddd" without trailing zeros (or "") and the rest.
fn frac_part(v: u64, prec: u32) -> (String, u64) {
    let mut digits = Vec::new();
    let mut v = v;
    let mut printing = false;
    for _ in 0..prec {
        let digit = v % 10;
        printing = printing || digit != 0;
        if printing {
            digits.push(char::from(b'0' + digit as u8));
        }
        v /= 10;
    }
    if digits.is_empty() {
        return (String::new(), v);
    }
    digits.reverse();
    let mut s = String::from(".");
    s.extend(digits);
    (s, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("1h30m", 5_400_000_000_000),
            ("-1.5h", -5_400_000_000_000),
            ("300ms", 300_000_000),
            ("2us", 2_000),
            ("2\u{b5}s", 2_000),
            ("2\u{3bc}s", 2_000),
            ("1.5s", 1_500_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("1h1m1s1ms1us1ns", 3_661_001_001_001),
            ("+5s", 5_000_000_000),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input), Ok(*want), "{input}");
        }
    }

    #[test]
    fn parse_errors() {
        for input in [
            "",
            "1",
            ".s",
            "s",
            "1x",
            "-",
            "9223372036854775808ns",
            "3000000h",
            "1.5",
        ] {
            assert!(parse_duration(input).is_err(), "{input}");
        }
        assert_eq!(
            parse_duration("1").unwrap_err().to_string(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_duration("1d").unwrap_err().to_string(),
            "time: unknown unit \"d\" in duration \"1d\""
        );
    }

    #[test]
    fn format_table() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1\u{b5}s"),
            (2_200_000, "2.2ms"),
            (1_500_000_000, "1.5s"),
            (5_400_000_000_000, "1h30m0s"),
            (-5_400_000_000_000, "-1h30m0s"),
            (61_000_000_000, "1m1s"),
            (3_661_001_001_001, "1h1m1.001001001s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(*d), *want);
        }
    }
}
