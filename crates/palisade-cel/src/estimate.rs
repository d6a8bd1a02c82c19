//! Static worst-case cost estimate, given an assumed size for every list, map and string.
//!
//! Kubernetes derives sizes from OpenAPI schemas; documents here are untyped, so the caller
//! supplies one size bound. Nested comprehensions multiply, which is what the estimate is for:
//! flagging expressions whose cost explodes with input size before they ever run.

use crate::ast::{BinOp, Expr, ExprKind};

/// Functions whose cost grows with the size of their arguments.
const LINEAR: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "find",
    "findAll",
    "charAt",
    "indexOf",
    "lastIndexOf",
    "lowerAscii",
    "upperAscii",
    "trim",
    "reverse",
    "replace",
    "split",
    "substring",
    "join",
    "format",
    "isSorted",
    "sum",
    "min",
    "max",
    "distinct",
    "flatten",
    "slice",
    "sort",
    "sets.contains",
    "sets.equivalent",
    "sets.intersects",
    "string",
    "base64.encode",
    "base64.decode",
    "math.greatest",
    "math.least",
    "strings.quote",
    "getQuery",
];

/// Estimated cost of `e` when every collection or string has `n` elements.
pub(crate) fn estimate(e: &Expr, n: u64) -> u64 {
    let sum = |items: &mut dyn Iterator<Item = &Expr>| {
        items.fold(0u64, |acc, x| acc.saturating_add(estimate(x, n)))
    };
    let own = match &e.kind {
        ExprKind::OptChain(c) => return estimate(&c.call, n),
        ExprKind::Lit(_) | ExprKind::Ident(_) => 0,
        ExprKind::Call { name, args } => call(name, n).saturating_add(sum(&mut args.iter())),
        ExprKind::Method { target, name, args } => call(name, n)
            .saturating_add(estimate(target, n))
            .saturating_add(sum(&mut args.iter())),
        ExprKind::Binary {
            op: BinOp::In,
            lhs,
            rhs,
        } => n
            .saturating_add(estimate(lhs, n))
            .saturating_add(estimate(rhs, n)),
        ExprKind::Cond { cond, then, other } => {
            estimate(cond, n).saturating_add(estimate(then, n).max(estimate(other, n)))
        }
        ExprKind::Comprehension(c) => {
            let per_item = 1u64
                .saturating_add(estimate(&c.body, n))
                .saturating_add(c.filter.as_ref().map_or(0, |f| estimate(f, n)));
            estimate(&c.range, n).saturating_add(n.saturating_mul(per_item))
        }
        _ => sum(&mut e.children().into_iter()),
    };
    own.saturating_add(1)
}

fn call(name: &str, n: u64) -> u64 {
    if LINEAR.contains(&name) { n } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::estimate;
    use crate::parser::parse;

    #[test]
    fn nested_comprehensions_multiply() {
        let cost = |src: &str, n| estimate(&parse(src).unwrap(), n);
        assert!(cost("1 + 2", 1000) < 10);
        let one = cost("x.all(a, a > 0)", 1000);
        let three = cost("x.all(a, x.all(b, x.all(c, a + b + c > 0)))", 1000);
        assert!((1000..10_000).contains(&one), "{one}");
        assert!(three > 1_000_000_000, "{three}");
        assert_eq!(
            cost(
                "x.all(a, x.all(b, x.all(c, x.all(d, x.all(e, true)))))",
                u64::MAX
            ),
            u64::MAX
        );
        assert!(cost("a ? x.map(i, i) : 1", 10) >= 10);
    }
}
