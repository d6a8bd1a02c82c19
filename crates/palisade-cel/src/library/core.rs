//! Standard functions: size, string predicates, type conversions, `type` and `dyn`.

use std::sync::Arc;

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type::{self, *};
use crate::value::Value;

pub(crate) fn register(reg: &mut Registry) {
    let a = || Param("A");
    let size_sigs = vec![
        sig(&[String], Int),
        sig(&[Bytes], Int),
        sig(&[Type::list(a())], Int),
        sig(&[Type::map(a(), Param("B"))], Int),
    ];
    reg.global("size", size_sigs.clone(), size);
    reg.method("size", size_sigs, size);
    reg.method("contains", vec![sig(&[String, String], Bool)], |c, a| {
        str_pred(c, a, |s, t| s.contains(t))
    });
    reg.method("startsWith", vec![sig(&[String, String], Bool)], |c, a| {
        str_pred(c, a, |s, t| s.starts_with(t))
    });
    reg.method("endsWith", vec![sig(&[String, String], Bool)], |c, a| {
        str_pred(c, a, |s, t| s.ends_with(t))
    });
    reg.global(
        "int",
        [Int, Uint, Double, String, Timestamp]
            .iter()
            .map(|t| sig(std::slice::from_ref(t), Int))
            .collect(),
        to_int,
    );
    reg.global(
        "uint",
        [Int, Uint, Double, String]
            .iter()
            .map(|t| sig(std::slice::from_ref(t), Uint))
            .collect(),
        to_uint,
    );
    reg.global(
        "double",
        [Int, Uint, Double, String]
            .iter()
            .map(|t| sig(std::slice::from_ref(t), Double))
            .collect(),
        to_double,
    );
    let string_from = [String, Int, Uint, Double, Bytes, Bool, Timestamp, Duration];
    reg.global(
        "string",
        string_from
            .iter()
            .map(|t| sig(std::slice::from_ref(t), String))
            .collect(),
        to_string,
    );
    reg.global(
        "bytes",
        vec![sig(&[String], Bytes), sig(&[Bytes], Bytes)],
        to_bytes,
    );
    reg.global(
        "bool",
        vec![sig(&[Bool], Bool), sig(&[String], Bool)],
        to_bool,
    );
    reg.global("type", vec![sig(&[a()], TypeType)], |_, a| match a {
        [v] => Ok(Value::Type(v.type_name().into())),
        _ => no_match(),
    });
    reg.global("dyn", vec![sig(&[a()], Dyn)], |_, a| match a {
        [v] => Ok(v.clone()),
        _ => no_match(),
    });
}

fn size(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let n = match args {
        [Value::String(s)] => {
            ctx.charge_size(s.len())?;
            s.chars().count()
        }
        [Value::Bytes(b)] => b.len(),
        [Value::List(l)] => l.len(),
        [Value::Map(m)] => m.len(),
        _ => return no_match(),
    };
    Ok(Value::Int(n as i64))
}

fn str_pred(
    ctx: &mut Ctx<'_>,
    args: &[Value],
    f: fn(&str, &str) -> bool,
) -> Result<Value, RtError> {
    match args {
        [Value::String(s), Value::String(t)] => {
            ctx.charge_size(s.len() + t.len())?;
            Ok(Value::Bool(f(s, t)))
        }
        _ => no_match(),
    }
}

fn range_err<T>(what: &str) -> Result<T, RtError> {
    err(format!("{what} out of range"))
}

fn to_int(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::Int(i)] => Ok(Value::Int(*i)),
        [Value::Uint(u)] => i64::try_from(*u)
            .map(Value::Int)
            .or_else(|_| range_err("int")),
        [Value::Double(d)] => {
            // cel-go rejects values at or beyond ±2^63 (and NaN) instead of saturating.
            if d.is_nan() || *d <= -9_223_372_036_854_775_808.0 || *d >= 9_223_372_036_854_775_807.0
            {
                range_err("int")
            } else {
                Ok(Value::Int(d.trunc() as i64))
            }
        }
        [Value::String(s)] => s
            .parse::<i64>()
            .map(Value::Int)
            .or_else(|_| err(format!("cannot convert string '{s}' to int"))),
        [Value::Timestamp(t)] => Ok(Value::Int(t.as_second())),
        _ => no_match(),
    }
}

