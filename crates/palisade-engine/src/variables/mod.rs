//! `{{ }}` variable substitution and `$( )` references, as Kyverno's `variables` package does it.
//!
//! Substitution walks every string leaf and map key. A string that is exactly one variable
//! takes the variable's JSON value; otherwise values are spliced in as text (JSON for non-strings).
//! Innermost variables resolve first, so `{{ a.{{ b }} }}` works. `\{{` escapes a variable.

mod references;

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::context::{EvalContext, ExprCache};
use crate::jp::Clock;

pub use references::substitute_references;

/// Why a variable could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    /// The path names a field that does not exist.
    #[error("variable {expr} could not be resolved: {message}")]
    NotFound {
        /// The expression.
        expr: String,
        /// The JMESPath message.
        message: String,
    },
    /// The expression failed to parse or evaluate.
    #[error("failed to evaluate {expr}: {message}")]
    Query {
        /// The expression.
        expr: String,
        /// What went wrong.
        message: String,
    },
    /// A reference or substitution problem at a path of the document.
    #[error("{message}")]
    Substitution {
        /// What went wrong.
        message: String,
    },
}

/// How unresolvable variables are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An unresolvable variable is an error.
    Strict,
    /// An unresolvable variable becomes `""` (Kyverno's rule for preconditions).
    Lenient,
}

/// What substitution needs from the evaluation.
#[derive(Clone, Copy)]
pub struct Resolver<'a> {
    /// The variable context.
    pub ctx: &'a EvalContext,
    /// Compiled expressions.
    pub cache: &'a ExprCache,
    /// Clock for time functions.
    pub clock: &'a Clock,
    /// Error handling.
    pub mode: Mode,
}

static VARIABLE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})").ok());
static ESCAPED_VARIABLE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\\\{\{(?:\{[^{}]*\}|[^{}])*\}\}").ok());

/// Bound on nested-substitution rounds in one string, so a value that expands into another
/// variable forever ends in an error rather than a hang.
const MAX_ROUNDS: usize = 64;

/// Bound on a string's length during substitution: a value holding two copies of its own
/// variable doubles the string every round (resource data can hold `{{ }}`).
const MAX_SUBSTITUTED_LEN: usize = 8 << 20;

/// Bound on the bytes one string's substitution may rewrite, each variable counting a
/// little extra for its query: every replacement copies the whole string, so many variables
/// in a long string would otherwise cost quadratic time.
const MAX_SUBSTITUTION_WORK: usize = 256 << 20;

/// Work charged per variable on top of the bytes copied.
const VARIABLE_WORK: usize = 1024;

/// True when the value holds anything to substitute (variables or references).
pub fn has_variables(value: &Value) -> bool {
    match value {
        Value::String(s) => text_has_variables(s),
        Value::Array(items) => items.iter().any(has_variables),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| text_has_variables(k) || has_variables(v)),
        _ => false,
    }
}

/// `{{` or `$(` in a string. This runs over condition keys and context entry paths on every
/// request: `str::contains` searches two-byte needles with SIMD, a byte loop does not.
pub(crate) fn text_has_variables(s: &str) -> bool {
    s.contains("{{") || s.contains("$(")
}

/// Substitutes references, then variables, everywhere in `document`. A document without
/// variables is borrowed, not copied: patterns and conditions are evaluated on every request.
pub fn substitute_all<'d>(
    document: &'d Value,
    r: &Resolver<'_>,
) -> Result<Cow<'d, Value>, VarError> {
    if !has_variables(document) {
        return Ok(Cow::Borrowed(document));
    }
    if !references::has_references(document) {
        return substitute_node(document, r, "").map(Cow::Owned);
    }
    let referenced = substitute_references(document)?;
    substitute_node(&referenced, r, "").map(Cow::Owned)
}

