//! `string.format(list)` from cel-go's strings extension: `%s %d %f %e %x %X %o %b %%`.

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::library::core::format_double_g;
use crate::library::time::{format_duration, format_timestamp};
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::Value;

/// Largest precision accepted in `%.Nf` / `%.Ne`.
const MAX_PRECISION: usize = 1000;

pub(crate) fn register(reg: &mut Registry) {
    reg.method(
        "format",
        vec![sig(&[T::String, T::list(T::Dyn)], T::String)],
        format,
    );
}

fn format(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::String(f), Value::List(vals)] = args else {
        return no_match();
    };
    ctx.charge_size(f.len())?;
    let mut out = String::new();
    let mut chars = f.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            let p: usize = digits
                .parse()
                .map_err(|_| RtError::from("format: invalid precision"))?;
            // A huge precision would allocate before the cost of the output is charged.
            if p > MAX_PRECISION {
                return err(format!(
                    "format: precision {p} exceeds the maximum of {MAX_PRECISION}"
                ));
            }
            precision = Some(p);
        }
        let Some(verb) = chars.next() else {
            return err("format: unterminated format verb at end of string");
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = vals.get(next_arg) else {
            return err(format!("index {next_arg} out of range"));
        };
        next_arg += 1;
        let piece = verb_format(verb, precision, arg)?;
        ctx.charge_size(piece.len())?;
        out.push_str(&piece);
    }
    Ok(Value::from(out))
}

fn verb_format(verb: char, precision: Option<usize>, v: &Value) -> Result<String, RtError> {
    match verb {
        's' => Ok(as_string(v)),
        'd' => match v {
            Value::Int(i) => Ok(i.to_string()),
            Value::Uint(u) => Ok(u.to_string()),
            _ => bad_arg("decimal clause can only be used on integers", v),
        },
        'f' => fixed(v, precision.unwrap_or(6)),
        'e' => scientific(v, precision.unwrap_or(6)),
        'x' | 'X' => {
            let s = match v {
                Value::Int(i) if *i < 0 => format!("-{:x}", i.unsigned_abs()),
                Value::Int(i) => format!("{i:x}"),
                Value::Uint(u) => format!("{u:x}"),
                Value::String(s) => s.bytes().map(|b| format!("{b:02x}")).collect(),
                Value::Bytes(b) => b.iter().map(|b| format!("{b:02x}")).collect(),
                _ => {
                    return bad_arg(
                        "only integers, byte buffers, and strings can be formatted as hex",
                        v,
                    );
                }
            };
            Ok(if verb == 'X' { s.to_uppercase() } else { s })
        }
        'o' => match v {
            Value::Int(i) if *i < 0 => Ok(format!("-{:o}", i.unsigned_abs())),
            Value::Int(i) => Ok(format!("{i:o}")),
            Value::Uint(u) => Ok(format!("{u:o}")),
            _ => bad_arg("octal clause can only be used on integers", v),
        },
        'b' => match v {
            Value::Int(i) if *i < 0 => Ok(format!("-{:b}", i.unsigned_abs())),
            Value::Int(i) => Ok(format!("{i:b}")),
            Value::Uint(u) => Ok(format!("{u:b}")),
            Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
            _ => bad_arg("only integers and bools can be formatted as binary", v),
        },
        other => err(format!(
            "could not parse formatting clause: unrecognized formatting clause \"{other}\""
        )),
    }
}

fn bad_arg<T>(what: &str, v: &Value) -> Result<T, RtError> {
    err(format!(
        "error during formatting: {what}, was given {}",
        v.type_name()
    ))
}

fn non_finite(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d > 0.0 {
        "Infinity".into()
    } else {
        "-Infinity".into()
    }
}

fn as_float(clause: &str, v: &Value) -> Result<f64, RtError> {
    match v {
        Value::Double(d) => Ok(*d),
        _ => bad_arg(&format!("{clause} clause can only be used on doubles"), v),
    }
}

