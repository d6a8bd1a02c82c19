//! Lenient application, matching evanphx/json-patch v5 with the options Kyverno sets
//! (`SupportNegativeIndices`, `AllowMissingPathOnRemove`, `EnsurePathExistsOnAdd`).
//!
//! Two bounds evanphx lacks keep hostile patches cheap: `add` pads arrays with at most
//! [`MAX_PADDING`] nulls, and all `copy` operations together copy at most [`MAX_COPIED_NODES`].

use super::Operation;
use super::pointer::{parse, parse_index};
use crate::error::PatchError;
use crate::value::json_eq;
use serde_json::{Map, Value};

/// Most nulls `add` inserts to reach an index beyond the end of an array.
pub const MAX_PADDING: usize = 10_000;
/// Most JSON nodes all `copy` operations of one patch may duplicate.
pub const MAX_COPIED_NODES: usize = 1_000_000;

type OpResult<T> = Result<T, String>;

pub(super) fn apply(ops: &[Operation], doc: &Value) -> Result<Value, PatchError> {
    let mut doc = doc.clone();
    let mut copied = 0usize;
    for (index, op) in ops.iter().enumerate() {
        apply_one(&mut doc, op, &mut copied).map_err(|reason| PatchError::JsonPatchApply {
            index,
            op: op.name(),
            path: op.path().to_string(),
            reason,
        })?;
    }
    Ok(doc)
}

fn apply_one(doc: &mut Value, op: &Operation, copied: &mut usize) -> OpResult<()> {
    match op {
        Operation::Add { path, value } => add(doc, &parse(path)?, value.clone()),
        Operation::Remove { path } => remove(doc, &parse(path)?),
        Operation::Replace { path, value } => replace(doc, &parse(path)?, value.clone()),
        Operation::Move { from, path } => move_value(doc, &parse(from)?, &parse(path)?),
        Operation::Copy { from, path } => copy_value(doc, &parse(from)?, &parse(path)?, copied),
        Operation::Test { path, value } => test(doc, &parse(path)?, value),
    }
}

/// The new whole document. RFC 6902 allows any value here (evanphx only objects and arrays).
fn whole_document(value: Value) -> OpResult<Value> {
    Ok(value)
}

/// An existing element's position; negative indices count from the end.
fn existing_index(len: usize, token: &str) -> OpResult<usize> {
    let idx = parse_index(token).ok_or_else(|| format!("{token:?} is not an array index"))?;
    let len_i = i64::try_from(len).map_err(|e| e.to_string())?;
    let resolved = if idx < 0 { idx + len_i } else { idx };
    if resolved < 0 || resolved >= len_i {
        return Err(format!("index {idx} is out of range for an array of {len}"));
    }
    usize::try_from(resolved).map_err(|e| e.to_string())
}

/// An insertion position: `-` appends, negative indices count from one past the end.
fn insert_index(len: usize, token: &str) -> OpResult<usize> {
    if token == "-" {
        return Ok(len);
    }
    let idx = parse_index(token).ok_or_else(|| format!("{token:?} is not an array index"))?;
    let slots = i64::try_from(len).map_err(|e| e.to_string())? + 1;
    let resolved = if idx < 0 { idx + slots } else { idx };
    if resolved < 0 || resolved >= slots {
        return Err(format!(
            "index {idx} is out of range for inserting into an array of {len}"
        ));
    }
    usize::try_from(resolved).map_err(|e| e.to_string())
}

fn child<'a>(node: &'a Value, token: &str) -> Option<&'a Value> {
    match node {
        Value::Object(m) => m.get(token),
        Value::Array(a) => existing_index(a.len(), token).ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn child_mut<'a>(node: &'a mut Value, token: &str) -> Option<&'a mut Value> {
    match node {
        Value::Object(m) => m.get_mut(token),
        Value::Array(a) => existing_index(a.len(), token)
            .ok()
            .and_then(move |i| a.get_mut(i)),
        _ => None,
    }
}

