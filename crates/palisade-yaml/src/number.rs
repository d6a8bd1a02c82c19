//! Go's number syntax and formatting (`strconv.ParseInt(s, 0, 64)`, `ParseFloat`,
//! `FormatFloat(f, 'g', -1, bits)`), which go-yaml v2 relies on.

/// Why Go's integer parser rejected a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntError {
    /// Not an integer literal.
    Syntax,
    /// A valid literal that does not fit in 64 bits.
    Range,
}

/// Splits a Go base-0 literal (no sign) into its radix and digits.
fn radix_and_digits(s: &str) -> (u32, &str) {
    let b = s.as_bytes();
    if b.first() != Some(&b'0') {
        return (10, s);
    }
    if b.len() >= 3 {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') => return (2, &s[2..]),
            Some(b'o') => return (8, &s[2..]),
            Some(b'x') => return (16, &s[2..]),
            _ => {}
        }
    }
    (8, &s[1..])
}

/// Go's `strconv.ParseUint(s, 0, 64)` for a string without underscores.
pub(crate) fn parse_uint(s: &str) -> Result<u64, IntError> {
    if s.is_empty() {
        return Err(IntError::Syntax);
    }
    let (radix, digits) = radix_and_digits(s);
    let mut n: u64 = 0;
    for c in digits.chars() {
        let d = c
            .to_digit(36)
            .filter(|d| *d < radix)
            .ok_or(IntError::Syntax)?;
        // Go reports overflow as soon as it happens, before looking at later digits.
        n = n
            .checked_mul(u64::from(radix))
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or(IntError::Range)?;
    }
    Ok(n)
}

/// Go's `strconv.ParseInt(s, 0, 64)` for a string without underscores.
pub(crate) fn parse_int(s: &str) -> Result<i64, IntError> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let un = parse_uint(rest)?;
    if neg {
        0i64.checked_sub_unsigned(un).ok_or(IntError::Range)
    } else {
        i64::try_from(un).map_err(|_| IntError::Range)
    }
}

/// The value of an unsigned literal too large for 64 bits (Go's `big.Int.SetString(s, 0)`),
/// as the nearest `f64`: that is what its JSON text becomes when read back.
pub(crate) fn parse_big_uint(s: &str) -> Option<f64> {
    let (radix, digits) = radix_and_digits(s);
    if digits.is_empty() {
        return None;
    }
    let mut n = 0f64;
    for c in digits.chars() {
        let d = c.to_digit(36).filter(|d| *d < radix)?;
        n = n * f64::from(radix) + f64::from(d);
    }
    Some(n)
}

/// Counts a run of ASCII digits at the start of `b`.
fn digit_run(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Matches go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
pub(crate) fn is_yaml_style_float(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(b'+' | b'-') = b.first() {
        b = &b[1..];
    }
    if let Some(b'.') = b.first() {
        let n = digit_run(&b[1..]);
        if n == 0 {
            return false;
        }
        b = &b[1 + n..];
    } else {
        let n = digit_run(b);
        if n == 0 {
            return false;
        }
        b = &b[n..];
        if let Some(b'.') = b.first() {
            b = &b[1 + digit_run(&b[1..])..];
        }
    }
    if let Some(b'e' | b'E') = b.first() {
        b = &b[1..];
        if let Some(b'+' | b'-') = b.first() {
            b = &b[1..];
        }
        let n = digit_run(b);
        if n == 0 {
            return false;
        }
        b = &b[n..];
    }
    b.is_empty()
}

/// Go's `strconv.ParseFloat(s, 64)` for a decimal literal without a sign that starts with
/// `.` (the only shape go-yaml passes it unchanged). Overflow (`1e400`) is `None`, as Go
/// returns an error for it. Underscores are allowed between digits, as in Go.
pub(crate) fn parse_dot_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut prev_digit = false;
    for (i, c) in b.iter().enumerate() {
        if *c == b'_' {
            let next_digit = b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !prev_digit || !next_digit {
                return None;
            }
        }
        prev_digit = c.is_ascii_digit();
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if !is_yaml_style_float(&plain) {
        return None;
    }
    parse_finite(&plain)
}

/// Parses a literal that matched [`is_yaml_style_float`]; `None` when it overflows.
pub(crate) fn parse_finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, or with `bits32` the 32-bit variant that
/// sigs.k8s.io/yaml uses for float mapping keys. Non-finite values give Go's `+Inf`,
/// `-Inf` and `NaN`.
pub(crate) fn format_go_g(v: f64, bits32: bool) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, like Go's shortest mode.
    #[allow(clippy::cast_possible_truncation)]
    let sci = if bits32 {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (neg, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci.as_str()),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
    } else if !(-4..6).contains(&exp) {
        push_exponent_form(&mut out, &digits, exp);
    } else {
        push_fixed_form(&mut out, &digits, exp);
    }
    out
}

