//! cel-go `ext.Math` (as Kyverno enables it): greatest/least, rounding, bit operations, sqrt.

use std::cmp::Ordering;

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::eval::ops::num_cmp;
use crate::registry::{Overload, Registry, sig};
use crate::types::Type as T;
use crate::value::Value;

/// Most arguments accepted by the variadic `math.greatest` / `math.least`.
const MAX_ARGS: usize = 32;

pub(crate) fn register(reg: &mut Registry) {
    let variadic: Vec<Overload> = (1..=MAX_ARGS)
        .map(|n| sig(&vec![T::Dyn; n], T::Dyn))
        .collect();
    reg.global("math.greatest", variadic.clone(), |c, a| {
        extreme(c, a, Ordering::Greater, "greatest")
    });
    reg.global("math.least", variadic, |c, a| {
        extreme(c, a, Ordering::Less, "least")
    });
    let d2d = || vec![sig(&[T::Double], T::Double)];
    reg.global("math.ceil", d2d(), |_, a| double_op(a, f64::ceil));
    reg.global("math.floor", d2d(), |_, a| double_op(a, f64::floor));
    reg.global("math.round", d2d(), |_, a| double_op(a, f64::round));
    reg.global("math.trunc", d2d(), |_, a| double_op(a, f64::trunc));
    let num = || [T::Int, T::Uint, T::Double];
    reg.global(
        "math.abs",
        num()
            .iter()
            .map(|t| sig(std::slice::from_ref(t), t.clone()))
            .collect(),
        abs,
    );
    reg.global(
        "math.sign",
        num()
            .iter()
            .map(|t| sig(std::slice::from_ref(t), t.clone()))
            .collect(),
        sign,
    );
    reg.global(
        "math.sqrt",
        num()
            .iter()
            .map(|t| sig(std::slice::from_ref(t), T::Double))
            .collect(),
        |_, a| match a {
            [Value::Double(d)] => Ok(Value::Double(d.sqrt())),
            [Value::Int(i)] => Ok(Value::Double((*i as f64).sqrt())),
            [Value::Uint(u)] => Ok(Value::Double((*u as f64).sqrt())),
            _ => no_match(),
        },
    );
    let pred = || vec![sig(&[T::Double], T::Bool)];
    reg.global("math.isInf", pred(), |_, a| {
        double_pred(a, f64::is_infinite)
    });
    reg.global("math.isNaN", pred(), |_, a| double_pred(a, f64::is_nan));
    reg.global("math.isFinite", pred(), |_, a| {
        double_pred(a, f64::is_finite)
    });
    let bin = || {
        vec![
            sig(&[T::Int, T::Int], T::Int),
            sig(&[T::Uint, T::Uint], T::Uint),
        ]
    };
    reg.global("math.bitAnd", bin(), |_, a| bit_op(a, |x, y| x & y));
    reg.global("math.bitOr", bin(), |_, a| bit_op(a, |x, y| x | y));
    reg.global("math.bitXor", bin(), |_, a| bit_op(a, |x, y| x ^ y));
    reg.global(
        "math.bitNot",
        vec![sig(&[T::Int], T::Int), sig(&[T::Uint], T::Uint)],
        |_, a| match a {
            [Value::Int(i)] => Ok(Value::Int(!i)),
            [Value::Uint(u)] => Ok(Value::Uint(!u)),
            _ => no_match(),
        },
    );
    let shift = || {
        vec![
            sig(&[T::Int, T::Int], T::Int),
            sig(&[T::Uint, T::Int], T::Uint),
        ]
    };
    reg.global("math.bitShiftLeft", shift(), |_, a| shift_op(a, true));
    reg.global("math.bitShiftRight", shift(), |_, a| shift_op(a, false));
}

