//! Standard JMESPath builtins, with go-jmespath's behaviour.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::{Arg, Category, FnDef, Ty, expref, n, p, s, v, var};
use crate::error::{Error, ErrorKind};
use crate::interp::{Interp, num};
use crate::value::{equal, order, type_name};

const C: Category = Category::JMESPath;
const NUM: &[Ty] = &[Ty::Number];
const STR: &[Ty] = &[Ty::String];
const ANY: &[Ty] = &[Ty::Any];
const ARR: &[Ty] = &[Ty::Array];
const OBJ: &[Ty] = &[Ty::Object];
const EXP: &[Ty] = &[Ty::ExpRef];

macro_rules! def {
    ($name:literal, $sig:literal, $doc:literal, [$($param:expr),*], $imp:expr) => {
        FnDef { name: $name, sig: $sig, doc: $doc, cat: C, params: &[$($param),*], imp: $imp }
    };
}

/// The builtins (Kyverno's `sum` replaces the standard one, see `arithmetic`).
pub(crate) static DEFS: &[FnDef] = &[
    def!(
        "abs",
        "abs(number) number",
        "Absolute value.",
        [p(NUM)],
        |a, _| Ok(num(n(a, 0).abs()))
    ),
    def!(
        "avg",
        "avg(array[number]) number",
        "Average of the numbers; null for an empty array.",
        [p(&[Ty::ArrayNumber])],
        avg
    ),
    def!(
        "ceil",
        "ceil(number) number",
        "Smallest integer not below the number.",
        [p(NUM)],
        |a, _| Ok(num(n(a, 0).ceil()))
    ),
    def!(
        "floor",
        "floor(number) number",
        "Largest integer not above the number.",
        [p(NUM)],
        |a, _| Ok(num(n(a, 0).floor()))
    ),
    def!(
        "contains",
        "contains(array|string, any) boolean",
        "True if the array has the element or the string has the substring.",
        [p(&[Ty::Array, Ty::String]), p(ANY)],
        contains
    ),
    def!(
        "ends_with",
        "ends_with(string, string) boolean",
        "True if the first string ends with the second.",
        [p(STR), p(STR)],
        |a, _| Ok(Value::Bool(s(a, 0).ends_with(s(a, 1))))
    ),
    def!(
        "starts_with",
        "starts_with(string, string) boolean",
        "True if the first string starts with the second.",
        [p(STR), p(STR)],
        |a, _| Ok(Value::Bool(s(a, 0).starts_with(s(a, 1))))
    ),
    def!(
        "join",
        "join(string, array[string]) string",
        "Joins the strings with the separator.",
        [p(STR), p(&[Ty::ArrayString])],
        join
    ),
    def!(
        "keys",
        "keys(object) array[string]",
        "The object's keys.",
        [p(OBJ)],
        |a, _| Ok(Value::Array(
            obj(a, 0).keys().map(|k| Value::String(k.clone())).collect()
        ))
    ),
    def!(
        "values",
        "values(object) array",
        "The object's values.",
        [p(OBJ)],
        |a, _| Ok(Value::Array(obj(a, 0).values().cloned().collect()))
    ),
    def!(
        "length",
        "length(string|array|object) number",
        "Characters of a string, elements of an array, keys of an object.",
        [p(&[Ty::String, Ty::Array, Ty::Object])],
        length
    ),
    def!(
        "map",
        "map(expression, array) array",
        "Applies the expression to every element.",
        [p(EXP), p(ARR)],
        map
    ),
    def!(
        "max",
        "max(array[number]|array[string]) number|string",
        "Largest element; null for an empty array.",
        [p(&[Ty::ArrayNumber, Ty::ArrayString])],
        |a, _| extreme(a, Ordering::Greater)
    ),
    def!(
        "min",
        "min(array[number]|array[string]) number|string",
        "Smallest element; null for an empty array.",
        [p(&[Ty::ArrayNumber, Ty::ArrayString])],
        |a, _| extreme(a, Ordering::Less)
    ),
    def!(
        "max_by",
        "max_by(array, expression->number|string) any",
        "Element with the largest key.",
        [p(ARR), p(EXP)],
        |a, i| extreme_by(a, i, Ordering::Greater, "max_by")
    ),
    def!(
        "min_by",
        "min_by(array, expression->number|string) any",
        "Element with the smallest key.",
        [p(ARR), p(EXP)],
        |a, i| extreme_by(a, i, Ordering::Less, "min_by")
    ),
    def!(
        "merge",
        "merge(object, ...object) object",
        "Merges objects; later keys win.",
        [var(OBJ)],
        merge
    ),
    def!(
        "not_null",
        "not_null(any, ...any) any",
        "First argument that is not null.",
        [var(ANY)],
        |a, _| Ok(a
            .iter()
            .map(Arg::value)
            .find(|x| !x.is_null())
            .cloned()
            .unwrap_or(Value::Null))
    ),
    def!(
        "reverse",
        "reverse(string|array) string|array",
        "Reverses a string or an array.",
        [p(&[Ty::String, Ty::Array])],
        reverse
    ),
    def!(
        "sort",
        "sort(array[number]|array[string]) array",
        "Sorts numbers or strings.",
        [p(&[Ty::ArrayNumber, Ty::ArrayString])],
        sort
    ),
    def!(
        "sort_by",
        "sort_by(array, expression->number|string) array",
        "Sorts by the expression's value (stable).",
        [p(ARR), p(EXP)],
        sort_by
    ),
    def!(
        "to_array",
        "to_array(any) array",
        "Wraps a non-array in an array.",
        [p(ANY)],
        |a, _| Ok(match v(a, 0) {
            Value::Array(x) => Value::Array(x.clone()),
            other => Value::Array(vec![other.clone()]),
        })
    ),
    def!(
        "to_number",
        "to_number(any) number",
        "Number from a number or numeric string; else null.",
        [p(ANY)],
        to_number
    ),
    def!(
        "to_string",
        "to_string(any) string",
        "The string itself, or the value as JSON.",
        [p(ANY)],
        |a, _| Ok(Value::String(match v(a, 0) {
            Value::String(x) => x.clone(),
            other => go_json(other),
        }))
    ),
    def!(
        "type",
        "type(any) string",
        "The JMESPath type name.",
        [p(ANY)],
        |a, _| Ok(Value::String(type_name(v(a, 0)).to_string()))
    ),
];

