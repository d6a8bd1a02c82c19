//! Rewrites after checking: list literals whose elements are all literals become one
//! literal, so `x in ['a', 'b']` does not rebuild the list on every evaluation; optional chains
//! of field selections under `orValue` / `hasValue` are prepared ([`OptChain`]).

use crate::ast::{ChainStep, Expr, ExprKind, OptChain};
use crate::doc::FieldKey;
use crate::value::Value;

/// Folds constant list literals and prepares optional chains throughout `e`, innermost first.
pub(crate) fn fold(e: &mut Expr) {
    for child in children_mut(e) {
        fold(child);
    }
    prepare_chain(e);
    if let ExprKind::List(elems) = &e.kind
        && !elems.is_empty()
        && elems
            .iter()
            .all(|(x, opt)| !opt && matches!(x.kind, ExprKind::Lit(_)))
    {
        let values: Vec<Value> = elems
            .iter()
            .filter_map(|(x, _)| match &x.kind {
                ExprKind::Lit(v) => Some(v.clone()),
                _ => None,
            })
            .collect();
        e.kind = ExprKind::Lit(Value::list(values));
    }
}

fn children_mut(e: &mut Expr) -> Vec<&mut Expr> {
    match &mut e.kind {
        ExprKind::Lit(_) | ExprKind::Ident(_) => vec![],
        ExprKind::Select { operand, .. } | ExprKind::Has { operand, .. } => vec![operand],
        ExprKind::Index { operand, index, .. } => vec![operand, index],
        ExprKind::Call { args, .. } => args.iter_mut().collect(),
        ExprKind::Method { target, args, .. } => std::iter::once(&mut **target)
            .chain(args.iter_mut())
            .collect(),
        ExprKind::Unary { operand, .. } => vec![operand],
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::And(lhs, rhs) | ExprKind::Or(lhs, rhs) => {
            vec![lhs, rhs]
        }
        ExprKind::Cond { cond, then, other } => vec![cond, then, other],
        ExprKind::List(elems) => elems.iter_mut().map(|(x, _)| x).collect(),
        ExprKind::Map(entries) => entries
            .iter_mut()
            .flat_map(|en| [&mut en.key, &mut en.value])
            .collect(),
        ExprKind::Comprehension(c) => {
            let c = &mut **c;
            let mut v = vec![&mut c.range, &mut c.body];
            v.extend(c.filter.as_mut());
            v
        }
        ExprKind::OptMap { target, body, .. } => vec![target, body],
        ExprKind::Bind { init, body, .. } => vec![init, body],
        ExprKind::Message { fields, .. } => fields.iter_mut().map(|(_, x, _)| x).collect(),
        ExprKind::OptChain(c) => vec![&mut c.call],
    }
}

/// Chains longer than this stay on the general path (which recurses for them).
const MAX_STEPS: usize = 16;

/// Rewrites `x.?a.b.orValue(d)` / `x.?a.hasValue()`, where every step is a field selection
/// from the identifier `x` and at least one is optional, into an [`OptChain`].
fn prepare_chain(e: &mut Expr) {
    let ExprKind::Method { target, name, args } = &e.kind else {
        return;
    };
    let default = match (name.as_str(), args.as_slice()) {
        ("orValue", [d]) => Some(d.clone()),
        ("hasValue", []) => None,
        _ => return,
    };
    // Top-down first, as the general path collects them.
    let mut steps = Vec::new();
    let mut lowest_optional = None;
    let mut at: &Expr = target;
    let var = loop {
        match &at.kind {
            ExprKind::Select {
                operand,
                field,
                optional,
            } => {
                if *optional {
                    lowest_optional = Some(steps.len());
                }
                steps.push(ChainStep {
                    key: FieldKey::new(field),
                    off: at.off,
                });
                at = operand;
            }
            ExprKind::Ident(name) => break name.clone(),
            _ => return,
        }
    };
    let Some(lowest) = lowest_optional else {
        return;
    };
    if steps.len() > MAX_STEPS {
        return;
    }
    let required = steps.len() - 1 - lowest;
    steps.reverse();
    let off = e.off;
    let call = std::mem::replace(e, Expr::new(off, ExprKind::Lit(Value::Null)));
    *e = Expr::new(
        off,
        ExprKind::OptChain(Box::new(OptChain {
            call,
            var,
            steps: steps.into_boxed_slice(),
            required,
            default,
        })),
    );
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::assert_true;
    use crate::{Env, Type};

    #[test]
    fn folded_lists_behave_the_same() {
        assert_true(&[
            "'b' in ['a', 'b']",
            "[1, 2] + [3] == [1, 2, 3]",
            "[[1], [2]][1][0] == 2",
            "size([]) == 0",
            "[?optional.of(1), 2] == [1, 2]",
        ]);
        let env = Env::kubernetes().variable("x", Type::Dyn).build();
        let p = env.compile("x in ['a', 'b', 'c']").unwrap();
        let mut act = crate::Activation::new();
        act.bind_json("x", &serde_json::json!("c"));
        assert_eq!(p.eval(&act).unwrap(), crate::Value::Bool(true));
        // The folded literal is one node; a list with a call in it is still built element by
        // element.
        let unfolded = env.compile("x in [dyn('a'), 'b', 'c']").unwrap();
        assert!(p.eval_with_cost(&act).1 < unfolded.eval_with_cost(&act).1);
    }
}
