//! Conditions prepared when a policy is compiled: the operator parsed, and each side
//! classified as a fixed value, one `{{ }}` variable with its expression compiled, or text
//! that needs the general substitution. Found by the condition's address in
//! `CompiledPolicy::rules` (which is not modified after compiling), like prepared patterns.

use std::sync::Arc;

use palisade_api::validate::ForEachValidation;
use palisade_api::{Condition, Conditions, Rule};
use serde_json::Value;

use crate::context::ExprCache;
use crate::jp::Expression;
use crate::operators::Operator;
use crate::variables::has_variables;

/// One side of a prepared condition.
#[derive(Debug)]
pub(crate) enum Operand {
    /// No variables: the value as written.
    Fixed,
    /// Exactly one `{{ }}` variable: its trimmed expression, compiled, and whether it reads
    /// `request` alone ([`crate::jp::reads_only_request`]: its value is shared by a request's
    /// policies).
    Variable(Box<str>, Arc<Expression>, bool),
    /// A [`Operand::Variable`] whose expression is `length(name)` of a top-level variable
    /// (`{{ length(forbiddenTypes) }}`, how a deny reads a context entry): the length is
    /// read off the variable when it is a string, an array or an object; anything else
    /// takes the general path of [`Operand::Variable`], which also words its errors.
    Length(Box<str>, Box<str>, Arc<Expression>),
    /// Anything else: substituted on each evaluation.
    General,
}

/// A condition prepared for evaluation.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) operator: Operator,
    pub(crate) key: Operand,
    pub(crate) value: Operand,
}

/// Prepares every condition of the rules' preconditions and validate deny blocks (foreach
/// blocks included), keyed by address.
pub(crate) fn prepare(rules: &[Rule], cache: &ExprCache) -> Vec<(usize, Prepared)> {
    let mut out = Vec::new();
    for rule in rules {
        block(&mut out, rule.preconditions.as_ref(), cache);
        if let Some(v) = &rule.validate {
            block(
                &mut out,
                v.deny.as_ref().and_then(|d| d.conditions.as_ref()),
                cache,
            );
            foreach(&mut out, v.foreach.as_deref().unwrap_or_default(), cache);
        }
    }
    out
}

fn foreach(out: &mut Vec<(usize, Prepared)>, list: &[ForEachValidation], cache: &ExprCache) {
    for f in list {
        block(out, f.preconditions.as_ref(), cache);
        block(
            out,
            f.deny.as_ref().and_then(|d| d.conditions.as_ref()),
            cache,
        );
        foreach(out, f.foreach.as_deref().unwrap_or_default(), cache);
    }
}

fn block(out: &mut Vec<(usize, Prepared)>, c: Option<&Conditions>, cache: &ExprCache) {
    let (any, all) = match c {
        None => return,
        Some(Conditions::AnyAll(a)) => (a.any.as_deref(), a.all.as_deref()),
        Some(Conditions::List(l)) => (None, Some(l.as_slice())),
    };
    for c in any.into_iter().chain(all).flatten() {
        if let Some(p) = prepare_one(c, cache) {
            out.push((std::ptr::from_ref(c).addr(), p));
        }
    }
}

fn prepare_one(c: &Condition, cache: &ExprCache) -> Option<Prepared> {
    Some(Prepared {
        operator: Operator::parse(&c.operator)?,
        key: operand(&c.key, cache),
        value: operand(&c.value, cache),
    })
}

/// How one side is evaluated: what `substitute_all` would do, decided once.
fn operand(v: &Value, cache: &ExprCache) -> Operand {
    if !has_variables(v) {
        return Operand::Fixed;
    }
    let Value::String(s) = v else {
        return Operand::General;
    };
    // `substitute_all` resolves a string that is one variable without braces inside (and
    // no `$(` references) to the variable's value.
    let Some(inner) = s.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")) else {
        return Operand::General;
    };
    if s.contains("$(") || inner.bytes().any(|b| b == b'{' || b == b'}') {
        return Operand::General;
    }
    let expr = inner.trim();
    match cache.get(expr) {
        Ok(compiled) if !expr.is_empty() => {
            if let Some(name) = length_of_variable(&compiled) {
                return Operand::Length(name.into(), expr.into(), compiled);
            }
            let shared = crate::jp::reads_only_request(&compiled);
            Operand::Variable(expr.into(), compiled, shared)
        }
        _ => Operand::General,
    }
}

/// The variable `name` of an expression that is exactly `length(name)`.
fn length_of_variable(expr: &Expression) -> Option<&str> {
    use palisade_jmespath::ast::Node;
    match expr.node() {
        Node::Function(f, args) if f.name() == "length" => match args.as_slice() {
            // `images` may still be computed lazily: left to the general path.
            [Node::Field(name)] if name != "images" => Some(name),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operands_are_classified_as_substitution_would_treat_them() {
        let cache = ExprCache::default();
        let kind = |v: Value| match operand(&v, &cache) {
            Operand::Fixed => "fixed".to_string(),
            Operand::Variable(e, _, _) => format!("var {e}"),
            Operand::Length(name, _, _) => format!("length {name}"),
            Operand::General => "general".to_string(),
        };
        assert_eq!(kind(json!(0)), "fixed");
        assert_eq!(kind(json!(["a", "b"])), "fixed");
        assert_eq!(kind(json!("plain")), "fixed");
        assert_eq!(kind(json!("{{ length(x) }}")), "length x");
        assert_eq!(kind(json!("{{ length(images) }}")), "var length(images)");
        assert_eq!(kind(json!("{{ length(x.y) }}")), "var length(x.y)");
        assert_eq!(kind(json!("{{ length(@) }}")), "var length(@)");
        assert_eq!(
            kind(json!("{{request.operation}}")),
            "var request.operation"
        );
        assert_eq!(kind(json!("x {{ a }}")), "general");
        assert_eq!(kind(json!("{{ a.{{ b }} }}")), "general");
        assert_eq!(kind(json!("{{ $(./a) }}")), "general");
        assert_eq!(kind(json!("{{ }}")), "general");
        assert_eq!(kind(json!("{{ a[ }}")), "general");
        assert_eq!(kind(json!(["{{ a }}"])), "general");
    }
}