fn obj<'a>(a: &'a [Arg<'_>], i: usize) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    v(a, i)
        .as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn arr<'a>(a: &'a [Arg<'_>], i: usize) -> &'a [Value] {
    v(a, i).as_array().map_or(&[], Vec::as_slice)
}

fn avg(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let items = arr(a, 0);
    if items.is_empty() {
        return Ok(Value::Null);
    }
    let total: f64 = items.iter().filter_map(Value::as_f64).sum();
    Ok(num(total / items.len() as f64))
}

fn contains(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    Ok(Value::Bool(match (v(a, 0), v(a, 1)) {
        (Value::String(hay), Value::String(needle)) => hay.contains(needle.as_str()),
        (Value::String(_), _) => false,
        (Value::Array(items), x) => items.iter().any(|i| equal(i, x)),
        _ => false,
    }))
}

fn join(a: &[Arg<'_>], interp: &mut Interp<'_>) -> Result<Value, Error> {
    let parts: Vec<&str> = arr(a, 1).iter().filter_map(Value::as_str).collect();
    let sep = s(a, 0);
    // A long separator between many empty strings outgrows the input.
    let len = parts
        .iter()
        .map(|p| p.len())
        .fold(0usize, usize::saturating_add);
    let seps = sep.len().saturating_mul(parts.len().saturating_sub(1));
    interp.ensure_room("join", len.saturating_add(seps))?;
    Ok(Value::String(parts.join(sep)))
}

fn length(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let len = match v(a, 0) {
        Value::String(x) => x.chars().count(),
        Value::Array(x) => x.len(),
        Value::Object(x) => x.len(),
        _ => 0,
    };
    Ok(num(len as f64))
}

fn map(a: &[Arg<'_>], interp: &mut Interp<'_>) -> Result<Value, Error> {
    let node = expref(a, 0)?;
    let out = arr(a, 1)
        .iter()
        .map(|x| interp.eval_ref(node, x))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(out))
}

fn extreme(a: &[Arg<'_>], want: Ordering) -> Result<Value, Error> {
    let mut best: Option<&Value> = None;
    for x in arr(a, 0) {
        if best.is_none_or(|b| order(x, b) == Some(want)) {
            best = Some(x);
        }
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

fn keyed(
    a: &[Arg<'_>],
    interp: &mut Interp<'_>,
    fname: &str,
) -> Result<Vec<(Value, Value)>, Error> {
    let node = expref(a, 1)?;
    let mut out = Vec::new();
    let mut kind: Option<&'static str> = None;
    for x in arr(a, 0) {
        let key = interp.eval_ref(node, x)?;
        let t = type_name(&key);
        if !matches!(t, "number" | "string") || kind.is_some_and(|k| k != t) {
            return Err(Error::new(
                ErrorKind::InvalidType,
                format!(
                    "JMESPath function '{fname}': invalid type for: {key} ({t}), expected: number|string, all the same"
                ),
            ));
        }
        kind = Some(t);
        out.push((key, x.clone()));
    }
    Ok(out)
}

fn extreme_by(
    a: &[Arg<'_>],
    interp: &mut Interp<'_>,
    want: Ordering,
    fname: &str,
) -> Result<Value, Error> {
    let mut best: Option<(Value, Value)> = None;
    for (k, x) in keyed(a, interp, fname)? {
        if best
            .as_ref()
            .is_none_or(|(bk, _)| order(&k, bk) == Some(want))
        {
            best = Some((k, x));
        }
    }
    Ok(best.map_or(Value::Null, |(_, x)| x))
}

fn merge(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let mut out = Map::new();
    for arg in a {
        if let Value::Object(m) = arg.value() {
            for (k, x) in m {
                out.insert(k.clone(), x.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

fn reverse(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    Ok(match v(a, 0) {
        Value::String(x) => Value::String(x.chars().rev().collect()),
        Value::Array(x) => Value::Array(x.iter().rev().cloned().collect()),
        other => other.clone(),
    })
}

fn sort(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    let mut items = arr(a, 0).to_vec();
    items.sort_by(|x, y| order(x, y).unwrap_or(Ordering::Equal));
    Ok(Value::Array(items))
}

fn sort_by(a: &[Arg<'_>], interp: &mut Interp<'_>) -> Result<Value, Error> {
    let mut items = keyed(a, interp, "sort_by")?;
    items.sort_by(|(x, _), (y, _)| order(x, y).unwrap_or(Ordering::Equal));
    Ok(Value::Array(items.into_iter().map(|(_, x)| x).collect()))
}

fn to_number(a: &[Arg<'_>], _: &mut Interp<'_>) -> Result<Value, Error> {
    Ok(match v(a, 0) {
        Value::Number(x) => Value::Number(x.clone()),
        Value::String(x) => parse_go_float(x).map_or(Value::Null, num),
        _ => Value::Null,
    })
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input (no hex, no underscores).
fn parse_go_float(x: &str) -> Option<f64> {
    let t = x.strip_prefix(['+', '-']).unwrap_or(x);
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return None;
    }
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    x.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `json.Marshal` text: float64 numbers, sorted keys, HTML characters escaped.
pub(crate) fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(x) => out.push_str(&palisade_primitives::gofloat::format_json(
            x.as_f64().unwrap_or(0.0),
        )),
        Value::String(x) => write_go_string(x, out),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                write_go_json(x, out);
            }
            out.push('}');
        }
    }
}

fn write_go_string(x: &str, out: &mut String) {
    out.push('"');
    for c in x.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)))
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::functions::testutil::{check, check_err};

    #[test]
    fn table() {
        check(&[
            ("abs(`-1.5`)", json!(1.5)),
            ("avg(`[1, 2, 3]`)", json!(2)),
            ("avg(`[]`)", json!(null)),
            ("ceil(`1.2`)", json!(2)),
            ("floor(`1.8`)", json!(1)),
            ("contains('abc', 'b')", json!(true)),
            ("contains(`[1, 2]`, `2.0`)", json!(true)),
            ("ends_with('abc', 'bc')", json!(true)),
            ("join('-', `[\"a\", \"b\"]`)", json!("a-b")),
            ("keys(`{\"b\": 1, \"a\": 2}`)", json!(["a", "b"])),
            ("length('héllo')", json!(5)),
            ("map(&a, `[{\"a\": 1}, {\"b\": 2}]`)", json!([1, null])),
            ("max(`[1, 3, 2]`)", json!(3)),
            ("min(`[\"b\", \"a\"]`)", json!("a")),
            ("max_by(`[{\"a\": 1}, {\"a\": 5}]`, &a)", json!({"a": 5})),
            (
                "merge(`{\"a\": 1}`, `{\"a\": 2, \"b\": 3}`)",
                json!({"a": 2, "b": 3}),
            ),
            ("not_null(`null`, 'x')", json!("x")),
            ("reverse('abc')", json!("cba")),
            ("sort(`[3, 1, 2]`)", json!([1, 2, 3])),
            (
                "sort_by(`[{\"a\": 2}, {\"a\": 1}]`, &a)",
                json!([{"a": 1}, {"a": 2}]),
            ),
            ("to_array('a')", json!(["a"])),
            ("to_number('1.5')", json!(1.5)),
            ("to_number('x')", json!(null)),
            ("to_string(`[1, \"<\"]`)", json!("[1,\"\\u003c\"]")),
            ("type(`{}`)", json!("object")),
        ]);
        check_err(&[
            ("abs('x')", "invalid type"),
            ("abs(`1`, `2`)", "arity"),
            ("merge()", "arity"),
            (
                "sort_by(`[{\"a\": 2}, {\"a\": \"x\"}]`, &a)",
                "invalid type",
            ),
            ("nope(@)", "unknown function"),
        ]);
    }

    #[test]
    fn join_with_a_long_separator_is_bounded() {
        use crate::functions::testutil::eval;
        let data = json!({"sep": "x".repeat(20_000), "parts": vec![""; 20_001]});
        let e = eval("join(sep, parts)", &data).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Limit);
        assert_eq!(
            eval("join(', ', `[\"a\", \"b\"]`)", &json!(null)).unwrap(),
            json!("a, b")
        );
    }
}
