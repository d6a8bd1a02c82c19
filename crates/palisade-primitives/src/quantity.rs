//! Kubernetes `resource.Quantity`: parsing, exact decimal arithmetic and canonical printing.
//!
//! A value is `mantissa × 10^exp10` held in an `i128`, which covers every quantity a cluster
//! uses (up to about 10^38 at nano precision). Inputs beyond that give
//! [`QuantityError::OutOfRange`] instead of allocating a huge number as Go would.
//! The scale is kept the way Go keeps it (not normalised), because Kyverno's `divide` rounds
//! at the larger of its operands' scales.

use std::cmp::Ordering;
use std::fmt;

use thiserror::Error;

/// The largest decimal exponent accepted in `1eN`; far beyond any real quantity.
const MAX_EXPONENT: i64 = 1000;

/// How a quantity prints (apimachinery's `Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `1e3`-style exponents.
    DecimalExponent,
    /// Powers of 1024: `Ki`, `Mi`, ... `Ei`.
    BinarySi,
    /// Powers of 1000: `n`, `u`, `m`, `k`, `M`, ... `E`.
    DecimalSi,
}

/// Why a quantity could not be parsed or computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// The text does not have the shape of a quantity.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    /// The suffix is not a known unit.
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The numeric part could not be read.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The value is too large (or too precise) to hold exactly.
    #[error("quantity is out of the supported range")]
    OutOfRange,
    /// Division by zero.
    #[error("division by zero")]
    DivisionByZero,
}

/// A Kubernetes resource quantity such as `100Mi`, `0.5` or `500m`.
#[derive(Debug, Clone)]
pub struct Quantity {
    mantissa: i128,
    exp10: i32,
    format: Format,
    /// Go keeps the original text for inputs already in canonical form; `String()` returns it.
    original: Option<String>,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_value(other) == Ordering::Equal
    }
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Scales `m × 10^from` to exponent `to` (`to <= from`), if it fits.
fn rescale(m: i128, from: i32, to: i32) -> Option<i128> {
    let diff = u32::try_from(i64::from(from) - i64::from(to)).ok()?;
    m.checked_mul(pow10(diff)?)
}

fn suffix_of(suffix: &str) -> Option<(u32, i64, Format)> {
    let (base, exp, fmt) = match suffix {
        "" => (10, 0, Format::DecimalSi),
        "n" => (10, -9, Format::DecimalSi),
        "u" => (10, -6, Format::DecimalSi),
        "m" => (10, -3, Format::DecimalSi),
        "k" => (10, 3, Format::DecimalSi),
        "M" => (10, 6, Format::DecimalSi),
        "G" => (10, 9, Format::DecimalSi),
        "T" => (10, 12, Format::DecimalSi),
        "P" => (10, 15, Format::DecimalSi),
        "E" => (10, 18, Format::DecimalSi),
        "Ki" => (2, 10, Format::BinarySi),
        "Mi" => (2, 20, Format::BinarySi),
        "Gi" => (2, 30, Format::BinarySi),
        "Ti" => (2, 40, Format::BinarySi),
        "Pi" => (2, 50, Format::BinarySi),
        "Ei" => (2, 60, Format::BinarySi),
        s if s.len() > 1 && (s.starts_with('e') || s.starts_with('E')) => {
            let exp: i64 = s[1..].parse().ok()?;
            (10, exp, Format::DecimalExponent)
        }
        _ => return None,
    };
    Some((base, exp, fmt))
}

/// The pieces of a quantity string, split as apimachinery's `parseQuantityString` does.
struct Parts<'a> {
    positive: bool,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

