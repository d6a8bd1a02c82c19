//! Kubernetes' quantity library (`quantity("1.5Gi")`, `isQuantity`, `add`, `compareTo`, ...).
//!
//! A quantity is an exact decimal (see [`decimal`]); values beyond i128 precision are
//! rejected rather than approximated.

mod decimal;

use std::any::Any;
use std::cmp::Ordering;

use decimal::Dec;

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::{Opaque, Value};

/// CEL type name of quantities.
pub(crate) const QUANTITY_TYPE: &str = "kubernetes.Quantity";

/// A quantity and the text it was written as (kept for JSON output).
#[derive(Debug, Clone)]
pub(crate) struct Quantity {
    value: Dec,
    text: String,
}

impl Quantity {
    fn computed(value: Dec) -> Quantity {
        Quantity {
            value,
            text: value.render(),
        }
    }
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
            .is_some_and(|o| self.value.cmp(o.value) == Ordering::Equal)
    }
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.text.clone())
    }
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
    let only_digits = int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !only_digits {
        return Err(bad());
    }
    let (mul, exp10) =
        suffix_factor(suffix).ok_or_else(|| format!("unable to parse quantity's suffix: {s:?}"))?;
    // Leading zeros carry no precision; trailing fraction zeros do not either.
    let int = int.trim_start_matches('0');
    let frac_trimmed = frac.trim_end_matches('0');
    let mantissa = format!("{int}{frac_trimmed}");
    let mantissa = if mantissa.is_empty() {
        "0"
    } else {
        mantissa.as_str()
    };
    let too_big = || format!("quantity {s:?} is too large to represent exactly");
    let mut num: i128 = mantissa.parse().map_err(|_| too_big())?;
    num = num.checked_mul(mul).ok_or_else(too_big)?;
    if neg {
        num = -num;
    }
    let scale = exp10 - frac_trimmed.len() as i32;
    let value = Dec::new(num, scale).ok_or_else(too_big)?;
    Ok(Quantity {
        value,
        text: s.to_string(),
    })
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
        unary(a, |q| Ok(Value::Bool(q.as_i64().is_some())))
    });
    reg.method("asInteger", vec![sig(&[q()], T::Int)], |_, a| {
        unary(a, |q| {
            q.as_i64()
                .map(Value::Int)
                .map_or_else(|| err("cannot convert value to integer"), Ok)
        })
    });
    reg.method(
        "asApproximateFloat",
        vec![sig(&[q()], T::Double)],
        |_, a| unary(a, |q| Ok(Value::Double(q.approx()))),
    );
    // Kubernetes declares `sign` as a global overload although its docs show the method form.
    let sign = |_: &mut Ctx<'_>, a: &[Value]| unary(a, |q| Ok(Value::Int(q.num.signum() as i64)));
    reg.method("sign", vec![sig(&[q()], T::Int)], sign);
    reg.global("sign", vec![sig(&[q()], T::Int)], sign);
    let binop = || vec![sig(&[q(), q()], q()), sig(&[q(), T::Int], q())];
    reg.method("add", binop(), |_, a| arith(a, Dec::add));
    reg.method("sub", binop(), |_, a| arith(a, Dec::sub));
    reg.method("mul", vec![sig(&[q(), T::Int], q())], |_, a| {
        scalar(a, false, |q, k, _| q.mul(k))
    });
    let div_sigs = vec![sig(&[q(), T::Int], q()), sig(&[q(), T::Int, T::Int], q())];
    reg.method("div", div_sigs, |_, a| {
        scalar(a, true, |q, k, places| q.div_round(k, places))
    });
    reg.method("divInt", vec![sig(&[q(), T::Int], q())], |_, a| {
        scalar(a, true, |q, k, _| q.div_int(k))
    });
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

fn unary(args: &[Value], f: impl Fn(Dec) -> Result<Value, RtError>) -> Result<Value, RtError> {
    match args {
        [v] => v
            .downcast::<Quantity>()
            .map_or_else(no_match, |q| f(q.value)),
        _ => no_match(),
    }
}

fn operands(args: &[Value]) -> Result<(Dec, Dec), RtError> {
    let [a, b] = args else { return no_match() };
    let Some(a) = a.downcast::<Quantity>() else {
        return no_match();
    };
    let b = match b {
        Value::Int(i) => Dec {
            num: i128::from(*i),
            scale: 0,
        },
        other => match other.downcast::<Quantity>() {
            Some(q) => q.value,
            None => return no_match(),
        },
    };
    Ok((a.value, b))
}

fn out_of_range() -> RtError {
    RtError::from("quantity arithmetic out of range")
}

