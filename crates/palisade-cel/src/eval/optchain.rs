//! Optional chains without intermediate optionals: `a.?b.?c.orValue(d)` and `.hasValue()`
//! evaluate the chain to "present value or absent" and wrap nothing, as cel-go's planner does
//! for `orValue` (which also leaves the default unevaluated when the value is present).

use crate::ast::{Expr, ExprKind, OptChain};
use crate::doc::{DocRef, Step};
use crate::error::RtError;
use crate::eval::access::{index_value, select};
use crate::eval::{Interp, name_eq};
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
        Value::Doc(d) if !d.is_list() => Ok(d.get(field)),
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

/// Where an optional chain has got to: a value, or a node of a JSON document.
enum Cursor {
    Value(Value),
    In(DocRef, u32),
}

impl From<Value> for Cursor {
    fn from(v: Value) -> Self {
        match v {
            Value::Doc(d) => {
                let node = d.node();
                Cursor::In(d, node)
            }
            v => Cursor::Value(v),
        }
    }
}

impl Cursor {
    fn into_value(self) -> Value {
        match self {
            Cursor::Value(v) => v,
            Cursor::In(doc, node) => doc.into_at(node),
        }
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
        Ok(self.cursor(e)?.map(Cursor::into_value))
    }

    /// Like [`Interp::present`], without recursion: the chain's selections and indexes are
    /// collected, charged (every node of the chain is charged before any is evaluated, as the
    /// recursive evaluation does on its way down), then applied from the base up. Inside a JSON
    /// document a step only moves to the child node; no value is made until the chain ends.
    fn cursor(&mut self, e: &'a Expr) -> Result<Option<Cursor>, RtError> {
        // Top-down: steps[0] is `e`; the lowest optional step ends the chain proper, the
        // plain selections and indexes under it are the base's own path.
        let mut steps: [Option<&'a Expr>; MAX_STEPS] = [None; MAX_STEPS];
        let (mut n, mut lowest_optional, mut at) = (0, 0, e);
        let base = loop {
            let (operand, optional) = match &at.kind {
                ExprKind::Select {
                    operand, optional, ..
                }
                | ExprKind::Index {
                    operand, optional, ..
                } => (operand, *optional),
                _ => break at,
            };
            let Some(slot) = steps.get_mut(n) else {
                return self.cursor_nested(e);
            };
            *slot = Some(at);
            if optional {
                lowest_optional = n;
            }
            n += 1;
            at = operand;
        };
        // `left` counts the steps not applied yet: steps[left - 1] is the next.
        let (mut cur, mut left) = match self.walk_variable(base, &steps[..n], lowest_optional)? {
            Walk::Done(found) => return Ok(found),
            Walk::Stopped(cur, left) => (cur, left),
            Walk::NotADocument => {
                // One unit at a time, so a chain that exceeds the budget leaves the same cost
                // behind.
                for _ in 0..n {
                    self.ctx.charge(1)?;
                }
                (Cursor::from(self.eval(base)?), n)
            }
        };
        while left > lowest_optional + 1 {
            left -= 1;
            if let Some(step) = steps[left] {
                cur = self.plain_step(cur, step)?;
            }
        }
        // The base path's value, present or not, as `unwrap` reads an optional.
        let mut cur = match cur {
            Cursor::Value(v) => match unwrap(v) {
                Some(v) => Cursor::from(v),
                None => return Ok(None),
            },
            c => c,
        };
        while left > 0 {
            left -= 1;
            if let Some(step) = steps[left] {
                match self.optional_step(cur, step)? {
                    Some(c) => cur = c,
                    None => return Ok(None),
                }
            }
        }
        Ok(Some(cur))
    }

    /// The common case: a chain of field selections from a variable that holds a JSON
    /// document (`c.?securityContext.?privileged`), walked by node index on the bound value
    /// itself, without cloning it. Charges what evaluating the chain's nodes and the variable
    /// charges. Stops where a step needs the general path (an index, a scalar).
    fn walk_variable(
        &mut self,
        base: &'a Expr,
        steps: &[Option<&'a Expr>],
        lowest_optional: usize,
    ) -> Result<Walk, RtError> {
        let ExprKind::Ident(name) = &base.kind else {
            return Ok(Walk::NotADocument);
        };
        let Some(at) = bound_document(&self.scopes, self.act, name) else {
            return Ok(Walk::NotADocument);
        };
        for _ in 0..=steps.len() {
            self.ctx.charge(1)?;
        }
        let doc = match at {
            Bound::Scope(i) => match self.scopes.get(i) {
                Some((_, Value::Doc(d))) => d,
                _ => return Ok(Walk::NotADocument),
            },
            Bound::Activation(d) => d,
        };
        let mut node = doc.node();
        let mut left = steps.len();
        while left > 0 {
            let Some(Some(step)) = steps.get(left - 1) else {
                break;
            };
            let ExprKind::Select { field, .. } = &step.kind else {
                break;
            };
            match doc.step_field(node, field) {
                Step::Found(child) => node = child,
                Step::Missing if left - 1 > lowest_optional => {
                    return Err(RtError::from(format!("no such key: {field}")).at(step.off));
                }
                Step::Missing => return Ok(Walk::Done(None)),
                Step::Other => break,
            }
            left -= 1;
        }
        let cur = Cursor::In(doc.clone(), node);
        Ok(if left == 0 {
            Walk::Done(Some(cur))
        } else {
            Walk::Stopped(cur, left)
        })
    }

    /// `step` (a selection or index, not optional) applied to `cur`, as `eval` applies it.
    fn plain_step(&mut self, cur: Cursor, step: &'a Expr) -> Result<Cursor, RtError> {
        let r = match (&step.kind, cur) {
            (ExprKind::Select { field, .. }, Cursor::In(doc, node)) => {
                match doc.step_field(node, field) {
                    Step::Found(child) => Ok(Cursor::In(doc, child)),
                    Step::Missing => Err(RtError::from(format!("no such key: {field}"))),
                    Step::Other => select(&doc.at(node), field, false).map(Cursor::from),
                }
            }
            (ExprKind::Select { field, .. }, cur) => {
                select(&cur.into_value(), field, false).map(Cursor::from)
            }
            (ExprKind::Index { index, .. }, cur) => {
                let v = cur.into_value();
                let i = self.eval(index)?;
                index_value(&v, &i, false).map(Cursor::from)
            }
            (_, cur) => Ok(cur),
        };
        r.map_err(|x| x.at(step.off))
    }

    /// A step of the chain proper: `None` when it finds nothing.
    fn optional_step(&mut self, cur: Cursor, step: &'a Expr) -> Result<Option<Cursor>, RtError> {
        let r = match (&step.kind, cur) {
            (ExprKind::Select { field, .. }, Cursor::In(doc, node)) => {
                match doc.step_field(node, field) {
                    Step::Found(child) => Ok(Some(Cursor::In(doc, child))),
                    Step::Missing => Ok(None),
                    Step::Other => field_of(&doc.at(node), field).map(|o| o.map(Cursor::from)),
                }
            }
            (ExprKind::Select { field, .. }, cur) => {
                field_of(&cur.into_value(), field).map(|o| o.map(Cursor::from))
            }
            (ExprKind::Index { index, .. }, cur) => {
                let v = cur.into_value();
                let i = self.eval(index)?;
                index_value(&v, &i, true).map(|v| unwrap(v).map(Cursor::from))
            }
            (_, cur) => Ok(Some(cur)),
        };
        r.map_err(|x| x.at(step.off))
    }

    /// The recursive form, for chains longer than [`MAX_STEPS`].
    fn cursor_nested(&mut self, e: &'a Expr) -> Result<Option<Cursor>, RtError> {
        match &e.kind {
            ExprKind::Select {
                operand,
                field,
                optional,
            } if *optional || in_chain(operand) => {
                self.ctx.charge(1)?;
                let Some(base) = self.cursor_nested(operand)? else {
                    return Ok(None);
                };
                field_of(&base.into_value(), field)
                    .map(|o| o.map(Cursor::from))
                    .map_err(|x| x.at(e.off))
            }
            ExprKind::Index {
                operand,
                index,
                optional,
            } if *optional || in_chain(operand) => {
                self.ctx.charge(1)?;
                let Some(base) = self.cursor_nested(operand)? else {
                    return Ok(None);
                };
                let i = self.eval(index)?;
                index_value(&base.into_value(), &i, true)
                    .map(|v| unwrap(v).map(Cursor::from))
                    .map_err(|x| x.at(e.off))
            }
            _ => Ok(unwrap(self.eval(e)?).map(Cursor::from)),
        }
    }
}

/// What the walk of a prepared chain found.
enum Found {
    Node(u32),
    Absent,
    /// A missing key under the chain proper, at this step.
    Missing(usize),
}

impl<'a> Interp<'a> {
    /// A prepared chain ([`OptChain`]): when its variable holds a document, the steps are
    /// walked by node with their prepared keys; otherwise, or when a step meets something
    /// other than a map, the call it stands for is evaluated. The walk reads only, so it runs
    /// before the chain is charged, and the charges are those of the general path.
    #[inline(never)]
    pub(super) fn opt_chain(&mut self, ch: &'a OptChain) -> Result<Value, RtError> {
        let Some(at) = bound_document(&self.scopes, self.act, &ch.var) else {
            return self.eval_kind(&ch.call);
        };
        let doc = match at {
            Bound::Scope(i) => match self.scopes.get(i) {
                Some((_, Value::Doc(d))) => d,
                _ => return self.eval_kind(&ch.call),
            },
            Bound::Activation(d) => d,
        };
        let mut node = doc.node();
        let mut found = Found::Node(node);
        for (j, s) in ch.steps.iter().enumerate() {
            match doc.step_key(node, &s.key) {
                Step::Found(child) => node = child,
                Step::Missing if j < ch.required => {
                    found = Found::Missing(j);
                    break;
                }
                Step::Missing => {
                    found = Found::Absent;
                    break;
                }
                Step::Other => return self.eval_kind(&ch.call),
            }
            found = Found::Node(node);
        }
        // The value is made only for `orValue`; `hasValue` needs to know presence alone.
        let value = match found {
            Found::Node(n) if ch.default.is_some() => Some(doc.at(n)),
            Found::Node(_) => Some(Value::Null),
            Found::Absent => None,
            Found::Missing(j) => {
                self.ctx.charge_units(ch.steps.len() as u64 + 1)?;
                let s = ch.steps.get(j);
                let off = s.map_or(0, |s| s.off);
                let name = s.map_or("", |s| &*s.key.name);
                return Err(RtError::from(format!("no such key: {name}")).at(off));
            }
        };
        self.ctx.charge_units(ch.steps.len() as u64 + 1)?;
        match (&ch.default, value) {
            (Some(_), Some(v)) => Ok(v),
            (Some(d), None) => self.eval_or_lit(d),
            (None, v) => Ok(Value::Bool(v.is_some())),
        }
    }
}

/// Where a document view bound to a name is.
enum Bound<'a> {
    /// In the scope stack, at this index (re-read once the cost is charged).
    Scope(usize),
    /// In the activation, which outlives the evaluation.
    Activation(&'a DocRef),
}

/// The document view bound to `name`, as `Interp::ident` resolves names.
fn bound_document<'a>(
    scopes: &[(&str, Value)],
    act: &'a crate::activation::Activation,
    name: &str,
) -> Option<Bound<'a>> {
    match scopes.iter().rposition(|(n, _)| name_eq(n, name)) {
        Some(i) => match scopes.get(i) {
            Some((_, Value::Doc(_))) => Some(Bound::Scope(i)),
            _ => None,
        },
        None => match act.get(name)? {
            Value::Doc(d) => Some(Bound::Activation(d)),
            _ => None,
        },
    }
}

/// How far [`Interp::walk_variable`] got.
enum Walk {
    /// The chain is evaluated: present or not.
    Done(Option<Cursor>),
    /// Charged and walked up to a step it leaves to the general path; the count of steps left.
    Stopped(Cursor, usize),
    /// The base is not a variable holding a document: nothing charged.
    NotADocument,
}

/// Chains up to this many selections and indexes are evaluated without recursion.
const MAX_STEPS: usize = 16;

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