fn split_parts(s: &str) -> Result<Parts<'_>, QuantityError> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut positive = true;
    match b.first() {
        Some(b'-') => {
            positive = false;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    // Leading zeros are dropped; an all-zero (or empty) number is "0".
    while pos < b.len() && b[pos] == b'0' {
        pos += 1;
    }
    let num_start = pos;
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = if pos == num_start {
        "0"
    } else {
        &s[num_start..pos]
    };
    let mut denom = "";
    if pos < b.len() && b[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[start..pos];
    }
    let suffix_start = pos;
    while pos < b.len() && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < b.len() && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos != b.len() {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Parts {
        positive,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

impl Quantity {
    /// Parses a quantity exactly as `resource.ParseQuantity` does.
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        if s == "0" {
            return Ok(Quantity::zero_with(Format::DecimalSi, Some(s.to_string())));
        }
        let p = split_parts(s)?;
        let (base, exponent, format) = suffix_of(p.suffix).ok_or(QuantityError::Suffix)?;
        if exponent.abs() > MAX_EXPONENT || p.num.len() + p.denom.len() > 36 {
            return Err(QuantityError::OutOfRange);
        }
        if let Some(q) = Self::parse_fast(s, &p, base, exponent, format) {
            return Ok(q);
        }
        Self::parse_slow(&p, base, exponent, format)
    }

    /// apimachinery's int64 fast path; it also decides when Go keeps the original text.
    fn parse_fast(
        s: &str,
        p: &Parts<'_>,
        base: u32,
        exponent: i64,
        format: Format,
    ) -> Option<Self> {
        let digits = (p.num.len() + p.denom.len()) as i64;
        let (precision, mut scale, multiplier) = if base == 10 {
            (18 - digits, exponent, 1i64)
        } else if exponent >= 0 && p.denom.is_empty() {
            let prec = 15 - p.num.len() as i64 - ((exponent as f32) * 3.0 / 10.0) as i64 - 1;
            (prec, 0, 1i64.checked_shl(u32::try_from(exponent).ok()?)?)
        } else {
            return None;
        };
        if precision < 0 {
            return None;
        }
        scale -= p.denom.len() as i64;
        if scale < -9 {
            return None;
        }
        let shifted = format!("{}{}", p.num, p.denom);
        let value: i64 = shifted.parse().ok()?;
        let mut result = value.checked_mul(multiplier)?;
        if !p.positive {
            result = -result;
        }
        let canonical = match format {
            Format::BinarySi => exponent % 10 == 0 && value & 7 != 0,
            _ => scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0'),
        };
        Some(Quantity {
            mantissa: i128::from(result),
            exp10: i32::try_from(scale).ok()?,
            format,
            original: canonical.then(|| s.to_string()),
        })
    }

    fn parse_slow(
        p: &Parts<'_>,
        base: u32,
        exponent: i64,
        format: Format,
    ) -> Result<Self, QuantityError> {
        let digits = format!("{}{}", p.num, p.denom);
        let mut m: i128 = digits.parse().map_err(|_| QuantityError::Numeric)?;
        let mut e = -(p.denom.len() as i64);
        if base == 10 {
            e += exponent;
        } else {
            let shift = u32::try_from(exponent).map_err(|_| QuantityError::OutOfRange)?;
            let factor = 1i128.checked_shl(shift).ok_or(QuantityError::OutOfRange)?;
            m = m.checked_mul(factor).ok_or(QuantityError::OutOfRange)?;
        }
        let mut e = i32::try_from(e).map_err(|_| QuantityError::OutOfRange)?;
        if m != 0 {
            // Round up (away from zero) to nano precision, and hold the value at scale 9 as Go's
            // inf.Dec does after `Round(.., 9, RoundUp)`.
            if e < -9 {
                let div =
                    pow10(u32::try_from(-9 - i64::from(e)).map_err(|_| QuantityError::OutOfRange)?)
                        .ok_or(QuantityError::OutOfRange)?;
                m = m / div + i128::from(m % div != 0);
            } else {
                m = rescale(m, e, -9).ok_or(QuantityError::OutOfRange)?;
            }
            e = -9;
        }
        let mut q = Quantity {
            mantissa: m,
            exp10: e,
            format,
            original: None,
        };
        if format == Format::BinarySi
            && q.cmp_value(&Quantity::from_i64(i64::MAX, format)) == Ordering::Greater
        {
            q = Quantity::from_i64(i64::MAX, format);
        }
        if format == Format::BinarySi
            && q.mantissa != 0
            && q.cmp_value(&Quantity::from_i64(1, format)) == Ordering::Less
        {
            q.format = Format::DecimalSi;
        }
        if !p.positive {
            q.mantissa = -q.mantissa;
        }
        Ok(q)
    }

    fn zero_with(format: Format, original: Option<String>) -> Self {
        Quantity {
            mantissa: 0,
            exp10: 0,
            format,
            original,
        }
    }

    /// `resource.NewQuantity(value, format)`.
    pub fn from_i64(value: i64, format: Format) -> Self {
        Quantity {
            mantissa: i128::from(value),
            exp10: 0,
            format,
            original: None,
        }
    }

    /// The print format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True when the value is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// The number of decimal places Go's `AsDec().Scale()` reports (may be negative).
    pub fn dec_scale(&self) -> i32 {
        -self.exp10
    }

    /// `AsApproximateFloat64`.
    pub fn to_f64(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exp10)
    }

    /// Compares the values (ignoring format).
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        let to = self.exp10.min(other.exp10);
        match (
            rescale(self.mantissa, self.exp10, to),
            rescale(other.mantissa, other.exp10, to),
        ) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self
                .to_f64()
                .partial_cmp(&other.to_f64())
                .unwrap_or(Ordering::Equal),
        }
    }

    fn combine(&self, other: &Quantity, negate: bool) -> Result<Quantity, QuantityError> {
        let to = self.exp10.min(other.exp10);
        let a = rescale(self.mantissa, self.exp10, to).ok_or(QuantityError::OutOfRange)?;
        let mut b = rescale(other.mantissa, other.exp10, to).ok_or(QuantityError::OutOfRange)?;
        if negate {
            b = -b;
        }
        let format = if self.is_zero() {
            other.format
        } else {
            self.format
        };
        let mantissa = a.checked_add(b).ok_or(QuantityError::OutOfRange)?;
        Ok(Quantity {
            mantissa,
            exp10: to,
            format,
            original: None,
        })
    }

    /// `q.Add(y)`: the format is the receiver's unless the receiver is zero.
    pub fn add(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        self.combine(other, false)
    }

    /// `q.Sub(y)`.
    pub fn sub(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        self.combine(other, true)
    }

    /// The exact product, in the receiver's format (`inf.Dec.Mul` + `NewDecimalQuantity`).
    pub fn mul(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        let mantissa = self
            .mantissa
            .checked_mul(other.mantissa)
            .ok_or(QuantityError::OutOfRange)?;
        let exp10 = self
            .exp10
            .checked_add(other.exp10)
            .ok_or(QuantityError::OutOfRange)?;
        Ok(Quantity {
            mantissa,
            exp10,
            format: self.format,
            original: None,
        })
    }

    /// `inf.Dec.QuoRound(self, other, scale, RoundDown)`: the quotient truncated toward zero
    /// at `scale` decimal places, in the receiver's format.
    pub fn quo_round_down(&self, other: &Quantity, scale: i32) -> Result<Quantity, QuantityError> {
        if other.is_zero() {
            return Err(QuantityError::DivisionByZero);
        }
        let k = i64::from(self.exp10) - i64::from(other.exp10) + i64::from(scale);
        let (n, d) = if k >= 0 {
            let f = pow10(u32::try_from(k).map_err(|_| QuantityError::OutOfRange)?)
                .ok_or(QuantityError::OutOfRange)?;
            (
                self.mantissa
                    .checked_mul(f)
                    .ok_or(QuantityError::OutOfRange)?,
                other.mantissa,
            )
        } else {
            let f = pow10(u32::try_from(-k).map_err(|_| QuantityError::OutOfRange)?)
                .ok_or(QuantityError::OutOfRange)?;
            (
                self.mantissa,
                other
                    .mantissa
                    .checked_mul(f)
                    .ok_or(QuantityError::OutOfRange)?,
            )
        };
        Ok(Quantity {
            mantissa: n / d,
            exp10: -scale,
            format: self.format,
            original: None,
        })
    }

    /// The canonical text, as Go's `Quantity.String()`.
    pub fn canonical(&self) -> String {
        if let Some(s) = &self.original {
            return s.clone();
        }
        if self.mantissa == 0 {
            return "0".to_string();
        }
        if self.format == Format::BinarySi {
            let limit = Quantity::from_i64(1024, Format::DecimalSi);
            let neg_limit = Quantity::from_i64(-1024, Format::DecimalSi);
            let small = self.cmp_value(&limit) == Ordering::Less
                && self.cmp_value(&neg_limit) == Ordering::Greater;
            if !small && let Some(v) = self.integer_value() {
                return binary_text(v);
            }
        }
        self.decimal_text()
    }

    /// The value as an exact integer, if it is one and fits.
    fn integer_value(&self) -> Option<i128> {
        if self.exp10 >= 0 {
            return rescale(self.mantissa, self.exp10, 0);
        }
        let d = pow10(u32::try_from(-self.exp10).ok()?)?;
        (self.mantissa % d == 0).then(|| self.mantissa / d)
    }

    fn decimal_text(&self) -> String {
        let mut m = self.mantissa;
        let mut e = i64::from(self.exp10);
        while m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        while e % 3 != 0 {
            match m.checked_mul(10) {
                Some(v) => m = v,
                None => return format!("{m}e{e}"),
            }
            e -= 1;
        }
        let suffix = if self.format == Format::DecimalExponent {
            if e == 0 {
                String::new()
            } else {
                format!("e{e}")
            }
        } else {
            match e {
                -9 => "n".into(),
                -6 => "u".into(),
                -3 => "m".into(),
                0 => String::new(),
                3 => "k".into(),
                6 => "M".into(),
                9 => "G".into(),
                12 => "T".into(),
                15 => "P".into(),
                18 => "E".into(),
                _ => format!("e{e}"),
            }
        };
        format!("{m}{suffix}")
    }
}

