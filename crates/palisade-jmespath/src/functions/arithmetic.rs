//! Kyverno's arithmetic over numbers, quantities and durations (`add`, `sum`, `subtract`,
//! `multiply`, `divide`, `modulo`, `round`).
//!
//! Operand types follow Kyverno: a JSON number is a scalar; a string is a quantity if
//! `resource.ParseQuantity` accepts it, else a duration if `time.ParseDuration` does.
//! Quantity and duration results are strings in canonical form; scalars are numbers.

use palisade_primitives::duration::{format_duration, parse_duration};
use palisade_primitives::gofloat::format_v;
use palisade_primitives::quantity::Quantity;
use serde_json::Value;

use super::{Arg, Category, FnDef, Group, Ty, n, p, v};
use crate::error::Error;
use crate::interp::{Interp, num};

const C: Category = Category::Kyverno(Group::Arithmetic);
const ANY: &[Ty] = &[Ty::Any];
const NUM: &[Ty] = &[Ty::Number];

macro_rules! def {
    ($name:literal, $sig:literal, $doc:literal, [$($param:expr),*], $imp:expr) => {
        FnDef { name: $name, sig: $sig, doc: $doc, cat: C, params: &[$($param),*], imp: $imp }
    };
}

pub(crate) static DEFS: &[FnDef] = &[
    def!(
        "add",
        "add(any, any) any",
        "Adds two numbers, quantities or durations.",
        [p(ANY), p(ANY)],
        |a, _| binary(a, "add", Op::add)
    ),
    def!(
        "sum",
        "sum(array) any",
        "Adds the numbers, quantities or durations of a non-empty array (replaces the standard sum).",
        [p(&[Ty::Array])],
        sum
    ),
    def!(
        "subtract",
        "subtract(any, any) any",
        "Subtracts numbers, quantities or durations.",
        [p(ANY), p(ANY)],
        |a, _| binary(a, "subtract", Op::subtract)
    ),
    def!(
        "multiply",
        "multiply(any, any) any",
        "Multiplies by a number (quantity or duration times number).",
        [p(ANY), p(ANY)],
        |a, _| binary(a, "multiply", Op::multiply)
    ),
    def!(
        "divide",
        "divide(any, any) any",
        "Divides; the divisor must be non-zero.",
        [p(ANY), p(ANY)],
        |a, _| binary(a, "divide", Op::divide)
    ),
    def!(
        "modulo",
        "modulo(any, any) any",
        "Remainder of integers (or integral quantities, or durations); the divisor must be non-zero.",
        [p(ANY), p(ANY)],
        |a, _| binary(a, "modulo", Op::modulo)
    ),
    def!(
        "round",
        "round(number, number) number",
        "Rounds to the given number of decimal places.",
        [p(NUM), p(NUM)],
        round
    ),
];

/// An arithmetic operand.
#[derive(Debug, Clone)]
enum Op {
    Scalar(f64),
    Quantity(Quantity),
    Duration(i64),
}

fn operand(v: &Value) -> Option<Op> {
    match v {
        Value::Number(x) => x.as_f64().map(Op::Scalar),
        Value::String(s) => Quantity::parse(s)
            .map(Op::Quantity)
            .ok()
            .or_else(|| parse_duration(s).ok().map(Op::Duration)),
        _ => None,
    }
}

type R = Result<Value, Error>;

fn mismatch(name: &str) -> Error {
    Error::function(name, "types mismatch")
}

fn zero(name: &str) -> Error {
    Error::function(name, "Zero divisor passed")
}

fn non_int(name: &str) -> Error {
    Error::function(name, "Non-integer argument(s) passed for modulo")
}

fn qerr(name: &str, e: impl std::fmt::Display) -> Error {
    Error::function(name, e)
}

/// Go's `time.Duration.Seconds()`.
fn seconds(d: i64) -> f64 {
    (d / 1_000_000_000) as f64 + (d % 1_000_000_000) as f64 / 1e9
}

/// Go's `time.Duration(seconds * float64(time.Second))` (saturating where Go is undefined).
fn from_seconds(s: f64) -> i64 {
    (s * 1e9) as i64
}

/// A scalar as a quantity, the way Kyverno does it: `ParseQuantity(fmt.Sprintf("%v", f))`.
fn scalar_quantity(f: f64, name: &str) -> Result<Quantity, Error> {
    Quantity::parse(&format_v(f)).map_err(|e| qerr(name, e))
}

