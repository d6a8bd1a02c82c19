//! `$(path)` references to other values of the same document (a pattern), optionally with an
//! operator prefix: `$(<=./../../limits/memory)` becomes `<=` followed by that value.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::VarError;
use crate::anchor;
use crate::pattern::Operator;

static REFERENCE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(^|[^\\])(\$\([^ ]+?\))").ok());

/// Replaces every reference in `document` with the value it points to.
pub fn substitute_references(document: &Value) -> Result<Value, VarError> {
    if !has_references(document) {
        return Ok(document.clone());
    }
    walk(document, document, "")
}

pub(super) fn has_references(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("$("),
        Value::Array(items) => items.iter().any(has_references),
        Value::Object(map) => map.values().any(has_references),
        _ => false,
    }
}

fn walk(node: &Value, doc: &Value, path: &str) -> Result<Value, VarError> {
    Ok(match node {
        Value::String(s) => Value::String(resolve_string(s, doc, path)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| walk(v, doc, &format!("{path}/{i}")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), walk(v, doc, &format!("{path}/{k}"))?)))
                .collect::<Result<_, VarError>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_string(s: &str, doc: &Value, path: &str) -> Result<String, VarError> {
    let Some(re) = REFERENCE.as_ref() else {
        return Ok(s.to_string());
    };
    let mut out = s.to_string();
    let refs: Vec<String> = re
        .captures_iter(s)
        .filter_map(|c| Some(c.get(2)?.as_str().to_string()))
        .collect();
    for reference in refs {
        let inner = &reference[2..reference.len() - 1];
        let op = Operator::of(inner);
        let target = &inner[op.prefix_len()..];
        if target.is_empty() {
            return Err(VarError::Substitution {
                message: "expected path, found empty reference".into(),
            });
        }
        let absolute = absolute_path(target, path);
        let value = lookup(doc, &absolute).ok_or_else(|| VarError::Substitution {
            message: format!("got nil resolved variable {reference} at path {path}"),
        })?;
        let Value::String(text) = value else {
            return Err(VarError::Substitution {
                message: format!(
                    "reference {reference} at path {path} did not resolve to a string"
                ),
            });
        };
        let prefix = &inner[..op.prefix_len()];
        out = out.replace(&reference, &format!("{prefix}{text}"));
    }
    Ok(out.replace("\\$(", "$("))
}

/// Joins a relative reference to the path of the value holding it (the value's own path
/// counts as a directory, as in Kyverno's `formAbsolutePath`).
fn absolute_path(reference: &str, current: &str) -> Vec<String> {
    let mut parts: Vec<String> = if reference.starts_with('/') {
        Vec::new()
    } else {
        current
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other.to_string()),
        }
    }
    parts
}

fn lookup<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cursor = doc;
    for part in path {
        cursor = match cursor {
            Value::Object(map) => map.get(part).or_else(|| {
                map.iter()
                    .find(|(k, _)| anchor::strip(k) == part)
                    .map(|(_, v)| v)
            })?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cursor)
}