fn resolve_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    tokens.iter().try_fold(doc, |node, t| child_mut(node, t))
}

fn resolve<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |node, t| child(node, t))
}

/// Inserts into a container; a null parent becomes an object, as evanphx decodes null into one.
fn insert_into(parent: &mut Value, token: &str, value: Value) -> OpResult<()> {
    if parent.is_null() {
        *parent = Value::Object(Map::new());
    }
    match parent {
        Value::Object(m) => {
            m.insert(token.to_string(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = insert_index(a.len(), token)?;
            a.insert(i, value);
            Ok(())
        }
        other => Err(format!(
            "cannot add a member to {}",
            crate::value::kind_name(other)
        )),
    }
}

fn add(doc: &mut Value, tokens: &[String], value: Value) -> OpResult<()> {
    let Some((last, parents)) = tokens.split_last() else {
        *doc = whole_document(value)?;
        return Ok(());
    };
    ensure_path(doc, tokens)?;
    let parent = resolve_mut(doc, parents).ok_or("doc is missing the parent path")?;
    insert_into(parent, last, value)
}

/// `EnsurePathExistsOnAdd`: creates missing parents, arrays where the next token is an index
/// (padded with nulls up to it), objects elsewhere.
fn ensure_path(doc: &mut Value, tokens: &[String]) -> OpResult<()> {
    let mut cur = doc;
    for pair in tokens.windows(2) {
        let [part, next] = pair else { break };
        if child(cur, part).is_none() {
            pad_array(cur, part)?;
            let fresh = match (parse_index(next), next.as_str()) {
                (Some(i), _) if i < -1 => {
                    return Err(format!("cannot create an array for negative index {i}"));
                }
                (Some(i), _) => Value::Array(nulls(
                    usize::try_from(i.max(0)).map_err(|e| e.to_string())?,
                )?),
                (None, "-") => Value::Array(Vec::new()),
                (None, _) => Value::Object(Map::new()),
            };
            // evanphx ignores a failed insertion here; the final add then reports the missing path.
            if insert_into(cur, part, fresh).is_err() {
                return Ok(());
            }
        }
        let Some(next_node) = child_mut_or_appended(cur, part) else {
            return Ok(());
        };
        if next_node.is_null() {
            *next_node = Value::Object(Map::new());
        }
        if !(next_node.is_object() || next_node.is_array()) {
            return Err(format!(
                "{part:?} is {} and cannot hold members",
                crate::value::kind_name(next_node)
            ));
        }
        cur = next_node;
    }
    Ok(())
}

/// The child just resolved or created; `-` names the element appended last.
fn child_mut_or_appended<'a>(node: &'a mut Value, token: &str) -> Option<&'a mut Value> {
    if token == "-" {
        return node.as_array_mut().and_then(|a| a.last_mut());
    }
    child_mut(node, token)
}

fn nulls(n: usize) -> OpResult<Vec<Value>> {
    if n > MAX_PADDING {
        return Err(format!(
            "refusing to pad an array with {n} nulls (limit {MAX_PADDING})"
        ));
    }
    Ok(vec![Value::Null; n])
}

fn pad_array(node: &mut Value, part: &str) -> OpResult<()> {
    let (Value::Array(a), Some(idx)) = (node, parse_index(part)) else {
        return Ok(());
    };
    let Ok(target) = usize::try_from(idx) else {
        return Ok(());
    };
    if target > a.len() {
        a.extend(nulls(target - a.len())?);
    }
    Ok(())
}

fn remove(doc: &mut Value, tokens: &[String]) -> OpResult<()> {
    // AllowMissingPathOnRemove: a missing parent, key or index is not an error.
    let Some((last, parents)) = tokens.split_last() else {
        return Ok(());
    };
    let Some(parent) = resolve_mut(doc, parents) else {
        return Ok(());
    };
    match parent {
        Value::Object(m) => {
            m.remove(last);
        }
        Value::Array(a) => {
            if parse_index(last).is_none() {
                return Err(format!("{last:?} is not an array index"));
            }
            if let Ok(i) = existing_index(a.len(), last) {
                a.remove(i);
            }
        }
        _ => {}
    }
    Ok(())
}

