//! Optional chains without intermediate optionals: `a.?b.?c.orValue(d)` and `.hasValue()`
//! evaluate the chain to "present value or absent" and wrap nothing, as cel-go's planner does
//! for `orValue` (which also leaves the default unevaluated when the value is present).

use crate::ast::{Expr, ExprKind};
use crate::error::RtError;
use crate::eval::Interp;
use crate::eval::access::{index_value, select};
use crate::value::{Key, Value};

/// True when `e` is a select or index that takes part in an optional chain.
fn in_chain(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Select {
            operand, optional, ..
        }
        | ExprKind::Index {
            operand, optional, ..
        } => *optional || in_chain(operand),
        _ => false,
    }
}

/// `base.?field` without wrapping the result: maps and host objects answer directly; the
/// rest goes through the general selection.
fn field_of(base: &Value, field: &std::sync::Arc<str>) -> Result<Option<Value>, RtError> {
    match base {
        Value::Map(m) => Ok(m.get(&Key::String(field.clone())).cloned()),
        Value::Optional(None) => Ok(None),
        Value::Optional(Some(inner)) => field_of(inner, field),
        other => select(other, field, true).map(unwrap),
    }
}

/// The present value of an optional (or a plain value, which is present as is).
fn unwrap(v: Value) -> Option<Value> {
    match v {
        Value::Optional(None) => None,
        Value::Optional(Some(x)) => Some((*x).clone()),
        v => Some(v),
    }
}

impl<'a> Interp<'a> {
    /// `target.orValue(default)` / `target.hasValue()` on an optional chain, or `None` when
    /// `target` is not a chain and the ordinary call applies.
    pub(super) fn chain_method(
        &mut self,
        target: &'a Expr,
        name: &str,
        args: &'a [Expr],
    ) -> Option<Result<Value, RtError>> {
        if !in_chain(target) {
            return None;
        }
        match (name, args) {
            ("orValue", [default]) => Some(match self.present(target) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => self.eval(default),
                Err(e) => Err(e),
            }),
            ("hasValue", []) => Some(self.present(target).map(|v| Value::Bool(v.is_some()))),
            _ => None,
        }
    }

    /// Evaluates `e` to its present value, `None` when an optional step finds nothing.
    fn present(&mut self, e: &'a Expr) -> Result<Option<Value>, RtError> {
        match &e.kind {
            ExprKind::Select {
                operand,
                field,
                optional,
            } if *optional || in_chain(operand) => {
                self.ctx.charge(1)?;
                let Some(base) = self.present(operand)? else {
                    return Ok(None);
                };
                field_of(&base, field).map_err(|x| x.at(e.off))
            }
            ExprKind::Index {
                operand,
                index,
                optional,
            } if *optional || in_chain(operand) => {
                self.ctx.charge(1)?;
                let Some(base) = self.present(operand)? else {
                    return Ok(None);
                };
                let i = self.eval(index)?;
                index_value(&base, &i, true)
                    .map(unwrap)
                    .map_err(|x| x.at(e.off))
            }
            _ => self.eval(e).map(unwrap),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::library::testutil::{assert_err, assert_true};

    #[test]
    fn chains_match_the_general_path() {
        assert_true(&[
            "{'a': {'b': 1}}.?a.?b.orValue(0) == 1",
            "{'a': {'b': 1}}.?a.?c.orValue(0) == 0",
            "{'a': {'b': 1}}.?z.b.orValue(0) == 0",
            "{'a': {'b': [5]}}.?a.b[?0].orValue(0) == 5",
            "{'a': {'b': [5]}}.?a.b[?3].orValue(0) == 0",
            "dyn({'a': null}).?a.?b.orValue(7) == 7",
            "{'a': 1}.?a.hasValue()",
            "!{'a': 1}.?b.hasValue()",
            "{'a': 1}.?a.orValue(1 / 0) == 1",
        ]);
        assert_err(&[
            ("{'a': 1}.?b.orValue(1 / 0)", "division by zero"),
            (
                "{'a': [1]}.?a.?x.orValue(0)",
                "does not support field selection",
            ),
        ]);
    }
}
