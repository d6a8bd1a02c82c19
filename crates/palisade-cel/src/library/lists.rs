//! List functions: Kubernetes' list library (isSorted, sum, min, max, indexOf, lastIndexOf) and
//! cel-go's `ext.Lists` (distinct, flatten, reverse, slice, sort, first, last, lists.range), which
//! Kyverno's environment adds.

use std::cmp::Ordering;

use crate::error::{RtError, err, no_match};
use crate::eval::Ctx;
use crate::eval::ops::{binary, compare, equals_counting};
use crate::registry::{Registry, sig};
use crate::types::Type as T;
use crate::value::Value;

/// Largest list `lists.range` builds (cel-go's default).
const MAX_RANGE: i64 = 1_000_000;

pub(crate) fn register(reg: &mut Registry) {
    let a = || T::Param("A");
    let la = || T::list(a());
    reg.method("isSorted", vec![sig(&[la()], T::Bool)], is_sorted);
    reg.method("sum", vec![sig(&[la()], a())], sum);
    reg.method("min", vec![sig(&[la()], a())], |c, args| {
        extreme(c, args, Ordering::Less)
    });
    reg.method("max", vec![sig(&[la()], a())], |c, args| {
        extreme(c, args, Ordering::Greater)
    });
    reg.method("indexOf", vec![sig(&[la(), a()], T::Int)], |c, args| {
        position(c, args, false)
    });
    reg.method("lastIndexOf", vec![sig(&[la(), a()], T::Int)], |c, args| {
        position(c, args, true)
    });
    reg.method("distinct", vec![sig(&[la()], la())], distinct);
    reg.method(
        "flatten",
        vec![
            sig(&[T::list(T::Dyn)], T::list(T::Dyn)),
            sig(&[T::list(T::Dyn), T::Int], T::list(T::Dyn)),
        ],
        flatten,
    );
    reg.method("reverse", vec![sig(&[la()], la())], |c, args| match args {
        [Value::List(l)] => {
            c.charge(l.len() as u64)?;
            Ok(Value::list(l.iter().rev().cloned().collect()))
        }
        _ => no_match(),
    });
    reg.method("slice", vec![sig(&[la(), T::Int, T::Int], la())], slice);
    reg.method("sort", vec![sig(&[la()], la())], sort);
    reg.method(
        "first",
        vec![sig(&[la()], T::optional(a()))],
        |_, args| match args {
            [Value::List(l)] => Ok(l.first().map_or(Value::none(), |v| Value::some(v.clone()))),
            _ => no_match(),
        },
    );
    reg.method(
        "last",
        vec![sig(&[la()], T::optional(a()))],
        |_, args| match args {
            [Value::List(l)] => Ok(l.last().map_or(Value::none(), |v| Value::some(v.clone()))),
            _ => no_match(),
        },
    );
    reg.global("lists.range", vec![sig(&[T::Int], T::list(T::Int))], range);
}

fn list_arg(args: &[Value]) -> Result<&[Value], RtError> {
    match args {
        [Value::List(l), ..] => Ok(l.as_slice()),
        _ => no_match(),
    }
}