fn replace(doc: &mut Value, tokens: &[String], value: Value) -> OpResult<()> {
    let Some((last, parents)) = tokens.split_last() else {
        *doc = whole_document(value)?;
        return Ok(());
    };
    let parent = resolve_mut(doc, parents).ok_or("doc is missing the parent path")?;
    let slot = match parent {
        Value::Object(m) => m
            .get_mut(last)
            .ok_or_else(|| format!("doc is missing the key {last:?}"))?,
        Value::Array(a) => {
            let i = existing_index(a.len(), last)?;
            a.get_mut(i).ok_or("index out of range")?
        }
        other => {
            return Err(format!(
                "the parent path is {}, not a container",
                crate::value::kind_name(other)
            ));
        }
    };
    *slot = value;
    Ok(())
}

/// Takes the value at `tokens` out of the document.
fn take(doc: &mut Value, tokens: &[String]) -> OpResult<Value> {
    let (last, parents) = tokens
        .split_last()
        .ok_or("cannot move the whole document")?;
    let parent = resolve_mut(doc, parents).ok_or("doc is missing the from path")?;
    match parent {
        Value::Object(m) => m
            .remove(last)
            .ok_or_else(|| format!("from path has no key {last:?}")),
        Value::Array(a) => {
            let i = existing_index(a.len(), last)?;
            Ok(a.remove(i))
        }
        _ => Err("from path is not inside a container".into()),
    }
}

fn move_value(doc: &mut Value, from: &[String], to: &[String]) -> OpResult<()> {
    let value = take(doc, from)?;
    let Some((last, parents)) = to.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent = resolve_mut(doc, parents).ok_or("doc is missing the destination path")?;
    insert_into(parent, last, value)
}

fn copy_value(doc: &mut Value, from: &[String], to: &[String], copied: &mut usize) -> OpResult<()> {
    if from.is_empty() {
        return Err("doc is missing the from path".into());
    }
    let value = resolve(doc, from).ok_or("doc is missing the from path")?;
    *copied = copied.saturating_add(count_nodes(value));
    if *copied > MAX_COPIED_NODES {
        return Err(format!(
            "copy operations would duplicate more than {MAX_COPIED_NODES} JSON nodes"
        ));
    }
    let value = value.clone();
    let Some((last, parents)) = to.split_last() else {
        *doc = whole_document(value)?;
        return Ok(());
    };
    let parent = resolve_mut(doc, parents).ok_or("doc is missing the destination path")?;
    insert_into(parent, last, value)
}

fn count_nodes(v: &Value) -> usize {
    let mut stack = vec![v];
    let mut n = 0usize;
    while let Some(node) = stack.pop() {
        n += 1;
        match node {
            Value::Object(m) => stack.extend(m.values()),
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    n
}

fn test(doc: &Value, tokens: &[String], expected: &Value) -> OpResult<()> {
    let Some((last, parents)) = tokens.split_last() else {
        return if json_eq(doc, expected) {
            Ok(())
        } else {
            Err("the document does not equal the test value".into())
        };
    };
    let parent = resolve(doc, parents).ok_or("doc is missing the parent path")?;
    let found = match parent {
        Value::Object(m) => m.get(last),
        Value::Array(a) => Some(
            a.get(existing_index(a.len(), last)?)
                .ok_or("index out of range")?,
        ),
        _ => return Err("the parent path is not a container".into()),
    };
    // evanphx: a missing value equals null, but a present one never does (even a present null).
    let ok = match found {
        None => expected.is_null(),
        Some(_) if expected.is_null() => false,
        Some(v) => json_eq(v, expected),
    };
    if ok {
        Ok(())
    } else {
        Err("the value does not equal the test value".into())
    }
}
