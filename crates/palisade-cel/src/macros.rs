//! Macro expansion: `has`, the comprehension macros and the optional macros.

use crate::ast::{CompKind, Comprehension, Expr, ExprKind};
use crate::parser::PErr;

/// Expands a global call, turning `has(a.b)` into a presence test.
pub(crate) fn expand_global(name: String, mut args: Vec<Expr>, off: usize) -> Result<Expr, PErr> {
    if name != "has" {
        return Ok(Expr::new(off, ExprKind::Call { name, args }));
    }
    let arg = match (args.pop(), args.is_empty()) {
        (Some(a), true) => a,
        _ => return Err((off, "has() takes exactly one argument".into())),
    };
    match arg.kind {
        ExprKind::Select {
            operand,
            field,
            optional: false,
        } => Ok(Expr::new(off, ExprKind::Has { operand, field })),
        _ => Err((
            off,
            "invalid argument to has() macro: expected a field selection such as has(a.b)".into(),
        )),
    }
}

fn var_name(e: &Expr) -> Result<String, PErr> {
    match &e.kind {
        ExprKind::Ident(n) => Ok(n.clone()),
        _ => Err((e.off, "argument must be a simple variable name".into())),
    }
}

/// Expands a receiver-style call if it names a macro; otherwise builds a method call.
pub(crate) fn expand_method(
    target: Expr,
    name: String,
    args: Vec<Expr>,
    off: usize,
) -> Result<Expr, PErr> {
    if name == "bind" && matches!(&target.kind, ExprKind::Ident(n) if n == "cel") && args.len() == 3
    {
        let mut it = args.into_iter();
        let (Some(v), Some(init), Some(body)) = (it.next(), it.next(), it.next()) else {
            return Err((off, "cel.bind() takes three arguments".into()));
        };
        let var = var_name(&v)?;
        return Ok(Expr::new(
            off,
            ExprKind::Bind {
                var,
                init: Box::new(init),
                body: Box::new(body),
            },
        ));
    }
    let kind = match name.as_str() {
        "all" => CompKind::All,
        "exists" => CompKind::Exists,
        "exists_one" | "existsOne" => CompKind::ExistsOne,
        "map" => CompKind::Map,
        "filter" => CompKind::Filter,
        "transformList" => CompKind::TransformList,
        "transformMap" => CompKind::TransformMap,
        "transformMapEntry" => CompKind::TransformMapEntry,
        "sortBy" => CompKind::SortBy,
        "optMap" | "optFlatMap" => return opt_map(target, &name, args, off),
        _ => {
            return Ok(Expr::new(
                off,
                ExprKind::Method {
                    target: Box::new(target),
                    name,
                    args,
                },
            ));
        }
    };
    let two_var_only = matches!(
        kind,
        CompKind::TransformList | CompKind::TransformMap | CompKind::TransformMapEntry
    );
    let allowed: &[usize] = match kind {
        CompKind::All | CompKind::Exists | CompKind::ExistsOne => &[2, 3],
        CompKind::Map => &[2, 3],
        CompKind::Filter | CompKind::SortBy => &[2],
        _ => &[3, 4],
    };
    if !allowed.contains(&args.len()) {
        // Not the macro's shape: let the checker report an unknown function instead of a macro error.
        return Ok(Expr::new(
            off,
            ExprKind::Method {
                target: Box::new(target),
                name,
                args,
            },
        ));
    }
    let mut it = args.into_iter();
    let mut next = || {
        it.next()
            .ok_or((off, format!("{name}() is missing arguments")))
    };
    let first = next()?;
    let var = var_name(&first)?;
    let (var2, filter, body) = match kind {
        _ if two_var_only => {
            let v2 = var_name(&next()?)?;
            let a = next()?;
            match next() {
                Ok(b) => (Some(v2), Some(a), b),
                Err(_) => (Some(v2), None, a),
            }
        }
        CompKind::Map => {
            let a = next()?;
            match next() {
                Ok(b) => (None, Some(a), b),
                Err(_) => (None, None, a),
            }
        }
        _ => {
            let a = next()?;
            match next() {
                Ok(b) => (Some(var_name(&a)?), None, b),
                Err(_) => (None, None, a),
            }
        }
    };
    if var2.as_deref() == Some(var.as_str()) {
        return Err((
            off,
            format!("{name}(): the two variables must have different names"),
        ));
    }
    let comp = Comprehension {
        kind,
        range: target,
        var,
        var2,
        filter,
        body,
    };
    Ok(Expr::new(off, ExprKind::Comprehension(Box::new(comp))))
}

fn opt_map(target: Expr, name: &str, args: Vec<Expr>, off: usize) -> Result<Expr, PErr> {
    let mut it = args.into_iter();
    match (it.next(), it.next(), it.next()) {
        (Some(v), Some(body), None) => Ok(Expr::new(
            off,
            ExprKind::OptMap {
                target: Box::new(target),
                var: var_name(&v)?,
                body: Box::new(body),
                flat: name == "optFlatMap",
            },
        )),
        _ => Err((
            off,
            format!("{name}() takes a variable name and an expression"),
        )),
    }
}
