//! Exact decimals `num × 10^scale` for quantities, with Kubernetes' nano rounding.

use std::cmp::Ordering;

/// Finest precision Kubernetes keeps (nano).
const MIN_SCALE: i32 = -9;

/// An exact decimal value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dec {
    pub num: i128,
    pub scale: i32,
}

fn pow10(n: i32) -> Option<i128> {
    u32::try_from(n).ok().and_then(|n| 10i128.checked_pow(n))
}

/// Divides rounding half away from zero.
fn round_div(a: i128, b: i128) -> Option<i128> {
    let (q, r) = (a.checked_div(b)?, a.checked_rem(b)?);
    let twice = r.checked_abs()?.checked_mul(2)?;
    if twice >= b.checked_abs()? {
        q.checked_add(a.signum() * b.signum())
    } else {
        Some(q)
    }
}

impl Dec {
    pub(crate) fn new(num: i128, scale: i32) -> Option<Dec> {
        Dec { num, scale }.normalized()
    }

    /// Rounds up (away from zero) below nano precision, as resource.Quantity does.
    fn normalized(mut self) -> Option<Dec> {
        if self.scale < MIN_SCALE {
            let d = pow10(MIN_SCALE - self.scale)?;
            let (quot, rem) = (self.num / d, self.num % d);
            self.num = quot + rem.signum();
            self.scale = MIN_SCALE;
        }
        if self.num == 0 {
            self.scale = 0;
        }
        Some(self)
    }

    /// Both values at their common (smaller) scale, or `None` on overflow.
    fn align(self, other: Dec) -> Option<(i128, i128, i32)> {
        let scale = self.scale.min(other.scale);
        let x = self.num.checked_mul(pow10(self.scale - scale)?)?;
        let y = other.num.checked_mul(pow10(other.scale - scale)?)?;
        Some((x, y, scale))
    }

    pub(crate) fn approx(self) -> f64 {
        // Dividing by an exact power of ten rounds once, so 33333333e-4 gives 3333.3333.
        if self.scale < 0 {
            self.num as f64 / 10f64.powi(-self.scale)
        } else {
            self.num as f64 * 10f64.powi(self.scale)
        }
    }

    pub(crate) fn cmp(self, other: Dec) -> Ordering {
        match self.align(other) {
            Some((x, y, _)) => x.cmp(&y),
            None => self.approx().total_cmp(&other.approx()),
        }
    }

    pub(crate) fn add(self, other: Dec) -> Option<Dec> {
        let (x, y, scale) = self.align(other)?;
        Dec::new(x.checked_add(y)?, scale)
    }

    pub(crate) fn sub(self, other: Dec) -> Option<Dec> {
        let (x, y, scale) = self.align(other)?;
        Dec::new(x.checked_sub(y)?, scale)
    }

    pub(crate) fn mul(self, k: i64) -> Option<Dec> {
        Dec::new(self.num.checked_mul(i128::from(k))?, self.scale)
    }

    /// `self / k` rounded half away from zero to `places` decimal places.
    pub(crate) fn div_round(self, k: i64, places: i32) -> Option<Dec> {
        let e = self.scale + places;
        let numer = self.num.checked_mul(pow10(e.max(0))?)?;
        let denom = i128::from(k).checked_mul(pow10((-e).max(0))?)?;
        Dec::new(round_div(numer, denom)?, -places)
    }

    /// Integer part of `self / k` (truncated toward zero).
    pub(crate) fn div_int(self, k: i64) -> Option<Dec> {
        let numer = self.num.checked_mul(pow10(self.scale.max(0))?)?;
        let denom = i128::from(k).checked_mul(pow10((-self.scale).max(0))?)?;
        Dec::new(numer.checked_div(denom)?, 0)
    }

    /// The exact value as an i64, if it is an integer in range.
    pub(crate) fn as_i64(self) -> Option<i64> {
        let v = if self.scale >= 0 {
            self.num.checked_mul(pow10(self.scale)?)?
        } else {
            let d = pow10(-self.scale)?;
            if self.num % d != 0 {
                return None;
            }
            self.num / d
        };
        i64::try_from(v).ok()
    }

    /// Plain decimal text (exponent form for very large values).
    pub(crate) fn render(self) -> String {
        let sign = if self.num < 0 { "-" } else { "" };
        let digits = self.num.unsigned_abs().to_string();
        if self.scale >= 0 {
            return if self.scale <= 18 {
                format!("{sign}{digits}{}", "0".repeat(self.scale as usize))
            } else {
                format!("{sign}{digits}e{}", self.scale)
            };
        }
        let places = (-self.scale) as usize;
        let padded = format!("{digits:0>width$}", width = places + 1);
        let (i, f) = padded.split_at(padded.len() - places);
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            format!("{sign}{i}")
        } else {
            format!("{sign}{i}.{f}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dec;

    #[test]
    fn arithmetic_and_rounding() {
        let d = |n, s| Dec::new(n, s).unwrap();
        assert_eq!(d(1, -10), d(1, -9));
        assert_eq!(d(-1, -10), d(-1, -9));
        assert_eq!(d(10_000, 0).div_round(3, 4).unwrap(), d(33_333_333, -4));
        assert_eq!(d(10, 3).div_int(3).unwrap(), d(3333, 0));
        assert_eq!(d(5, 0).div_round(2, 0).unwrap(), d(3, 0));
        assert_eq!(d(15, -1).render(), "1.5");
        assert_eq!(d(7, 2).render(), "700");
        assert_eq!(d(50, 3).add(d(20, 0)).unwrap().as_i64(), Some(50_020));
        assert_eq!(d(i128::MAX / 10, 30).as_i64(), None);
    }
}
