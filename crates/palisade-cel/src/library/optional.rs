//! Optional values: `optional.of/none/ofNonZeroValue`, `hasValue`, `value`, `orValue`, `or`, unwrap.

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::registry::{Registry, sig};
use crate::types::Type::{self, *};
use crate::value::Value;

pub(crate) fn register(reg: &mut Registry) {
    let a = || Param("A");
    let oa = || Type::optional(a());
    reg.global(
        "optional.of",
        vec![sig(&[a()], oa())],
        |_, args| match args {
            [v] => Ok(Value::some(v.clone())),
            _ => no_match(),
        },
    );
    reg.global(
        "optional.none",
        vec![sig(&[], Type::optional(Dyn))],
        |_, args| match args {
            [] => Ok(Value::none()),
            _ => no_match(),
        },
    );
    reg.global(
        "optional.ofNonZeroValue",
        vec![sig(&[a()], oa())],
        |_, args| match args {
            [v] if is_zero(v) => Ok(Value::none()),
            [v] => Ok(Value::some(v.clone())),
            _ => no_match(),
        },
    );
    reg.method("hasValue", vec![sig(&[oa()], Bool)], |_, args| match args {
        [Value::Optional(o)] => Ok(Value::Bool(o.is_some())),
        _ => no_match(),
    });
    reg.method("value", vec![sig(&[oa()], a())], |_, args| match args {
        [Value::Optional(Some(v))] => Ok((**v).clone()),
        [Value::Optional(None)] => err("optional.none() dereference"),
        _ => no_match(),
    });
    reg.method(
        "orValue",
        vec![sig(&[oa(), a()], a())],
        |_, args| match args {
            [Value::Optional(Some(v)), _] => Ok((**v).clone()),
            [Value::Optional(None), d] => Ok(d.clone()),
            // cel-go returns a non-optional receiver as is (its planner short-circuits orValue).
            [v, _] => Ok(v.clone()),
            _ => no_match(),
        },
    );
    reg.method("or", vec![sig(&[oa(), oa()], oa())], |_, args| match args {
        [o @ Value::Optional(Some(_)), _] => Ok(o.clone()),
        [Value::Optional(None), o @ Value::Optional(_)] => Ok(o.clone()),
        // As with orValue, cel-go passes a non-optional receiver through.
        [v, _] if !matches!(v, Value::Optional(_)) => Ok(v.clone()),
        _ => no_match(),
    });
    let unwrap_sig = vec![sig(&[Type::list(oa())], Type::list(a()))];
    reg.global("optional.unwrap", unwrap_sig.clone(), unwrap);
    reg.method("unwrapOpt", unwrap_sig, unwrap);
}

fn unwrap(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::List(l)] = args else {
        return no_match();
    };
    ctx.charge(l.len() as u64)?;
    let mut out = Vec::new();
    for v in l.iter() {
        match v {
            Value::Optional(Some(x)) => out.push((**x).clone()),
            Value::Optional(None) => {}
            other => {
                return err(format!(
                    "optional.unwrap: element of type '{}' is not optional",
                    other.type_name()
                ));
            }
        }
    }
    Ok(Value::list(out))
}

/// The zero value of each kind, as `optional.ofNonZeroValue` tests it.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Double(d) => *d == 0.0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Timestamp(t) => t.as_second() == 0 && t.subsec_nanosecond() == 0,
        Value::Duration(d) => d.is_zero(),
        Value::Optional(o) => o.is_none(),
        Value::Type(_) | Value::Opaque(_) => false,
        Value::Doc(d) => d.len() == 0,
    }
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true, eval_with};
    use crate::value::Value;
    use serde_json::json;

    #[test]
    fn optional_functions() {
        assert_true(&[
            "optional.of(1).hasValue()",
            "!optional.none().hasValue()",
            "optional.of(1).value() == 1",
            "optional.none().orValue(5) == 5",
            "optional.of(2).orValue(5) == 2",
            "dyn([1]).orValue([]) == [1]",
            "dyn(dyn(3).or(optional.of(4))) == 3",
            "optional.none().or(optional.of(3)).value() == 3",
            "optional.of(1).or(optional.of(3)).value() == 1",
            "!optional.ofNonZeroValue('').hasValue()",
            "!optional.ofNonZeroValue(0).hasValue()",
            "optional.ofNonZeroValue([1]).hasValue()",
            "optional.of(1) == optional.of(1)",
            "optional.none() == optional.none()",
            "optional.unwrap([optional.of(1), optional.none(), optional.of(3)]) == [1, 3]",
            "[optional.of('a'), optional.none()].unwrapOpt() == ['a']",
            "optional.of(2).optMap(v, v * 10).value() == 20",
            "!optional.none().optMap(v, v * 10).hasValue()",
            "optional.of(2).optFlatMap(v, optional.of(v + 1)).value() == 3",
        ]);
        assert_err(&[("optional.none().value()", "optional.none() dereference")]);
    }

    #[test]
    fn optional_syntax_on_documents() {
        let doc = json!({"a": {"b": 1, "l": [10, 20]}, "m": {"k": "v"}});
        let cases: Vec<(&str, Value)> = vec![
            ("x.?a.?b.orValue(0)", Value::Int(1)),
            ("x.?a.?zz.orValue(0)", Value::Int(0)),
            ("x.?missing.?b.orValue(7)", Value::Int(7)),
            ("x.?missing.b.c.orValue(7)", Value::Int(7)),
            ("x.?a.b.orValue(7)", Value::Int(1)),
            ("x.a.l[?1].orValue(0)", Value::Int(20)),
            ("x.a.l[?5].orValue(0)", Value::Int(0)),
            ("x.m[?'k'].orValue('none')", Value::from("v")),
            ("x.m[?'q'].orValue('none')", Value::from("none")),
            ("x.?a.?b.hasValue()", Value::Bool(true)),
            ("x.?a.?l[?0].value()", Value::Int(10)),
            ("[1, ?x.?a.?zz, ?x.?a.?b] == [1, 1]", Value::Bool(true)),
            ("{'k': 1, ?'q': x.?nothing} == {'k': 1}", Value::Bool(true)),
            ("size({?'q': x.?a.?b})", Value::Int(1)),
        ];
        for (src, want) in cases {
            assert_eq!(eval_with(src, doc.clone()).unwrap(), want, "{src}");
        }
    }
}
