//! Evaluating `any`/`all` condition blocks (preconditions, deny, exception conditions).

use palisade_api::{AnyAllConditions, Condition, Conditions};

pub(crate) mod prepared;

use std::borrow::Cow;

use serde_json::Value;

use crate::operators::Operator;
use crate::variables::{Resolver, VarError, resolve_compiled, substitute_all};
use prepared::Operand;

/// Whether the conditions hold, and the messages of the conditions that decided it.
pub fn evaluate(
    conditions: &AnyAllConditions,
    r: &Resolver<'_>,
) -> Result<(bool, String), VarError> {
    evaluate_parts(conditions.any.as_deref(), conditions.all.as_deref(), r)
}

/// [`evaluate`] on either shape of a conditions block, without copying it (the legacy list
/// is an `all` block).
pub fn evaluate_block(
    conditions: &Conditions,
    r: &Resolver<'_>,
) -> Result<(bool, String), VarError> {
    match conditions {
        Conditions::AnyAll(c) => evaluate(c, r),
        Conditions::List(list) => evaluate_parts(None, Some(list), r),
    }
}

fn evaluate_parts(
    any: Option<&[Condition]>,
    all: Option<&[Condition]>,
    r: &Resolver<'_>,
) -> Result<(bool, String), VarError> {
    let mut false_messages = Vec::new();
    let mut any_ok = true;
    if let Some(any) = any {
        // Kyverno: an `any` block that is present but empty never holds.
        any_ok = false;
        for c in any {
            let (holds, msg) = one(c, r)?;
            if holds {
                any_ok = true;
                break;
            }
            false_messages.extend(msg);
        }
    }
    let mut all_ok = true;
    for c in all.unwrap_or_default() {
        let (holds, msg) = one(c, r)?;
        if !holds {
            all_ok = false;
            false_messages.extend(msg);
            break;
        }
    }
    let holds = any_ok && all_ok;
    let message = if holds {
        String::new()
    } else {
        false_messages.join("; ")
    };
    Ok((holds, message))
}

/// One side of a condition after substitution, the prepared way when there is one.
fn side<'v>(
    v: &'v Value,
    prepared: Option<&Operand>,
    r: &Resolver<'_>,
) -> Result<Cow<'v, Value>, VarError> {
    match prepared {
        Some(Operand::Fixed) => Ok(Cow::Borrowed(v)),
        Some(Operand::Length(name, expr, compiled)) if !r.ctx.is_delete() => {
            // What JMESPath's `length` gives for these (whole numbers are integers).
            // The scanning lookup: the root map is small.
            let found = match r.ctx.root() {
                Value::Object(root) => palisade_jmespath::value::get(root, name),
                _ => None,
            };
            let len = match found {
                Some(Value::Array(items)) => Some(items.len()),
                Some(Value::Object(map)) => Some(map.len()),
                Some(Value::String(s)) => Some(s.chars().count()),
                _ => None,
            };
            match len {
                Some(n) => Ok(Cow::Owned(Value::from(n))),
                None => resolve_compiled(expr, compiled, false, r).map(Cow::Owned),
            }
        }
        Some(Operand::Variable(expr, compiled, shared)) if !r.ctx.is_delete() => {
            resolve_compiled(expr, compiled, *shared, r).map(Cow::Owned)
        }
        _ => substitute_all(v, r),
    }
}

fn one(c: &Condition, r: &Resolver<'_>) -> Result<(bool, Option<String>), VarError> {
    let prepared = r.cache.condition(c);
    let key = side(&c.key, prepared.map(|p| &p.key), r)?;
    let value = side(&c.value, prepared.map(|p| &p.value), r)?;
    let op = match prepared {
        Some(p) => p.operator,
        None => Operator::parse(&c.operator).ok_or_else(|| VarError::Substitution {
            message: format!("unknown condition operator {:?}", c.operator),
        })?,
    };
    let holds = op.evaluate(&key, &value);
    let message = match &c.message {
        Some(m) if !m.is_empty() => {
            let resolved = crate::variables::substitute_string(m, r, "message").ok();
            Some(
                resolved
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| m.clone()),
            )
        }
        _ => None,
    };
    Ok((holds, message))
}