/// `d.ddde+XX` with at least two exponent digits, as Go writes it.
fn push_exponent_form(out: &mut String, digits: &str, exp: i64) {
    let (first, rest) = digits.split_at(1);
    out.push_str(first);
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let mag = exp.unsigned_abs();
    if mag < 10 {
        out.push('0');
    }
    out.push_str(&mag.to_string());
}

/// Plain decimal notation for `0.d1d2... * 10^(exp+1)`, without trailing zeros.
fn push_fixed_form(out: &mut String, digits: &str, exp: i64) {
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(digits);
        return;
    }
    let point = usize::try_from(point).unwrap_or(0);
    if digits.len() <= point {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', point - digits.len()));
    } else {
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_int_parsing() {
        let cases: &[(&str, Result<i64, IntError>)] = &[
            ("0", Ok(0)),
            ("-0", Ok(0)),
            ("+12", Ok(12)),
            ("0755", Ok(493)),
            ("0o17", Ok(15)),
            ("0O17", Ok(15)),
            ("0x1F", Ok(31)),
            ("0X1f", Ok(31)),
            ("-0x1F", Ok(-31)),
            ("0b101", Ok(5)),
            ("-0b11", Ok(-3)),
            ("08", Err(IntError::Syntax)),
            ("0x", Err(IntError::Syntax)),
            ("0b", Err(IntError::Syntax)),
            ("", Err(IntError::Syntax)),
            ("+", Err(IntError::Syntax)),
            ("9223372036854775807", Ok(i64::MAX)),
            ("-9223372036854775808", Ok(i64::MIN)),
            ("9223372036854775808", Err(IntError::Range)),
            ("99999999999999999999", Err(IntError::Range)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_int(s), *want, "{s}");
        }
        assert_eq!(parse_uint("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_uint("18446744073709551616"), Err(IntError::Range));
        assert_eq!(parse_uint("+1"), Err(IntError::Syntax));
    }

    #[test]
    fn yaml_style_float_regex() {
        for s in [
            "1.5", "1.", ".5", "-.5", "+1e3", "1E-3", "1.e5", "0755", "12",
        ] {
            assert!(is_yaml_style_float(s), "{s}");
        }
        for s in [
            "", ".", "e3", "1e", "1.5.", "0x1p3", "1_0", "inf", "1e+", "--1",
        ] {
            assert!(!is_yaml_style_float(s), "{s}");
        }
    }

    #[test]
    fn dot_floats() {
        assert_eq!(parse_dot_float(".5"), Some(0.5));
        assert_eq!(parse_dot_float(".5e3"), Some(500.0));
        assert_eq!(parse_dot_float(".5_5"), Some(0.55));
        assert_eq!(parse_dot_float("._5"), None);
        assert_eq!(parse_dot_float(".5_"), None);
        assert_eq!(parse_dot_float(".1e999"), None);
        assert_eq!(parse_dot_float(".inf"), None);
    }

    #[test]
    fn go_g_formatting() {
        let cases: &[(f64, bool, &str)] = &[
            (0.0, false, "0"),
            (-0.0, false, "-0"),
            (1.5, false, "1.5"),
            (100000.0, false, "100000"),
            (1e6, false, "1e+06"),
            (1234567.5, false, "1.2345675e+06"),
            (0.0001, false, "0.0001"),
            (0.00001, false, "1e-05"),
            (1e21, false, "1e+21"),
            (1e100, false, "1e+100"),
            (-2.5e-7, false, "-2.5e-07"),
            (0.1, true, "0.1"),
            (12345678.9, true, "1.2345679e+07"),
            (1000.0, true, "1000"),
            (f64::INFINITY, true, "+Inf"),
            (f64::NAN, false, "NaN"),
        ];
        for (v, bits32, want) in cases {
            assert_eq!(format_go_g(*v, *bits32), *want, "{v}");
        }
    }

    #[test]
    fn big_uints() {
        assert_eq!(
            parse_big_uint("0x10000000000000000"),
            Some(18446744073709551616.0)
        );
        assert_eq!(parse_big_uint("0xZZ"), None);
    }
}
