//! Go's textual forms of `float64`, which leak into Kyverno's results.
//!
//! `fmt.Sprintf("%v", f)` (used by Kyverno for quantity arithmetic and variable substitution)
//! and `strconv.FormatFloat(f, 'f', -1, 32)` (used to turn numbers into strings for the regex
//! functions) differ from Rust's `Display`, so they are reproduced here.

/// Shortest round-trip digits and decimal exponent of a finite, non-zero `f`:
/// `f = 0.d1d2d3... * 10^(exp+1)`, i.e. `exp` is the exponent in `d1.d2d3 e exp`.
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Formats like Go's `%v` for a `float64`: shortest digits, `%e` style when the exponent is
/// below -4 or at least 6 (e.g. `1e+06`, `1.5`, `100000`, `1e-05`).
pub fn format_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, exp) = shortest_digits(f);
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.unsigned_abs());
    }
    format!("{sign}{}", place_point(&digits, exp))
}

/// Writes `digits` (d1.d2d3 × 10^exp) as a plain decimal without exponent.
fn place_point(digits: &str, exp: i32) -> String {
    let nd = digits.len() as i64;
    let int_len = i64::from(exp) + 1;
    if int_len <= 0 {
        let zeros = "0".repeat(usize::try_from(-int_len).unwrap_or(0));
        return format!("0.{zeros}{digits}");
    }
    if int_len >= nd {
        let zeros = "0".repeat(usize::try_from(int_len - nd).unwrap_or(0));
        return format!("{digits}{zeros}");
    }
    let (a, b) = digits.split_at(usize::try_from(int_len).unwrap_or(0));
    format!("{a}.{b}")
}

/// Formats like Go's `strconv.FormatFloat(f, 'f', -1, 32)`: the value narrowed to `float32`,
/// shortest digits, never an exponent.
pub fn format_f32_plain(f: f64) -> String {
    let narrowed = f as f32;
    if narrowed.is_nan() {
        return "NaN".to_string();
    }
    if narrowed.is_infinite() {
        return if narrowed > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    // Rust's Display for f32 is shortest round-trip without exponent, like Go's 'f', -1.
    format!("{narrowed}")
}

/// Formats like Go's `encoding/json` for a `float64` (`1e+21`, `0.000001`, `1e-7`).
pub fn format_json(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    let (digits, exp) = shortest_digits(f);
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-6..21).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{}", exp.unsigned_abs());
    }
    format!("{sign}{}", place_point(&digits, exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_table() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (-2.0, "-2"),
            (0.5, "0.5"),
            (1.5, "1.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (0.1, "0.1"),
            (123.456, "123.456"),
        ];
        for (f, want) in cases {
            assert_eq!(format_v(*f), *want, "{f}");
        }
    }

    #[test]
    fn f32_table() {
        let cases: &[(f64, &str)] = &[
            (123.0, "123"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e10, "10000000000"),
            (-3.25, "-3.25"),
        ];
        for (f, want) in cases {
            assert_eq!(format_f32_plain(*f), *want, "{f}");
        }
    }

    #[test]
    fn json_table() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
        ];
        for (f, want) in cases {
            assert_eq!(format_json(*f), *want, "{f}");
        }
    }
}