fn fixed(v: &Value, p: usize) -> Result<String, RtError> {
    let d = as_float("fixed-point", v)?;
    Ok(if d.is_finite() {
        format!("{d:.p$}")
    } else {
        non_finite(d)
    })
}

fn scientific(v: &Value, p: usize) -> Result<String, RtError> {
    let d = as_float("scientific", v)?;
    if !d.is_finite() {
        return Ok(non_finite(d));
    }
    let s = format!("{d:.p$e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    Ok(format!(
        "{mant}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    ))
}

/// The `%s` rendering of any value.
pub(crate) fn as_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Double(d) if !d.is_finite() => non_finite(*d),
        Value::Double(d) => format_double_g(*d),
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::List(l) => format!(
            "[{}]",
            l.iter().map(as_string).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(m) => {
            // cel-go sorts entries by the rendered key.
            let mut entries: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| (as_string(&k.to_value()), as_string(v)))
                .collect();
            entries.sort();
            let parts: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Timestamp(t) => format_timestamp(*t),
        Value::Duration(d) => format_duration(*d),
        Value::Type(t) => t.to_string(),
        Value::Optional(Some(v)) => format!("optional.of({})", as_string(v)),
        Value::Optional(None) => "optional.none()".into(),
        Value::Opaque(o) => match o.to_json() {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        },
        Value::Doc(d) => as_string(&d.materialize()),
    }
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn format_verbs() {
        assert_true(&[
            "'%s is %d years'.format(['Ann', dyn(42)]) == 'Ann is 42 years'",
            "'%.2f'.format([3.14159]) == '3.14'",
            "'%f'.format([2.71828]) == '2.718280'",
            "'%.0f'.format([2.5]) == '2' && '%.0f'.format([1.5]) == '2' && '%.3f'.format([-123.4999]) == '-123.500'",
            "'%.6e'.format([1052.032911275]) == '1.052033e+03'",
            "'%s'.format([[double('NaN'), double('Infinity'), double('-Infinity')]]) == '[NaN, Infinity, -Infinity]'",
            "'%s'.format([{'strKey': dyn('x'), dyn(6): duration('422s'), dyn(true): 42}]) == '{6: 422s, strKey: x, true: 42}'",
            "'%%%s%%'.format(['text']) == '%text%'",
            "'%X'.format([dyn(26)]) == '1A' && '%x'.format([dyn(500u)]) == '1f4'",
            "'%e'.format([1234.5]) == '1.234500e+03'",
            "'%x %X'.format([dyn(255), 'hi']) == 'ff 6869'",
            "'%o %b'.format([8, 5]) == '10 101'",
            "'100%%'.format([]) == '100%'",
            "'%s'.format([[dyn(1), 'a', null]]) == '[1, a, null]'",
            "'%s'.format([{'k': true}]) == '{k: true}'",
            "'%s'.format([1.5]) == '1.5'",
            "'%s'.format([duration('90s')]) == '90s'",
            "'%d'.format([-7]) == '-7'",
        ]);
        assert_err(&[
            ("'%s %d'.format(['x', 1])", "dyn()"),
            (
                "'%d'.format(['x'])",
                "decimal clause can only be used on integers, was given string",
            ),
            ("'%d %d %d'.format([0, 1])", "index 2 out of range"),
            ("'%a'.format([1])", "unrecognized formatting clause \"a\""),
            ("'%E'.format([0.5])", "unrecognized formatting clause \"E\""),
            (
                "'%b'.format(['abc'])",
                "only integers and bools can be formatted as binary, was given string",
            ),
            (
                "'%d'.format([duration('30m2s')])",
                "was given google.protobuf.Duration",
            ),
            ("'%x'.format([0.5])", "formatted as hex, was given double"),
            (
                "'%f'.format([null])",
                "fixed-point clause can only be used on doubles, was given null_type",
            ),
            (
                "'%e'.format([null])",
                "scientific clause can only be used on doubles",
            ),
            ("'%.99999999f'.format([1.0])", "exceeds the maximum"),
        ]);
    }
}
