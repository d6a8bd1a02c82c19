//! Constant folding after checking: list literals whose elements are all literals become one
//! literal, so `x in ['a', 'b']` does not rebuild the list on every evaluation.

use crate::ast::{Expr, ExprKind};
use crate::value::Value;

/// Folds constant list literals throughout `e`, innermost first.
pub(crate) fn fold(e: &mut Expr) {
    for child in children_mut(e) {
        fold(child);
    }
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
    }
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