fn extreme(
    ctx: &mut Ctx<'_>,
    args: &[Value],
    keep: Ordering,
    name: &str,
) -> Result<Value, RtError> {
    let items: &[Value] = match args {
        [Value::List(l)] => l,
        _ => args,
    };
    ctx.charge(items.len() as u64)?;
    let mut best: Option<&Value> = None;
    for v in items {
        if !matches!(v, Value::Int(_) | Value::Uint(_) | Value::Double(_)) {
            return err(format!(
                "math.{name}(): argument of type '{}' is not numeric",
                v.type_name()
            ));
        }
        best = match best {
            Some(b) if num_cmp(v, b) != Some(keep) => Some(b),
            _ => Some(v),
        };
    }
    best.cloned()
        .ok_or_else(|| format!("math.{name}(): list is empty").into())
}

fn double_op(args: &[Value], f: fn(f64) -> f64) -> Result<Value, RtError> {
    match args {
        [Value::Double(d)] => Ok(Value::Double(f(*d))),
        _ => no_match(),
    }
}

fn double_pred(args: &[Value], f: fn(f64) -> bool) -> Result<Value, RtError> {
    match args {
        [Value::Double(d)] => Ok(Value::Bool(f(*d))),
        _ => no_match(),
    }
}

fn abs(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::Int(i)] => i
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| "integer overflow".into()),
        [Value::Uint(u)] => Ok(Value::Uint(*u)),
        [Value::Double(d)] => Ok(Value::Double(d.abs())),
        _ => no_match(),
    }
}

fn sign(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::Int(i)] => Ok(Value::Int(i.signum())),
        [Value::Uint(u)] => Ok(Value::Uint(u64::from(*u > 0))),
        [Value::Double(d)] if d.is_nan() || *d == 0.0 => Ok(Value::Double(*d)),
        [Value::Double(d)] => Ok(Value::Double(d.signum())),
        _ => no_match(),
    }
}

fn bit_op(args: &[Value], f: fn(u64, u64) -> u64) -> Result<Value, RtError> {
    match args {
        [Value::Int(a), Value::Int(b)] => Ok(Value::Int(f(*a as u64, *b as u64) as i64)),
        [Value::Uint(a), Value::Uint(b)] => Ok(Value::Uint(f(*a, *b))),
        _ => no_match(),
    }
}

/// Shifts are logical for both kinds; shifting by 64 or more gives 0, a negative shift is an error.
fn shift_op(args: &[Value], left: bool) -> Result<Value, RtError> {
    let (bits, n, signed) = match args {
        [Value::Int(a), Value::Int(n)] => (*a as u64, *n, true),
        [Value::Uint(a), Value::Int(n)] => (*a, *n, false),
        _ => return no_match(),
    };
    if n < 0 {
        return err(format!("math.bitShift: negative offset {n}"));
    }
    let r = if n >= 64 {
        0
    } else if left {
        bits << n
    } else {
        bits >> n
    };
    Ok(if signed {
        Value::Int(r as i64)
    } else {
        Value::Uint(r)
    })
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn math_functions() {
        assert_true(&[
            "math.greatest(1, 2.5, 2u) == 2.5",
            "math.greatest([3, 1]) == 3",
            "math.least(-1, 2) == -1",
            "math.greatest(7) == 7",
            "math.ceil(1.2) == 2.0",
            "math.floor(-1.2) == -2.0",
            "math.round(2.5) == 3.0 && math.round(-2.5) == -3.0",
            "math.trunc(-1.7) == -1.0",
            "math.abs(-5) == 5",
            "math.sign(-3) == -1 && math.sign(0.0) == 0.0",
            "math.isInf(1.0 / 0.0) && math.isNaN(0.0 / 0.0) && math.isFinite(1.0)",
            "math.bitAnd(6, 3) == 2 && math.bitOr(6, 3) == 7 && math.bitXor(6, 3) == 5",
            "math.bitNot(0) == -1",
            "math.bitShiftLeft(1, 4) == 16",
            "math.bitShiftRight(-1024, 3) == 2305843009213693824",
            "math.bitShiftLeft(1u, 70) == 0u",
            "math.sqrt(16) == 4.0",
        ]);
        assert_err(&[
            ("math.abs(-9223372036854775808)", "overflow"),
            ("math.greatest('a', 1)", "not numeric"),
            ("math.bitShiftLeft(1, -1)", "negative"),
            ("math.greatest([])", "empty"),
        ]);
    }
}