fn binary_text(mut v: i128) -> String {
    const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let mut exp = 0;
    while v != 0 && v % 1024 == 0 && exp < 6 {
        v /= 1024;
        exp += 1;
    }
    format!("{v}{}", SUFFIXES[exp])
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn canonical_forms() {
        let cases: &[(&str, &str)] = &[
            ("0", "0"),
            ("100Mi", "100Mi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("0.5", "500m"),
            ("500m", "500m"),
            ("1000m", "1"),
            ("1500", "1500"),
            ("2000", "2k"),
            ("1.5k", "1500"),
            ("1e3", "1e3"),
            ("1E3", "1E3"),
            ("1.0e3", "1e3"),
            ("12E", "12E"),
            ("-1Gi", "-1Gi"),
            ("1Ki", "1Ki"),
            ("1.5Ki", "1536"),
            ("0.1n", "1n"),
            ("0.0000000001", "1n"),
            ("100n", "100n"),
            ("5.0", "5"),
            ("512", "512"),
            ("0.001Ki", "1024m"),
            ("1Mi", "1Mi"),
            ("Mi", "0"),
        ];
        for (input, want) in cases {
            assert_eq!(q(input).canonical(), *want, "{input}");
        }
    }

    #[test]
    fn parse_errors() {
        for input in [
            "", "1K", "1.1.M", "aoeu", "1 ", " 1", "1Kii", "1e", "0.1mi", "1e999999", "1s",
        ] {
            assert!(Quantity::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn compare() {
        assert_eq!(q("1Gi").cmp_value(&q("1024Mi")), Ordering::Equal);
        assert_eq!(q("500m").cmp_value(&q("0.5")), Ordering::Equal);
        assert_eq!(q("1k").cmp_value(&q("999")), Ordering::Greater);
        assert_eq!(q("-1").cmp_value(&q("1m")), Ordering::Less);
        assert!(q("2Gi") == q("2048Mi"));
    }

    #[test]
    fn arithmetic() {
        assert_eq!(q("1Gi").add(&q("512Mi")).unwrap().canonical(), "1536Mi");
        assert_eq!(q("1Gi").sub(&q("1Gi")).unwrap().canonical(), "0");
        assert_eq!(q("100m").add(&q("900m")).unwrap().canonical(), "1");
        assert_eq!(q("0").add(&q("1Ki")).unwrap().canonical(), "1Ki");
        assert_eq!(q("1Ki").mul(&q("2")).unwrap().canonical(), "2Ki");
        assert_eq!(
            q("2k").quo_round_down(&q("3"), 0).unwrap().canonical(),
            "666"
        );
        assert_eq!(
            q("100m").quo_round_down(&q("3"), 3).unwrap().canonical(),
            "33m"
        );
        assert!(q("1").quo_round_down(&q("0"), 0).is_err());
        assert!((q("1Gi").to_f64() - 1073741824.0).abs() < 1e-6);
    }
}