fn is_sorted(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let l = list_arg(args)?;
    ctx.charge(l.len() as u64)?;
    for w in l.windows(2) {
        if let [a, b] = w
            && compare(a, b)? == Some(Ordering::Greater)
        {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn sum(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let l = list_arg(args)?;
    ctx.charge(l.len() as u64)?;
    let mut it = l.iter();
    let Some(first) = it.next() else {
        return Ok(Value::Int(0));
    };
    let mut acc = first.clone();
    for v in it {
        acc = binary(ctx, crate::ast::BinOp::Add, &acc, v)?;
    }
    Ok(acc)
}

fn extreme(ctx: &mut Ctx<'_>, args: &[Value], keep: Ordering) -> Result<Value, RtError> {
    let l = list_arg(args)?;
    ctx.charge(l.len() as u64)?;
    let mut it = l.iter();
    let Some(mut best) = it.next() else {
        let name = if keep == Ordering::Less { "min" } else { "max" };
        return err(format!("{name} called on empty list"));
    };
    for v in it {
        if compare(v, best)? == Some(keep) {
            best = v;
        }
    }
    Ok(best.clone())
}

fn position(ctx: &mut Ctx<'_>, args: &[Value], last: bool) -> Result<Value, RtError> {
    let [Value::List(l), x] = args else {
        return no_match();
    };
    let mut work = 0;
    let found = if last {
        l.iter().rposition(|v| equals_counting(v, x, &mut work))
    } else {
        l.iter().position(|v| equals_counting(v, x, &mut work))
    };
    ctx.charge(work)?;
    Ok(Value::Int(found.map_or(-1, |i| i as i64)))
}

fn distinct(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let l = list_arg(args)?;
    ctx.charge((l.len() as u64).saturating_mul(l.len() as u64))?;
    let mut out: Vec<Value> = Vec::new();
    let mut work = 0;
    for v in l {
        if !out.iter().any(|o| equals_counting(o, v, &mut work)) {
            out.push(v.clone());
        }
    }
    ctx.charge(work)?;
    Ok(Value::list(out))
}

fn flatten(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let (l, depth) = match args {
        [Value::List(l)] => (l, 1),
        [Value::List(l), Value::Int(d)] if *d >= 0 => (l, *d),
        [Value::List(_), Value::Int(_)] => return err("flatten: level must be non-negative"),
        _ => return no_match(),
    };
    let mut out = Vec::new();
    flatten_into(ctx, l, depth, &mut out)?;
    Ok(Value::list(out))
}

fn flatten_into(
    ctx: &mut Ctx<'_>,
    l: &[Value],
    depth: i64,
    out: &mut Vec<Value>,
) -> Result<(), RtError> {
    ctx.charge(l.len() as u64)?;
    for v in l {
        match v {
            Value::List(inner) if depth > 0 => flatten_into(ctx, inner, depth - 1, out)?,
            other => out.push(other.clone()),
        }
    }
    Ok(())
}

fn slice(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::List(l), Value::Int(a), Value::Int(b)] = args else {
        return no_match();
    };
    let (Ok(s), Ok(e)) = (usize::try_from(*a), usize::try_from(*b)) else {
        return err(format!(
            "cannot slice({a}, {b}), negative indexes not supported"
        ));
    };
    if s > e {
        return err(format!(
            "cannot slice({a}, {b}), start index must be less than or equal to end index"
        ));
    }
    if e > l.len() {
        return err(format!(
            "cannot slice({a}, {b}), list is length {}",
            l.len()
        ));
    }
    ctx.charge((e - s) as u64)?;
    Ok(Value::list(l.get(s..e).unwrap_or_default().to_vec()))
}

/// Sorts values, failing on the first pair that cannot be ordered.
pub(crate) fn sort_values(
    ctx: &mut Ctx<'_>,
    mut items: Vec<(Value, Value)>,
) -> Result<Vec<Value>, RtError> {
    let n = items.len() as u64;
    ctx.charge(n.saturating_mul(64 - n.leading_zeros() as u64))?;
    let mut failure = None;
    items.sort_by(|(ka, _), (kb, _)| match compare(ka, kb) {
        Ok(o) => o.unwrap_or(Ordering::Equal),
        Err(e) => {
            failure.get_or_insert(e);
            Ordering::Equal
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(items.into_iter().map(|(_, v)| v).collect()),
    }
}

fn sort(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let l = list_arg(args)?;
    let items = l.iter().map(|v| (v.clone(), v.clone())).collect();
    sort_values(ctx, items).map(Value::list)
}

fn range(ctx: &mut Ctx<'_>, args: &[Value]) -> Result<Value, RtError> {
    let [Value::Int(n)] = args else {
        return no_match();
    };
    if *n > MAX_RANGE {
        return err(format!(
            "lists.range: {n} exceeds the maximum of {MAX_RANGE}"
        ));
    }
    let n = (*n).max(0);
    ctx.charge(n as u64)?;
    Ok(Value::list((0..n).map(Value::Int).collect()))
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn kubernetes_list_library() {
        assert_true(&[
            "[1, 2, 3].isSorted()",
            "![3, 1].isSorted()",
            "['a', 'b'].isSorted()",
            "[].isSorted()",
            "[1, 2, 3].sum() == 6",
            "[1.5, 2.5].sum() == 4.0",
            "[].sum() == 0",
            "[duration('1s'), duration('2s')].sum() == duration('3s')",
            "[3, 1, 2].min() == 1",
            "[3, 1, 2].max() == 3",
            "['b', 'a'].min() == 'a'",
            "[1, 2, 3, 2].indexOf(2) == 1",
            "[1, 2, 3, 2].lastIndexOf(2) == 3",
            "[1, 2].indexOf(9) == -1",
        ]);
        assert_err(&[
            ("[].min()", "empty list"),
            ("[9223372036854775807, 1].sum()", "overflow"),
        ]);
    }

    #[test]
    fn ext_list_library() {
        assert_true(&[
            "[1, 2, 2, 1, 3].distinct() == [1, 2, 3]",
            "[[1], [2, 3]].flatten() == [1, 2, 3]",
            "[dyn(1), [dyn(2), [3]]].flatten() == [dyn(1), 2, [3]]",
            "[dyn(1), [dyn(2), [3]]].flatten(2) == [1, 2, 3]",
            "[1, 2, 3].reverse() == [3, 2, 1]",
            "[1, 2, 3, 4].slice(1, 3) == [2, 3]",
            "[3, 1, 2].sort() == [1, 2, 3]",
            "['b', 'a'].sort() == ['a', 'b']",
            "[1, 2].first().value() == 1",
            "![].last().hasValue()",
            "lists.range(3) == [0, 1, 2]",
            "[{'n': 'b', 'v': 'y'}, {'n': 'a', 'v': 'x'}].sortBy(e, e.v).map(e, e.n) == ['a', 'b']",
        ]);
        assert_err(&[
            ("[1, 2].slice(1, 5)", "list is length 2"),
            ("[1, 2].slice(2, 1)", "start index"),
            ("[1, 'a'].sort()", "compile"),
            ("[dyn(1), 'a'].sort()", "no such overload"),
        ]);
    }
}