fn arith(args: &[Value], f: fn(Dec, Dec) -> Option<Dec>) -> Result<Value, RtError> {
    let (a, b) = operands(args)?;
    f(a, b)
        .map(|v| Value::opaque(Quantity::computed(v)))
        .ok_or_else(out_of_range)
}

/// `mul`, `div` and `divInt`: a quantity and an integer (plus rounding places for `div`).
fn scalar(
    args: &[Value],
    divides: bool,
    f: fn(Dec, i64, i32) -> Option<Dec>,
) -> Result<Value, RtError> {
    let (q, k, places) = match args {
        [q, Value::Int(k)] => (q, *k, 4),
        [q, Value::Int(k), Value::Int(r)] => {
            if !(0..=10).contains(r) {
                return err(format!(
                    "the valid range for roundVal is 0 to 10 but {r} was passed"
                ));
            }
            (q, *k, *r as i32)
        }
        _ => return no_match(),
    };
    let Some(q) = q.downcast::<Quantity>() else {
        return no_match();
    };
    if divides && k == 0 {
        return err("division by zero error");
    }
    f(q.value, k, places)
        .map(|v| Value::opaque(Quantity::computed(v)))
        .ok_or_else(out_of_range)
}

fn compare(args: &[Value], f: fn(Ordering) -> Value) -> Result<Value, RtError> {
    let (a, b) = operands(args)?;
    Ok(f(a.cmp(b)))
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn quantity_library() {
        assert_true(&[
            "isQuantity('1.5Gi') && isQuantity('100m') && isQuantity('1e3') && isQuantity('-2') && isQuantity('5E')",
            "!isQuantity('1.5GiB') && !isQuantity('') && !isQuantity('K') && !isQuantity('1K') && !isQuantity('1.2.3')",
            "isQuantity('20M') && isQuantity('20Mi') && !isQuantity('20Mo') && !isQuantity('10Mm')",
            "quantity('1Ki').asInteger() == 1024",
            "quantity('1.5Gi').asInteger() == 1610612736",
            "quantity('1k') == quantity('1000')",
            "quantity('200M') == quantity('0.2G') && quantity('2000k') == quantity('2M')",
            "quantity('200M') != quantity('0.3G')",
            "quantity('1e3').asInteger() == 1000",
            "quantity('500m').asApproximateFloat() == 0.5",
            "quantity('50.703k').asApproximateFloat() == 50703.0",
            "!quantity('500m').isInteger() && quantity('2').isInteger() && quantity('50000000G').isInteger()",
            "!quantity('9999999999999999999999999999999999999G').isInteger()",
            "quantity('1Gi').isGreaterThan(quantity('1G'))",
            "quantity('50M').isLessThan(quantity('50Mi')) && !quantity('100M').isLessThan(quantity('50M'))",
            "quantity('1').compareTo(quantity('1000m')) == 0",
            "quantity('50M').compareTo(quantity('50Mi')) == -1 && quantity('50Mi').compareTo(quantity('50M')) == 1",
            "quantity('50k').add(quantity('20')) == quantity('50.02k')",
            "!quantity('50k').add(20).isLessThan(quantity('50020'))",
            "quantity('50k').sub(quantity('20')) == quantity('49.98k')",
            "quantity('50k').sub(20) == quantity('49980')",
            "quantity('50k').add(20).sub(quantity('100k')).sub(-50000).asInteger() == 20",
            "quantity('1Gi').sub(quantity('512Mi')) == quantity('512Mi')",
            "quantity('50k').mul(2) == quantity('100000')",
            "quantity('10k').div(2) == quantity('5000')",
            "quantity('10000').div(3).asApproximateFloat() == 3333.3333",
            "quantity('10000').div(3, 0) == quantity('3333')",
            "quantity('10000').divInt(3) == quantity('3333')",
            "quantity('-3').sign() == -1 && sign(quantity('0')) == 0",
            "quantity('0.0000000001').isGreaterThan(quantity('0'))",
            "quantity('8Ei').isGreaterThan(quantity('1'))",
        ]);
        assert_err(&[
            ("quantity('abc')", "regular expression"),
            ("quantity('10Mm')", "unable to parse quantity's suffix"),
            ("quantity('500m').asInteger()", "cannot convert"),
            (
                "quantity('9999999999999999999999999999999999999G').asInteger()",
                "cannot convert value to integer",
            ),
            ("quantity('1').div(0)", "division by zero"),
            ("quantity('1').divInt(0)", "division by zero"),
            ("quantity('1').div(2, 11)", "valid range for roundVal"),
            (
                "isQuantity([1, 2, 3])",
                "found no matching overload for 'isQuantity'",
            ),
        ]);
    }
}
