//! Kubernetes' quantity library (`quantity("1.5Gi")`, `isQuantity`, `add`, `compareTo`, ...).
//!
//! A quantity is held exactly as `num × 10^scale` (i128), rounded up to nano precision as
//! Kubernetes does; values beyond that range are rejected rather than approximated.

use std::any::Any;
use std::cmp::Ordering;

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::{Opaque, Value};

/// CEL type name of quantities.
pub(crate) const QUANTITY_TYPE: &str = "kubernetes.Quantity";
/// Finest precision Kubernetes keeps (nano).
const MIN_SCALE: i32 = -9;

/// An exact decimal quantity.
#[derive(Debug, Clone)]
pub(crate) struct Quantity {
    num: i128,
    scale: i32,
    text: String,
}

impl Opaque for Quantity {
    fn type_name(&self) -> &str {
        QUANTITY_TYPE
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn equals(&self, other: &dyn Opaque) -> bool {
        other
            .as_any()
            .downcast_ref::<Quantity>()
            .is_some_and(|o| cmp(self, o) == Ordering::Equal)
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.text.clone())
    }
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Parses a Kubernetes quantity string.
pub(crate) fn parse(s: &str) -> Result<Quantity, String> {
    let bad = || {
        format!(
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {s:?}"
        )
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let (neg, digits) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        || digits.len() > 30
    {
        return Err(bad());
    }
    let mut num: i128 = format!("{int}{frac}").parse().map_err(|_| bad())?;
    let mut scale = -(frac.len() as i32);
    let (mul, exp10) = suffix_factor(suffix).ok_or_else(bad)?;
    num = num.checked_mul(mul).ok_or_else(bad)?;
    scale += exp10;
    if neg {
        num = -num;
    }
    let q = normalize(Quantity {
        num,
        scale,
        text: s.to_string(),
    })
    .ok_or_else(bad)?;
    Ok(q)
}

/// Returns (integer multiplier, decimal exponent) for a suffix.
fn suffix_factor(suffix: &str) -> Option<(i128, i32)> {
    let binary = |p: u32| Some((1i128 << (10 * p), 0));
    match suffix {
        "" => Some((1, 0)),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        "n" => Some((1, -9)),
        "u" => Some((1, -6)),
        "m" => Some((1, -3)),
        "k" => Some((1, 3)),
        "M" => Some((1, 6)),
        "G" => Some((1, 9)),
        "T" => Some((1, 12)),
        "P" => Some((1, 15)),
        "E" => Some((1, 18)),
        s => {
            let exp = s.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let e: i32 = exp.parse().ok()?;
            (-1000..=1000).contains(&e).then_some((1, e))
        }
    }
}

/// Rounds up below nano precision and keeps `scale` within a workable range.
fn normalize(mut q: Quantity) -> Option<Quantity> {
    if q.scale < MIN_SCALE {
        let d = pow10((MIN_SCALE - q.scale) as u32)?;
        let (quot, rem) = (q.num / d, q.num % d);
        // Kubernetes rounds away from zero when precision is lost.
        q.num = quot + rem.signum();
        q.scale = MIN_SCALE;
    }
    while q.scale > 0 {
        q.num = q.num.checked_mul(10)?;
        q.scale -= 1;
    }
    Some(q)
}

/// Brings two quantities to a common scale.
fn align(a: &Quantity, b: &Quantity) -> Option<(i128, i128, i32)> {
    let scale = a.scale.min(b.scale);
    let x = a.num.checked_mul(pow10((a.scale - scale) as u32)?)?;
    let y = b.num.checked_mul(pow10((b.scale - scale) as u32)?)?;
    Some((x, y, scale))
}

fn cmp(a: &Quantity, b: &Quantity) -> Ordering {
    match align(a, b) {
        Some((x, y, _)) => x.cmp(&y),
        None => approx(a).total_cmp(&approx(b)),
    }
}

fn approx(q: &Quantity) -> f64 {
    q.num as f64 * 10f64.powi(q.scale)
}

fn from_int(i: i64) -> Quantity {
    Quantity {
        num: i128::from(i),
        scale: 0,
        text: i.to_string(),
    }
}

fn as_integer(q: &Quantity) -> Option<i64> {
    let d = pow10((-q.scale) as u32)?;
    if q.num % d != 0 {
        return None;
    }
    i64::try_from(q.num / d).ok()
}

/// Canonical-ish text for computed quantities (decimal, no suffix).
fn render(num: i128, scale: i32) -> String {
    if scale == 0 {
        return num.to_string();
    }
    let digits = num.unsigned_abs().to_string();
    let places = (-scale) as usize;
    let padded = format!("{digits:0>width$}", width = places + 1);
    let (i, f) = padded.split_at(padded.len() - places);
    let f = f.trim_end_matches('0');
    let sign = if num < 0 { "-" } else { "" };
    if f.is_empty() {
        format!("{sign}{i}")
    } else {
        format!("{sign}{i}.{f}")
    }
}

pub(crate) fn register(reg: &mut Registry) {
    let q = || T::Opaque(QUANTITY_TYPE);
    reg.global("quantity", vec![sig(&[T::String], q())], |_, a| match a {
        [Value::String(s)] => parse(s).map(Value::opaque).map_err(RtError::from),
        _ => no_match(),
    });
    reg.global(
        "isQuantity",
        vec![sig(&[T::String], T::Bool)],
        |_, a| match a {
            [Value::String(s)] => Ok(Value::Bool(parse(s).is_ok())),
            _ => no_match(),
        },
    );
    reg.method("isInteger", vec![sig(&[q()], T::Bool)], |_, a| {
        with_q(a, |q| Ok(Value::Bool(as_integer(q).is_some())))
    });
    reg.method("asInteger", vec![sig(&[q()], T::Int)], |_, a| {
        with_q(a, |q| {
            as_integer(q)
                .map(Value::Int)
                .map_or_else(|| err("cannot convert value to integer"), Ok)
        })
    });
    reg.method(
        "asApproximateFloat",
        vec![sig(&[q()], T::Double)],
        |_, a| with_q(a, |q| Ok(Value::Double(approx(q)))),
    );
    reg.method("sign", vec![sig(&[q()], T::Int)], |_, a| {
        with_q(a, |q| Ok(Value::Int(q.num.signum() as i64)))
    });
    let binop = || vec![sig(&[q(), q()], q()), sig(&[q(), T::Int], q())];
    reg.method("add", binop(), |c, a| arith(c, a, false));
    reg.method("sub", binop(), |c, a| arith(c, a, true));
    let cmp_sig = |r: T| vec![sig(&[q(), q()], r)];
    reg.method("compareTo", cmp_sig(T::Int), |_, a| {
        compare(a, |o| Value::Int(o as i64))
    });
    reg.method("isGreaterThan", cmp_sig(T::Bool), |_, a| {
        compare(a, |o| Value::Bool(o == Ordering::Greater))
    });
    reg.method("isLessThan", cmp_sig(T::Bool), |_, a| {
        compare(a, |o| Value::Bool(o == Ordering::Less))
    });
}

fn with_q(
    args: &[Value],
    f: impl Fn(&Quantity) -> Result<Value, RtError>,
) -> Result<Value, RtError> {
    match args {
        [v] => v.downcast::<Quantity>().map_or_else(no_match, f),
        _ => no_match(),
    }
}

fn operands(args: &[Value]) -> Result<(Quantity, Quantity), RtError> {
    let [a, b] = args else { return no_match() };
    let Some(a) = a.downcast::<Quantity>() else {
        return no_match();
    };
    let b = match b {
        Value::Int(i) => from_int(*i),
        other => match other.downcast::<Quantity>() {
            Some(q) => q.clone(),
            None => return no_match(),
        },
    };
    Ok((a.clone(), b))
}

fn arith(_: &mut Ctx<'_>, args: &[Value], subtract: bool) -> Result<Value, RtError> {
    let (a, b) = operands(args)?;
    let (x, y, scale) =
        align(&a, &b).ok_or_else(|| RtError::from("quantity arithmetic out of range"))?;
    let num = if subtract {
        x.checked_sub(y)
    } else {
        x.checked_add(y)
    };
    let num = num.ok_or_else(|| RtError::from("quantity arithmetic out of range"))?;
    Ok(Value::opaque(Quantity {
        num,
        scale,
        text: render(num, scale),
    }))
}

fn compare(args: &[Value], f: fn(Ordering) -> Value) -> Result<Value, RtError> {
    let (a, b) = operands(args)?;
    Ok(f(cmp(&a, &b)))
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn quantity_library() {
        assert_true(&[
            "isQuantity('1.5Gi') && isQuantity('100m') && isQuantity('1e3') && isQuantity('-2') && isQuantity('5E')",
            "!isQuantity('1.5GiB') && !isQuantity('') && !isQuantity('K') && !isQuantity('1K') && !isQuantity('1.2.3')",
            "quantity('1Ki').asInteger() == 1024",
            "quantity('1.5Gi').asInteger() == 1610612736",
            "quantity('1k') == quantity('1000')",
            "quantity('1e3').asInteger() == 1000",
            "quantity('500m').asApproximateFloat() == 0.5",
            "!quantity('500m').isInteger() && quantity('2').isInteger()",
            "quantity('1Gi').isGreaterThan(quantity('1G'))",
            "quantity('100m').isLessThan(quantity('1'))",
            "quantity('1').compareTo(quantity('1000m')) == 0",
            "quantity('2').compareTo(quantity('1')) == 1",
            "quantity('1').add(quantity('500m')) == quantity('1.5')",
            "quantity('1').add(2) == quantity('3')",
            "quantity('1Gi').sub(quantity('512Mi')) == quantity('512Mi')",
            "quantity('-3').sign() == -1 && quantity('0').sign() == 0",
            "quantity('0.0000000001').isGreaterThan(quantity('0'))",
            "quantity('8Ei').isGreaterThan(quantity('1'))",
        ]);
        assert_err(&[
            ("quantity('abc')", "regular expression"),
            ("quantity('500m').asInteger()", "cannot convert"),
        ]);
    }
}
