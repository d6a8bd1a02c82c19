//! Operators: equality, ordering, arithmetic and membership.

use std::cmp::Ordering;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::ast::BinOp;
use crate::error::{RtError, err};
use crate::eval::Ctx;
use crate::value::{Key, MapValue, Value};

/// Earliest timestamp CEL allows (0001-01-01T00:00:00Z), in Unix seconds.
const MIN_TS: i64 = -62_135_596_800;
/// Latest timestamp CEL allows (9999-12-31T23:59:59Z), in Unix seconds.
const MAX_TS: i64 = 253_402_300_799;
/// Largest duration magnitude CEL allows (10000 years), in seconds.
const MAX_DUR: i64 = 315_576_000_000;

/// Checks a timestamp against CEL's range.
pub(crate) fn ts_in_range(t: Timestamp) -> Result<Timestamp, RtError> {
    let s = t.as_second();
    if (MIN_TS..=MAX_TS).contains(&s) {
        Ok(t)
    } else {
        err("timestamp out of range")
    }
}

/// Checks a duration against CEL's range.
pub(crate) fn dur_in_range(d: SignedDuration) -> Result<SignedDuration, RtError> {
    if d.as_secs().checked_abs().is_some_and(|s| s <= MAX_DUR) {
        Ok(d)
    } else {
        err("duration out of range")
    }
}

/// Compares two numbers of any numeric kind exactly; `None` for NaN or non-numbers.
pub(crate) fn num_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::{Double, Int, Uint};
    match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Uint(x), Uint(y)) => Some(x.cmp(y)),
        (Double(x), Double(y)) => x.partial_cmp(y),
        (Int(x), Uint(y)) => Some(if *x < 0 {
            Ordering::Less
        } else {
            (*x as u64).cmp(y)
        }),
        (Uint(_), Int(_)) => num_cmp(b, a).map(Ordering::reverse),
        (Int(x), Double(y)) => int_double_cmp(i128::from(*x), *y),
        (Uint(x), Double(y)) => int_double_cmp(i128::from(*x), *y),
        (Double(_), Int(_) | Uint(_)) => num_cmp(b, a).map(Ordering::reverse),
        _ => None,
    }
}

fn int_double_cmp(x: i128, y: f64) -> Option<Ordering> {
    if y.is_nan() {
        return None;
    }
    // 2^64 bounds cover every i64/u64 exactly, so the integral part of y fits in i128.
    if y >= 18_446_744_073_709_551_616.0 {
        return Some(Ordering::Less);
    }
    if y < -9_223_372_036_854_775_808.0 {
        return Some(Ordering::Greater);
    }
    let t = y.trunc();
    let yi = t as i128;
    match x.cmp(&yi) {
        Ordering::Equal if y > t => Some(Ordering::Less),
        Ordering::Equal if y < t => Some(Ordering::Greater),
        o => Some(o),
    }
}

/// CEL heterogeneous equality as in Kubernetes' cel-go: numbers compare by value, other kinds must match.
pub(crate) fn equals(a: &Value, b: &Value) -> bool {
    equals_counting(a, b, &mut 0)
}

/// Equality that also counts the work done (one unit per value visited, one per ten bytes of
/// string), so the interpreter can charge comparisons of large values.
pub(crate) fn equals_counting(a: &Value, b: &Value, work: &mut u64) -> bool {
    *work = work.saturating_add(1);
    equal_counted(a, b, work)
}

/// [`equals_counting`] once the visit of `a` and `b` is counted.
fn equal_counted(a: &Value, b: &Value, work: &mut u64) -> bool {
    use Value::*;
    match (a, b) {
        // A document view compares as the list or map it stands for.
        (Doc(x), List(_) | Map(_) | Doc(_)) => equal_counted(&x.shallow(), b, work),
        (List(_) | Map(_), Doc(y)) => equal_counted(a, &y.shallow(), work),
        (Null, Null) => true,
        (Bool(x), Bool(y)) => x == y,
        (String(x), String(y)) => {
            *work = work.saturating_add((x.len().min(y.len()) / 10) as u64);
            x == y
        }
        (Bytes(x), Bytes(y)) => {
            *work = work.saturating_add((x.len().min(y.len()) / 10) as u64);
            x == y
        }
        (Int(_) | Uint(_) | Double(_), Int(_) | Uint(_) | Double(_)) => {
            num_cmp(a, b) == Some(Ordering::Equal)
        }
        (List(x), List(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| equals_counting(p, q, work))
        }
        (Map(x), Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    map_get(y, &k.to_value()).is_some_and(|w| equals_counting(v, w, work))
                })
        }
        (Timestamp(x), Timestamp(y)) => x == y,
        (Duration(x), Duration(y)) => x == y,
        (Type(x), Type(y)) => x == y,
        (Optional(x), Optional(y)) => match (x, y) {
            (None, None) => true,
            (Some(p), Some(q)) => equals_counting(p, q, work),
            _ => false,
        },
        (Opaque(x), Opaque(y)) => x.equals(y.as_ref()),
        _ => false,
    }
}