impl Op {
    fn add(self, other: Op, name: &str) -> R {
        match (self, other) {
            (Op::Scalar(a), Op::Scalar(b)) => Ok(num(a + b)),
            (Op::Quantity(a), Op::Quantity(b)) => Ok(Value::String(
                a.add(&b).map_err(|e| qerr(name, e))?.canonical(),
            )),
            (Op::Duration(a), Op::Duration(b)) => {
                Ok(Value::String(format_duration(a.wrapping_add(b))))
            }
            _ => Err(mismatch(name)),
        }
    }

    fn subtract(self, other: Op, name: &str) -> R {
        match (self, other) {
            (Op::Scalar(a), Op::Scalar(b)) => Ok(num(a - b)),
            (Op::Quantity(a), Op::Quantity(b)) => Ok(Value::String(
                a.sub(&b).map_err(|e| qerr(name, e))?.canonical(),
            )),
            (Op::Duration(a), Op::Duration(b)) => {
                Ok(Value::String(format_duration(a.wrapping_sub(b))))
            }
            _ => Err(mismatch(name)),
        }
    }

    fn multiply(self, other: Op, name: &str) -> R {
        match (self, other) {
            (Op::Scalar(a), Op::Scalar(b)) => Ok(num(a * b)),
            (Op::Quantity(q), Op::Scalar(f)) | (Op::Scalar(f), Op::Quantity(q)) => {
                let prod = q
                    .mul(&scalar_quantity(f, name)?)
                    .map_err(|e| qerr(name, e))?;
                Ok(Value::String(prod.canonical()))
            }
            (Op::Duration(d), Op::Scalar(f)) | (Op::Scalar(f), Op::Duration(d)) => {
                Ok(Value::String(format_duration(from_seconds(seconds(d) * f))))
            }
            _ => Err(mismatch(name)),
        }
    }

    fn divide(self, other: Op, name: &str) -> R {
        match (self, other) {
            (Op::Scalar(a), Op::Scalar(b)) => {
                if b == 0.0 {
                    return Err(zero(name));
                }
                Ok(num(a / b))
            }
            (Op::Quantity(a), Op::Quantity(b)) => {
                let d = b.to_f64();
                if d == 0.0 {
                    return Err(zero(name));
                }
                Ok(num(a.to_f64() / d))
            }
            (Op::Quantity(a), Op::Scalar(f)) => {
                if f == 0.0 {
                    return Err(zero(name));
                }
                let q = scalar_quantity(f, name)?;
                let scale = a.dec_scale().max(q.dec_scale());
                Ok(Value::String(
                    a.quo_round_down(&q, scale)
                        .map_err(|e| qerr(name, e))?
                        .canonical(),
                ))
            }
            (Op::Duration(a), Op::Duration(b)) => {
                if seconds(b) == 0.0 {
                    return Err(zero(name));
                }
                Ok(num(seconds(a) / seconds(b)))
            }
            (Op::Duration(a), Op::Scalar(f)) => {
                if f == 0.0 {
                    return Err(zero(name));
                }
                Ok(Value::String(format_duration(from_seconds(seconds(a) / f))))
            }
            _ => Err(mismatch(name)),
        }
    }

    fn modulo(self, other: Op, name: &str) -> R {
        match (self, other) {
            (Op::Scalar(a), Op::Scalar(b)) => {
                let (x, y) = ints(a, b, name)?;
                Ok(num(x.wrapping_rem(y) as f64))
            }
            (Op::Quantity(a), Op::Quantity(b)) => {
                let (x, y) = ints(a.to_f64(), b.to_f64(), name)?;
                Ok(Value::String(
                    Quantity::from_i64(x.wrapping_rem(y), a.format()).canonical(),
                ))
            }
            (Op::Duration(a), Op::Duration(b)) => {
                if b == 0 {
                    return Err(zero(name));
                }
                Ok(Value::String(format_duration(a.wrapping_rem(b))))
            }
            _ => Err(mismatch(name)),
        }
    }
}

/// Both operands as integers (Kyverno's `int64(f) == f` check), divisor non-zero.
fn ints(a: f64, b: f64, name: &str) -> Result<(i64, i64), Error> {
    let (x, y) = (a as i64, b as i64);
    if x as f64 != a || y as f64 != b {
        return Err(non_int(name));
    }
    if y == 0 {
        return Err(zero(name));
    }
    Ok((x, y))
}

fn operands(a: &Value, b: &Value, name: &str) -> Result<(Op, Op), Error> {
    match (operand(a), operand(b)) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(Error::function(name, "invalid operands")),
    }
}