fn substitute_node(node: &Value, r: &Resolver<'_>, path: &str) -> Result<Value, VarError> {
    match node {
        Value::String(s) => substitute_string(s, r, path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| substitute_node(v, r, &format!("{path}/{i}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let child = format!("{path}/{k}");
                let key = match substitute_string(k, r, &child)? {
                    Value::String(s) => s,
                    other => crate::value::go_sprint(&other),
                };
                out.insert(key, substitute_node(v, r, &child)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// Substitutes the variables of one string.
pub fn substitute_string(input: &str, r: &Resolver<'_>, path: &str) -> Result<Value, VarError> {
    if let Some(expr) = sole_variable(input) {
        return resolve(expr, r);
    }
    let Some(re) = VARIABLE.as_ref() else {
        return Ok(Value::String(input.to_string()));
    };
    let mut value = input.to_string();
    let mut work = 0usize;
    for _ in 0..MAX_ROUNDS {
        let found: Vec<(String, bool)> = re
            .captures_iter(&value)
            .filter_map(|c| {
                Some((
                    c.get(2)?.as_str().to_string(),
                    !c.get(1)?.as_str().is_empty(),
                ))
            })
            .collect();
        if found.is_empty() {
            return Ok(Value::String(unescape(&value)));
        }
        let original = value.clone();
        for (var, _) in &found {
            let expr = var.replace("{{", "").replace("}}", "");
            let mut expr = expr.trim().to_string();
            if r.ctx.is_delete() {
                expr = expr.replace("request.object", "request.oldObject");
            }
            let resolved = match r.ctx.query(r.cache, &expr, r.clock) {
                Ok(v) => v,
                Err(_) if r.mode == Mode::Lenient => Value::String(String::new()),
                Err(e) => return Err(e),
            };
            if original == *var {
                return Ok(resolved);
            }
            let text = match &resolved {
                Value::String(s) => s.clone(),
                other => serde_json::to_string(other).map_err(|e| VarError::Substitution {
                    message: format!("failed to resolve {expr} at path {path}: {e}"),
                })?,
            };
            work = work.saturating_add(value.len() + text.len() + VARIABLE_WORK);
            if value.len().saturating_add(text.len()) > MAX_SUBSTITUTED_LEN
                || work > MAX_SUBSTITUTION_WORK
            {
                return Err(VarError::Substitution {
                    message: format!(
                        "variables at path {path} expand to more than {MAX_SUBSTITUTED_LEN} bytes or take too much work; does a value contain its own variable?"
                    ),
                });
            }
            value = value.replacen(var.as_str(), &text, 1);
        }
    }
    Err(VarError::Substitution {
        message: format!("variables at path {path} did not converge after {MAX_ROUNDS} rounds"),
    })
}

/// The expression of a string that is exactly one `{{ }}` variable with no braces inside
/// (`"{{ request.object.spec.hostUsers }}"`, the usual condition key). The general path's
/// regex finds the whole string as its only variable there, and its value is the result.
fn sole_variable(input: &str) -> Option<&str> {
    let inner = input.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.bytes().any(|b| b == b'{' || b == b'}') {
        return None;
    }
    Some(inner)
}

/// The value of one variable whose trimmed expression `expr` was compiled beforehand (as
/// [`resolve`] gives it; not for DELETE requests, whose expressions are rewritten).
pub(crate) fn resolve_compiled(
    expr: &str,
    compiled: &crate::jp::Expression,
    reads_only_request: bool,
    r: &Resolver<'_>,
) -> Result<Value, VarError> {
    let found = if reads_only_request {
        r.ctx.query_shared(compiled, expr, r.clock)
    } else {
        r.ctx.query_compiled(compiled, expr, r.clock)
    };
    match found {
        Ok(v) => Ok(v),
        Err(_) if r.mode == Mode::Lenient => Ok(Value::String(String::new())),
        Err(e) => Err(e),
    }
}

/// The value of one variable's expression (between the braces).
fn resolve(expr: &str, r: &Resolver<'_>) -> Result<Value, VarError> {
    let expr = expr.trim();
    let deleting;
    let expr = if r.ctx.is_delete() {
        deleting = expr.replace("request.object", "request.oldObject");
        deleting.as_str()
    } else {
        expr
    };
    match r.ctx.query(r.cache, expr, r.clock) {
        Ok(v) => Ok(v),
        Err(_) if r.mode == Mode::Lenient => Ok(Value::String(String::new())),
        Err(e) => Err(e),
    }
}

fn unescape(value: &str) -> String {
    match ESCAPED_VARIABLE.as_ref() {
        Some(re) if value.contains("\\{{") => re
            .replace_all(value, |c: &regex::Captures<'_>| c[0][1..].to_string())
            .into_owned(),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests;