/// Looks a key up in a map, letting numeric keys of different kinds match (`m[1u]` finds key `1`).
pub(crate) fn map_get<'m>(m: &'m MapValue, k: &Value) -> Option<&'m Value> {
    if let Some(key) = Key::from_value(k)
        && let Some(v) = m.get(&key)
    {
        return Some(v);
    }
    let alt = match k {
        Value::Int(i) => u64::try_from(*i).ok().map(Key::Uint),
        Value::Uint(u) => i64::try_from(*u).ok().map(Key::Int),
        Value::Double(d) if d.fract() == 0.0 => {
            let by_int = (*d >= -9.2e18 && *d <= 9.2e18).then_some(Key::Int(*d as i64));
            if let Some(v) = by_int.and_then(|k| m.get(&k)) {
                return Some(v);
            }
            (*d >= 0.0 && *d <= 1.8e19).then_some(Key::Uint(*d as u64))
        }
        _ => None,
    };
    alt.and_then(|k| m.get(&k))
}

fn type_list(vals: &[&Value]) -> String {
    vals.iter()
        .map(|v| v.type_name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Error for an operator applied to unsupported kinds.
pub(crate) fn no_such_overload<T>(op: &str, vals: &[&Value]) -> Result<T, RtError> {
    err(format!(
        "no such overload for '{op}' applied to ({})",
        type_list(vals)
    ))
}

/// Orders two values for `<`, `<=`, `>`, `>=`; `None` means unordered (NaN), which yields false.
pub(crate) fn compare(a: &Value, b: &Value) -> Result<Option<Ordering>, RtError> {
    use Value::*;
    Ok(match (a, b) {
        (Int(_) | Uint(_) | Double(_), Int(_) | Uint(_) | Double(_)) => num_cmp(a, b),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (String(x), String(y)) => Some(x.cmp(y)),
        (Bytes(x), Bytes(y)) => Some(x.cmp(y)),
        (Timestamp(x), Timestamp(y)) => Some(x.cmp(y)),
        (Duration(x), Duration(y)) => Some(x.cmp(y)),
        _ => return no_such_overload("_<_", &[a, b]),
    })
}

/// Evaluates a non-logical binary operator.
pub(crate) fn binary(ctx: &mut Ctx<'_>, op: BinOp, l: &Value, r: &Value) -> Result<Value, RtError> {
    if let BinOp::Eq | BinOp::Ne = op
        && let Some(eq) = scalar_equals(ctx, l, r)
    {
        return Ok(Value::Bool(eq? == (op == BinOp::Eq)));
    }
    let rel = |f: fn(Ordering) -> bool| compare(l, r).map(|o| Value::Bool(o.is_some_and(f)));
    if let (Value::String(a), Value::String(b)) = (l, r) {
        ctx.charge_size(a.len().min(b.len()))?;
    }
    match op {
        BinOp::Eq | BinOp::Ne => {
            let mut work = 0;
            let eq = equals_counting(l, r, &mut work);
            ctx.charge(work)?;
            Ok(Value::Bool(eq == (op == BinOp::Eq)))
        }
        BinOp::Lt => rel(|o| o == Ordering::Less),
        BinOp::Le => rel(|o| o != Ordering::Greater),
        BinOp::Gt => rel(|o| o == Ordering::Greater),
        BinOp::Ge => rel(|o| o != Ordering::Less),
        BinOp::In => contains(ctx, l, r),
        BinOp::Add => add(ctx, l, r),
        BinOp::Sub => sub(l, r),
        BinOp::Mul => mul(l, r),
        BinOp::Div => div(l, r),
        BinOp::Rem => rem(l, r),
    }
}

/// `==` on two strings, booleans or integers, most comparisons policies make, charged as the
/// general path charges them (the string size, then one unit plus one per ten bytes compared).
fn scalar_equals(ctx: &mut Ctx<'_>, l: &Value, r: &Value) -> Option<Result<bool, RtError>> {
    let (eq, work) = match (l, r) {
        (Value::String(a), Value::String(b)) => {
            let m = a.len().min(b.len());
            if let Err(e) = ctx.charge_size(m) {
                return Some(Err(e));
            }
            (a == b, 1 + (m / 10) as u64)
        }
        (Value::Bool(a), Value::Bool(b)) => (a == b, 1),
        (Value::Int(a), Value::Int(b)) => (a == b, 1),
        _ => return None,
    };
    Some(ctx.charge(work).map(|()| eq))
}

fn contains(ctx: &mut Ctx<'_>, l: &Value, r: &Value) -> Result<Value, RtError> {
    match r {
        Value::List(items) => {
            let mut work = 0;
            let found = items.iter().any(|v| equals_counting(l, v, &mut work));
            ctx.charge(work)?;
            Ok(Value::Bool(found))
        }
        Value::Map(m) => Ok(Value::Bool(map_get(m, l).is_some())),
        Value::Doc(d) if d.is_list() => {
            let mut work = 0;
            let found = d.item_nodes().any(|n| match (l, d.str_len(n)) {
                // Strings compare in place, counted as equals_counting counts them.
                (Value::String(s), Some(len)) => {
                    work += 1 + (s.len().min(len) / 10) as u64;
                    d.is_str(n, s) == Some(true)
                }
                _ => equals_counting(l, &d.at(n), &mut work),
            });
            ctx.charge(work)?;
            Ok(Value::Bool(found))
        }
        // JSON maps have string keys only.
        Value::Doc(d) => Ok(Value::Bool(matches!(l, Value::String(k) if d.has(k)))),
        _ => no_such_overload("@in", &[l, r]),
    }
}

fn overflow<T>() -> Result<T, RtError> {
    err("integer overflow")
}

fn add(ctx: &mut Ctx<'_>, l: &Value, r: &Value) -> Result<Value, RtError> {
    use Value::*;
    match (l, r) {
        (Int(a), Int(b)) => a.checked_add(*b).map(Int).map_or_else(overflow, Ok),
        (Uint(a), Uint(b)) => a
            .checked_add(*b)
            .map(Uint)
            .map_or_else(|| err("unsigned integer overflow"), Ok),
        (Double(a), Double(b)) => Ok(Double(a + b)),
        (String(a), String(b)) => {
            ctx.charge_size(a.len() + b.len())?;
            Ok(Value::from(format!("{a}{b}")))
        }
        (Bytes(a), Bytes(b)) => {
            ctx.charge_size(a.len() + b.len())?;
            Ok(Bytes(
                a.iter()
                    .chain(b.iter())
                    .copied()
                    .collect::<Vec<u8>>()
                    .into(),
            ))
        }
        (List(a), List(b)) => {
            ctx.charge((a.len() + b.len()) as u64)?;
            let mut out = Vec::with_capacity(a.len() + b.len());
            out.extend(a.iter().cloned());
            out.extend(b.iter().cloned());
            Ok(List(Arc::new(out)))
        }
        (List(_) | Doc(_), List(_) | Doc(_)) if is_list(l) && is_list(r) => {
            let (a, b) = (list_len(l), list_len(r));
            ctx.charge((a + b) as u64)?;
            let mut out = Vec::with_capacity(a + b);
            for v in [l, r] {
                match v {
                    List(x) => out.extend(x.iter().cloned()),
                    Doc(x) => out.extend(x.values()),
                    _ => {}
                }
            }
            Ok(List(Arc::new(out)))
        }
        (Timestamp(t), Duration(d)) | (Duration(d), Timestamp(t)) => {
            let t = t
                .checked_add(*d)
                .map_err(|_| RtError::from("timestamp out of range"))?;
            ts_in_range(t).map(Timestamp)
        }
        (Duration(a), Duration(b)) => a.checked_add(*b).map_or_else(
            || err("duration out of range"),
            |d| dur_in_range(d).map(Duration),
        ),
        _ => no_such_overload("_+_", &[l, r]),
    }
}

fn is_list(v: &Value) -> bool {
    match v {
        Value::List(_) => true,
        Value::Doc(d) => d.is_list(),
        _ => false,
    }
}

fn list_len(v: &Value) -> usize {
    match v {
        Value::List(l) => l.len(),
        Value::Doc(d) => d.len(),
        _ => 0,
    }
}

fn sub(l: &Value, r: &Value) -> Result<Value, RtError> {
    use Value::*;
    match (l, r) {
        (Int(a), Int(b)) => a.checked_sub(*b).map(Int).map_or_else(overflow, Ok),
        (Uint(a), Uint(b)) => a
            .checked_sub(*b)
            .map(Uint)
            .map_or_else(|| err("unsigned integer overflow"), Ok),
        (Double(a), Double(b)) => Ok(Double(a - b)),
        (Timestamp(a), Timestamp(b)) => {
            let d = a.duration_since(*b);
            dur_in_range(d).map(Duration)
        }
        (Timestamp(t), Duration(d)) => {
            let t = t
                .checked_sub(*d)
                .map_err(|_| RtError::from("timestamp out of range"))?;
            ts_in_range(t).map(Timestamp)
        }
        (Duration(a), Duration(b)) => a.checked_sub(*b).map_or_else(
            || err("duration out of range"),
            |d| dur_in_range(d).map(Duration),
        ),
        _ => no_such_overload("_-_", &[l, r]),
    }
}

fn mul(l: &Value, r: &Value) -> Result<Value, RtError> {
    use Value::*;
    match (l, r) {
        (Int(a), Int(b)) => a.checked_mul(*b).map(Int).map_or_else(overflow, Ok),
        (Uint(a), Uint(b)) => a
            .checked_mul(*b)
            .map(Uint)
            .map_or_else(|| err("unsigned integer overflow"), Ok),
        (Double(a), Double(b)) => Ok(Double(a * b)),
        _ => no_such_overload("_*_", &[l, r]),
    }
}

fn div(l: &Value, r: &Value) -> Result<Value, RtError> {
    use Value::*;
    match (l, r) {
        (Int(_), Int(0)) | (Uint(_), Uint(0)) => err("division by zero"),
        (Int(a), Int(b)) => a.checked_div(*b).map(Int).map_or_else(overflow, Ok),
        (Uint(a), Uint(b)) => Ok(Uint(a / b)),
        (Double(a), Double(b)) => Ok(Double(a / b)),
        _ => no_such_overload("_/_", &[l, r]),
    }
}

fn rem(l: &Value, r: &Value) -> Result<Value, RtError> {
    use Value::*;
    match (l, r) {
        (Int(_), Int(0)) | (Uint(_), Uint(0)) => err("modulus by zero"),
        (Int(a), Int(b)) => a.checked_rem(*b).map(Int).map_or_else(overflow, Ok),
        (Uint(a), Uint(b)) => Ok(Uint(a % b)),
        _ => no_such_overload("_%_", &[l, r]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heterogeneous_numeric_equality() {
        let cases = [
            (Value::Int(1), Value::Double(1.0), true),
            (Value::Int(1), Value::Uint(1), true),
            (Value::Int(-1), Value::Uint(u64::MAX), false),
            (Value::Double(f64::NAN), Value::Double(f64::NAN), false),
            (Value::Int(1), Value::from("1"), false),
            (Value::Null, Value::Int(0), false),
            (
                Value::Int(i64::MAX),
                Value::Double(9_223_372_036_854_775_807.0),
                false,
            ),
        ];
        for (a, b, want) in cases {
            assert_eq!(equals(&a, &b), want, "{a:?} == {b:?}");
        }
    }

    #[test]
    fn numeric_ordering() {
        assert_eq!(
            num_cmp(&Value::Int(1), &Value::Double(1.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            num_cmp(&Value::Uint(2), &Value::Int(-3)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            num_cmp(&Value::Double(-0.5), &Value::Int(-1)),
            Some(Ordering::Greater)
        );
        assert_eq!(num_cmp(&Value::Double(f64::NAN), &Value::Int(1)), None);
    }
}
