//! Typing rules for literals, selection, indexing, operators and function overloads.

use crate::ast::BinOp;
use crate::registry::FuncDef;
use crate::types::{Bindings, Type, assignable};
use crate::value::Value;

type CResult = Result<Type, (usize, String)>;

pub(crate) fn literal_type(v: &Value) -> Type {
    match v {
        Value::Null => Type::Null,
        Value::Bool(_) => Type::Bool,
        Value::Int(_) => Type::Int,
        Value::Uint(_) => Type::Uint,
        Value::Double(_) => Type::Double,
        Value::String(_) => Type::String,
        Value::Bytes(_) => Type::Bytes,
        _ => Type::Dyn,
    }
}

pub(super) fn select_type(t: &Type, field: &str, optional: bool, off: usize) -> CResult {
    let wrap = |inner: Type| {
        if optional {
            Type::optional(inner)
        } else {
            inner
        }
    };
    match t {
        Type::Dyn => Ok(wrap(Type::Dyn)),
        Type::Map(k, v) if matches!(**k, Type::String | Type::Dyn) => Ok(wrap((**v).clone())),
        Type::Optional(inner) => select_type(inner, field, false, off).map(Type::optional),
        t => Err((
            off,
            format!("type '{t}' does not support field selection ('.{field}')"),
        )),
    }
}

pub(super) fn index_type(t: &Type, i: &Type, optional: bool, off: usize) -> CResult {
    let wrap = |inner: Type| {
        if optional {
            Type::optional(inner)
        } else {
            inner
        }
    };
    let num = matches!(i, Type::Int | Type::Uint | Type::Double | Type::Dyn);
    match t {
        Type::Dyn => Ok(wrap(Type::Dyn)),
        Type::List(e) if num => Ok(wrap((**e).clone())),
        Type::Map(k, v)
            if k.compatible(i)
                || matches!(
                    (&**k, i),
                    (
                        Type::Int | Type::Uint | Type::Double,
                        Type::Int | Type::Uint | Type::Double
                    )
                ) =>
        {
            Ok(wrap((**v).clone()))
        }
        Type::Optional(inner) => index_type(inner, i, false, off).map(Type::optional),
        t => Err(no_overload(off, "_[_]", &[t.clone(), i.clone()])),
    }
}

pub(super) fn binary_type(op: BinOp, l: &Type, r: &Type) -> Option<Type> {
    use Type::*;
    let numeric = |t: &Type| matches!(t, Int | Uint | Double);
    match op {
        BinOp::Eq | BinOp::Ne => l.compatible(r).then_some(Bool),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ok = l.is_dyn()
                || r.is_dyn()
                || (numeric(l) && numeric(r))
                || (l == r && matches!(l, Bool | String | Bytes | Timestamp | Duration));
            ok.then_some(Bool)
        }
        BinOp::In => match r {
            Dyn => Some(Bool),
            List(e) => (e.compatible(l) || (numeric(e) && numeric(l))).then_some(Bool),
            Map(k, _) => (k.compatible(l) || (numeric(k) && numeric(l))).then_some(Bool),
            _ => None,
        },
        _ if l.is_dyn() && r.is_dyn() => Some(Dyn),
        _ => arith_type(op, l, r),
    }
}

fn arith_type(op: BinOp, l: &Type, r: &Type) -> Option<Type> {
    use Type::*;
    let same = |ok: bool| ok.then(|| if l.is_dyn() { r.clone() } else { l.clone() });
    let both = |f: &dyn Fn(&Type) -> bool| {
        (f(l) || l.is_dyn()) && (f(r) || r.is_dyn()) && (l.compatible(r))
    };
    match op {
        BinOp::Add => match (l, r) {
            (Timestamp, Duration) | (Duration, Timestamp) => Some(Timestamp),
            (Timestamp | Duration, Dyn) | (Dyn, Timestamp | Duration) => Some(Dyn),
            (List(a), List(b)) => Some(List(Box::new(a.join(b)))),
            _ => same(both(&|t| {
                matches!(t, Int | Uint | Double | String | Bytes | Duration | List(_))
            })),
        },
        BinOp::Sub => match (l, r) {
            (Timestamp, Timestamp) => Some(Duration),
            (Timestamp, Duration) => Some(Timestamp),
            (Timestamp, Dyn) | (Dyn, Timestamp) => Some(Dyn),
            _ => same(both(&|t| matches!(t, Int | Uint | Double | Duration))),
        },
        BinOp::Mul | BinOp::Div => same(both(&|t| matches!(t, Int | Uint | Double))),
        BinOp::Rem => same(both(&|t| matches!(t, Int | Uint))),
        _ => None,
    }
}

pub(crate) fn no_overload(off: usize, name: &str, tys: &[Type]) -> (usize, String) {
    let list: Vec<String> = tys.iter().map(|t| t.to_string()).collect();
    (
        off,
        format!(
            "found no matching overload for '{name}' applied to '({})'",
            list.join(", ")
        ),
    )
}

pub(super) fn resolve(def: Option<&FuncDef>, name: &str, tys: &[Type], off: usize) -> CResult {
    let Some(def) = def else {
        return Err((off, format!("undeclared reference to '{name}'")));
    };
    let mut result: Option<Type> = None;
    for o in def.overloads.iter().filter(|o| o.params.len() == tys.len()) {
        let mut b = Bindings::new();
        if o.params
            .iter()
            .zip(tys)
            .all(|(p, a)| assignable(p, a, &mut b))
        {
            let r = o.result.substitute(&b);
            result = Some(match result {
                None => r,
                Some(prev) if prev == r => prev,
                Some(_) => Type::Dyn,
            });
        }
    }
    if result.is_none() && !def.overloads.iter().any(|o| o.params.len() == tys.len()) {
        let arities: Vec<String> = def
            .overloads
            .iter()
            .map(|o| o.params.len().to_string())
            .collect();
        return Err((
            off,
            format!(
                "wrong number of arguments for '{name}': got {}, expected {}",
                tys.len(),
                arities.join(" or ")
            ),
        ));
    }
    result.ok_or_else(|| no_overload(off, name, tys))
}