fn to_uint(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::Uint(u)] => Ok(Value::Uint(*u)),
        [Value::Int(i)] => u64::try_from(*i)
            .map(Value::Uint)
            .or_else(|_| range_err("uint")),
        [Value::Double(d)] => {
            if d.is_nan() || *d < 0.0 || *d >= 18_446_744_073_709_551_615.0 {
                range_err("uint")
            } else {
                Ok(Value::Uint(d.trunc() as u64))
            }
        }
        [Value::String(s)] => s
            .parse::<u64>()
            .map(Value::Uint)
            .or_else(|_| err(format!("cannot convert string '{s}' to uint"))),
        _ => no_match(),
    }
}

fn to_double(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::Double(d)] => Ok(Value::Double(*d)),
        [Value::Int(i)] => Ok(Value::Double(*i as f64)),
        [Value::Uint(u)] => Ok(Value::Double(*u as f64)),
        [Value::String(s)] => parse_go_float(s)
            .map(Value::Double)
            .ok_or_else(|| format!("cannot convert string '{s}' to double").into()),
        _ => no_match(),
    }
}

/// Parses a float like Go's strconv.ParseFloat (accepts `Inf`, `NaN`, exponents).
fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn to_string(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let s = match args {
        [Value::String(s)] => return Ok(Value::String(s.clone())),
        [Value::Int(i)] => i.to_string(),
        [Value::Uint(u)] => u.to_string(),
        [Value::Double(d)] => format_double_g(*d),
        [Value::Bool(b)] => b.to_string(),
        [Value::Bytes(b)] => {
            ctx.charge_size(b.len())?;
            std::str::from_utf8(b)
                .map_err(|_| RtError::from("invalid UTF-8 in bytes, cannot convert to string"))?
                .to_string()
        }
        [Value::Timestamp(t)] => super::time::format_timestamp(*t),
        [Value::Duration(d)] => super::time::format_duration(*d),
        _ => return no_match(),
    };
    Ok(Value::String(Arc::from(s)))
}

/// Formats a double as Go's `%g` does (shortest digits, exponent when exp < -4 or >= 6, as strconv's shortest 'g').
pub(crate) fn format_double_g(d: f64) -> std::string::String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{d:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        format!("{d}")
    }
}

fn to_bytes(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::String(s)] => Ok(Value::Bytes(s.as_bytes().into())),
        [Value::Bytes(b)] => Ok(Value::Bytes(b.clone())),
        _ => no_match(),
    }
}

fn to_bool(_: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    match args {
        [Value::Bool(b)] => Ok(Value::Bool(*b)),
        [Value::String(s)] => match s.as_ref() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
            _ => err(format!(
                "type conversion error from 'string' to 'bool': '{s}'"
            )),
        },
        _ => no_match(),
    }
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn size_and_string_predicates() {
        assert_true(&[
            "size('héllo') == 5",
            "'héllo'.size() == 5",
            "size(b'ab') == 2",
            "size([1, 2, 3]) == 3",
            "size({'a': 1}) == 1",
            "'kubernetes'.contains('bern')",
            "'kubernetes'.startsWith('kube')",
            "'kubernetes'.endsWith('tes')",
            "!'abc'.contains('x')",
        ]);
    }

    #[test]
    fn conversions() {
        assert_true(&[
            "int('42') == 42",
            "int(3.9) == 3",
            "int(-3.9) == -3",
            "int(7u) == 7",
            "uint(7) == 7u",
            "double(2) == 2.0",
            "double('1.5') == 1.5",
            "string(1.5) == '1.5'",
            "string(1e21) == '1e+21'",
            "string(1e6) == '1e+06'",
            "string(123456.0) == '123456'",
            "string(0.0001) == '0.0001'",
            "string(0.00001) == '1e-05'",
            "string(100.0) == '100'",
            "string(-7) == '-7'",
            "string(true) == 'true'",
            "string(b'abc') == 'abc'",
            "bytes('abc') == b'abc'",
            "bool('true') && !bool('False')",
            "type(1) == int && type('a') == string && type([]) == list && type({}) == map",
            "type(null) == null_type && type(int) == type && type(1u) == uint",
            "dyn(1) == 1",
            "int(timestamp('1970-01-01T00:01:00Z')) == 60",
        ]);
        assert_err(&[
            ("int('x')", "cannot convert"),
            ("int(9223372036854775808u)", "out of range"),
            ("uint(-1)", "out of range"),
            ("int(1e19)", "out of range"),
            ("bool('yes')", "conversion"),
            ("string(b'\\xff')", "UTF-8"),
        ]);
    }
}