fn binary(a: &[Arg<'_>], name: &str, f: fn(Op, Op, &str) -> R) -> R {
    let (x, y) = operands(v(a, 0), v(a, 1), name)?;
    f(x, y, name)
}

/// Kyverno folds `add` over the array, feeding each result back in as an operand.
fn sum(a: &[Arg<'_>], _: &mut Interp<'_>) -> R {
    let items = v(a, 0).as_array().map_or(&[][..], Vec::as_slice);
    let Some((first, rest)) = items.split_first() else {
        return Err(Error::function(
            "sum",
            "at least one element in the array is required",
        ));
    };
    let mut acc = first.clone();
    for item in rest {
        let (x, y) = operands(&acc, item, "sum")?;
        acc = x.add(y, "sum")?;
    }
    Ok(acc)
}

fn round(a: &[Arg<'_>], _: &mut Interp<'_>) -> R {
    let places = n(a, 1);
    if places.fract() != 0.0 {
        return Err(Error::function(
            "round",
            "Non-integer argument(s) passed for round off",
        ));
    }
    if places < 0.0 {
        return Err(Error::function(
            "round",
            format!("2 argument is out of bounds ({places})"),
        ));
    }
    let shift = 10f64.powf(places);
    Ok(num((n(a, 0) * shift).round() / shift))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::testutil::{check, check_err};

    #[test]
    fn numbers() {
        check(&[
            ("add(`1`, `2`)", json!(3)),
            ("add(`1.5`, `2`)", json!(3.5)),
            ("subtract(`5`, `7`)", json!(-2)),
            ("multiply(`3`, `2.5`)", json!(7.5)),
            ("divide(`7`, `2`)", json!(3.5)),
            ("modulo(`7`, `3`)", json!(1)),
            ("modulo(`-7`, `3`)", json!(-1)),
            ("sum(`[1, 2, 3]`)", json!(6)),
            ("sum(`[0.5, 0.25]`)", json!(0.75)),
            ("round(`2.71828`, `2`)", json!(2.72)),
            ("round(`2.5`, `0`)", json!(3)),
        ]);
    }

    #[test]
    fn quantities_and_durations() {
        check(&[
            ("add('1Gi', '512Mi')", json!("1536Mi")),
            ("add('100m', '900m')", json!("1")),
            ("subtract('1Gi', '512Mi')", json!("512Mi")),
            ("multiply('100Mi', `2`)", json!("200Mi")),
            ("multiply(`2`, '1.5')", json!("3")),
            ("divide('1Gi', '512Mi')", json!(2)),
            ("divide('2k', `3`)", json!("666")),
            ("modulo('10', '3')", json!("1")),
            ("sum(`[\"1Gi\", \"1Gi\", \"512Mi\"]`)", json!("2560Mi")),
            ("add('1h', '30m0s')", json!("1h30m0s")),
            ("subtract('1h', '2h')", json!("-1h0m0s")),
            ("multiply('1h', `1.5`)", json!("1h30m0s")),
            ("divide('1h', '30m0s')", json!(2)),
            ("divide('1h', `4`)", json!("15m0s")),
            ("modulo('1h', '25m0s')", json!("10m0s")),
            ("sum(`[\"1s\", \"2s\"]`)", json!("3s")),
        ]);
    }

    #[test]
    fn errors() {
        check_err(&[
            ("add('1Gi', `1`)", "JMESPath function 'add': types mismatch"),
            ("add('1h', '1Gi')", "types mismatch"),
            // '30m' is a quantity (30 milli) before it is a duration, as in Kyverno.
            ("add('1h', '30m')", "types mismatch"),
            (
                "add('abc', `1`)",
                "JMESPath function 'add': invalid operands",
            ),
            ("add(`true`, `1`)", "invalid operands"),
            (
                "divide(`1`, `0`)",
                "JMESPath function 'divide': Zero divisor passed",
            ),
            ("divide('1Gi', '0')", "Zero divisor passed"),
            ("divide('1h', '0s')", "Zero divisor passed"),
            (
                "modulo(`1.5`, `1`)",
                "Non-integer argument(s) passed for modulo",
            ),
            ("modulo(`1`, `0`)", "Zero divisor passed"),
            ("divide(`1`, '1Gi')", "types mismatch"),
            ("multiply('1Gi', '1Gi')", "types mismatch"),
            ("sum(`[]`)", "at least one element in the array is required"),
            ("sum(`[1, \"1Gi\"]`)", "types mismatch"),
            ("round(`1`, `1.5`)", "Non-integer"),
            ("round(`1`, `-1`)", "out of bounds"),
        ]);
    }
}
