//! JSON diff producing the RFC 6902 patch an admission webhook returns.
//!
//! Objects are compared key by key (in sorted order, so output is deterministic). Arrays keep
//! their common prefix and suffix, patch the differing middle element by element with adds or
//! removes for the length difference, and fall back to one `replace` of the whole array when that
//! is no longer than the element-wise ops. Scalars and type changes become `replace`.

use crate::anchors::Plan;
use crate::anchors::plan::{Guide, GuideMap};
use crate::json6902::{Operation, Patch};
use crate::value::MAX_DEPTH;
use serde_json::{Map, Value};

/// The walk's pointer buffer starts this large: growing it a few bytes at a time reallocated
/// it several times per diff, which cost more than the guided walk's comparisons.
const PATH_CAPACITY: usize = 128;

/// The patch that turns `from` into `to`.
///
/// Values nested deeper than the crate's depth limit are replaced whole rather than descended.
pub fn diff(from: &Value, to: &Value) -> Patch {
    let mut ops = Vec::new();
    let mut path = String::with_capacity(PATH_CAPACITY);
    diff_value(from, to, &mut path, 0, &mut ops);
    Patch(ops.into_iter().map(Op::into_operation).collect())
}

/// [`diff`] for a `to` that [`crate::strategic_merge_traced`] made from `from` undisturbed, with
/// the patch [`Plan::preprocess`] gave: only what the patch can name differs, so only that is
/// compared (the rest, most of a resource, is equal). The operations are `diff`'s.
pub fn diff_guided(from: &Value, to: &Value, plan: &Plan) -> Patch {
    let mut ops = Vec::new();
    let mut path = String::with_capacity(PATH_CAPACITY);
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            guided_object(a, b, plan.guide(), &mut path, 0, &mut ops)
        }
        _ => diff_value(from, to, &mut path, 0, &mut ops),
    }
    Patch(ops.into_iter().map(Op::into_operation).collect())
}

fn guided_value<'a>(
    from: &Value,
    to: &'a Value,
    guide: &Guide,
    path: &mut String,
    depth: usize,
    ops: &mut Vec<Op<'a>>,
) {
    match (guide, from, to) {
        (Guide::Map(keys), Value::Object(a), Value::Object(b)) if depth < MAX_DEPTH => {
            guided_object(a, b, keys, path, depth, ops)
        }
        (Guide::List(keys), Value::Array(a), Value::Array(b))
            if depth < MAX_DEPTH && a.len() == b.len() =>
        {
            guided_array(a, b, keys, path, depth, ops)
        }
        _ => diff_value(from, to, path, depth, ops),
    }
}

/// [`diff_object`] over the guide's keys only (in the same key order).
fn guided_object<'a>(
    a: &Map<String, Value>,
    b: &'a Map<String, Value>,
    guide: &GuideMap,
    path: &mut String,
    depth: usize,
    ops: &mut Vec<Op<'a>>,
) {
    let mut added: Vec<(&String, &Value)> = Vec::new();
    for (k, g) in &guide.keys {
        match (a.get(k), b.get_key_value(k)) {
            (Some(va), Some((_, vb))) => {
                if matches!(g, Guide::Full) && va == vb {
                    continue;
                }
                let len = push_token(path, k);
                guided_value(va, vb, g, path, depth + 1, ops);
                path.truncate(len);
            }
            (Some(_), None) => {
                let len = push_token(path, k);
                ops.push(Op::Remove(path.clone()));
                path.truncate(len);
            }
            (None, Some(entry)) => added.push(entry),
            (None, None) => {}
        }
    }
    for (k, vb) in added {
        let len = push_token(path, k);
        ops.push(Op::Add(path.clone(), vb));
        path.truncate(len);
    }
}

/// [`diff_array`] for two lists of the same length whose elements kept their index.
fn guided_array<'a>(
    a: &[Value],
    b: &'a [Value],
    guide: &GuideMap,
    path: &mut String,
    depth: usize,
    ops: &mut Vec<Op<'a>>,
) {
    let replace_at = b.len().max(2);
    let mut local = Vec::new();
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let len = push_index(path, i);
        match (x, y) {
            (Value::Object(xm), Value::Object(ym)) if depth + 1 < MAX_DEPTH => {
                guided_object(xm, ym, guide, path, depth + 1, &mut local)
            }
            _ if x == y => {}
            _ => diff_value(x, y, path, depth + 1, &mut local),
        }
        path.truncate(len);
        if local.len() >= replace_at {
            return ops.push(Op::ReplaceArray(path.clone(), b));
        }
    }
    if local.len() >= replace_at {
        ops.push(Op::ReplaceArray(path.clone(), b));
    } else {
        ops.extend(local);
    }
}

/// An operation whose value is still borrowed from `to`: an array's element-wise operations
/// are often dropped for one replace of the whole array, and only the kept ones are copied.
enum Op<'a> {
    Add(String, &'a Value),
    Remove(String),
    Replace(String, &'a Value),
    ReplaceArray(String, &'a [Value]),
}

impl Op<'_> {
    fn into_operation(self) -> Operation {
        match self {
            Op::Add(path, value) => Operation::Add {
                path,
                value: value.clone(),
            },
            Op::Remove(path) => Operation::Remove { path },
            Op::Replace(path, value) => Operation::Replace {
                path,
                value: value.clone(),
            },
            Op::ReplaceArray(path, items) => Operation::Replace {
                path,
                value: Value::Array(items.to_vec()),
            },
        }
    }
}

fn diff_value<'a>(
    from: &Value,
    to: &'a Value,
    path: &mut String,
    depth: usize,
    ops: &mut Vec<Op<'a>>,
) {
    match (from, to) {
        // Containers are walked rather than compared whole first, so each node is visited once.
        (Value::Object(a), Value::Object(b)) if depth < MAX_DEPTH => {
            diff_object(a, b, path, depth, ops)
        }
        (Value::Array(a), Value::Array(b)) if depth < MAX_DEPTH => {
            diff_array(a, b, path, depth, ops)
        }
        // Exact equality: `1` and `1.0` are equal JSON but serialise differently.
        _ if from == to => {}
        _ => ops.push(Op::Replace(path.clone(), to)),
    }
}

/// Appends `/token` (escaped) to `path`, returning the length to truncate back to.
fn push_token(path: &mut String, token: &str) -> usize {
    let len = path.len();
    path.push('/');
    if !token.bytes().any(|b| b == b'~' || b == b'/') {
        path.push_str(token);
        return len;
    }
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
    len
}

/// Appends `/index`, returning the length to truncate back to. Digits are written directly:
/// `fmt` machinery costs more than the rest of an element's walk when the element is equal.
fn push_index(path: &mut String, index: usize) -> usize {
    let len = path.len();
    path.push('/');
    let mut digits = [0u8; 20];
    let mut n = index;
    let mut at = digits.len();
    loop {
        at -= 1;
        // `n % 10` is a single digit.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        path.push(char::from(d));
    }
    len
}

fn diff_object<'a>(
    a: &Map<String, Value>,
    b: &'a Map<String, Value>,
    path: &mut String,
    depth: usize,
    ops: &mut Vec<Op<'a>>,
) {
    // Both maps iterate in key order (serde_json's map is a `BTreeMap` here), so one merged walk
    // pairs their keys without a lookup per key. Additions come after the other operations.
    let mut rest = b.iter().peekable();
    let mut added: Vec<(&String, &Value)> = Vec::new();
    for (k, va) in a {
        while let Some(entry) = rest.next_if(|(kb, _)| kb.as_str() < k.as_str()) {
            added.push(entry);
        }
        match rest.next_if(|(kb, _)| *kb == k) {
            // Equal values, most of a document, need no path: comparing is cheaper than the
            // walk, which a changed subtree then does.
            Some((_, vb)) if va == vb => {}
            None => {
                let len = push_token(path, k);
                ops.push(Op::Remove(path.clone()));
                path.truncate(len);
            }
            Some((_, vb)) => {
                let len = push_token(path, k);
                diff_value(va, vb, path, depth + 1, ops);
                path.truncate(len);
            }
        }
    }
    added.extend(rest);
    for (k, vb) in added {
        let len = push_token(path, k);
        ops.push(Op::Add(path.clone(), vb));
        path.truncate(len);
    }
}

fn diff_array<'a>(
    a: &[Value],
    b: &'a [Value],
    path: &mut String,
    depth: usize,
    ops: &mut Vec<Op<'a>>,
) {
    // Equal elements produce no operations, so trimming the common prefix and suffix only
    // matters when the lengths differ (it decides which indices are added or removed); for
    // equal lengths the element-wise walk alone gives the same operations without comparing
    // the ends twice.
    let (prefix, suffix) = if a.len() == b.len() {
        (0, 0)
    } else {
        let prefix = a.iter().zip(b).take_while(|(x, y)| *x == *y).count();
        let max_suffix = a.len().min(b.len()) - prefix;
        let suffix = a
            .iter()
            .rev()
            .zip(b.iter().rev())
            .take(max_suffix)
            .take_while(|(x, y)| *x == *y)
            .count();
        (prefix, suffix)
    };
    let a_mid = a.get(prefix..a.len() - suffix).unwrap_or_default();
    let b_mid = b.get(prefix..b.len() - suffix).unwrap_or_default();
    // One replace of the whole array when element-wise ops would be as many as its elements
    // (and more than one). Ops only accumulate, so the walk stops as soon as that is decided.
    let replace_at = b.len().max(2);
    let mut local = Vec::new();
    let common = a_mid.len().min(b_mid.len());
    for (i, (x, y)) in a_mid.iter().zip(b_mid).enumerate() {
        // Maps are walked without comparing them whole first: the walk compares each field
        // once, where a changed element would be compared twice.
        if !(x.is_object() && y.is_object()) && x == y {
            continue;
        }
        let len = push_index(path, prefix + i);
        diff_value(x, y, path, depth + 1, &mut local);
        path.truncate(len);
        if local.len() >= replace_at {
            return ops.push(Op::ReplaceArray(path.clone(), b));
        }
    }
    for (i, y) in b_mid.iter().enumerate().skip(common) {
        let len = push_index(path, prefix + i);
        local.push(Op::Add(path.clone(), y));
        path.truncate(len);
    }
    for i in (common..a_mid.len()).rev() {
        let len = push_index(path, prefix + i);
        local.push(Op::Remove(path.clone()));
        path.truncate(len);
    }
    if local.len() >= replace_at {
        ops.push(Op::ReplaceArray(path.clone(), b));
    } else {
        ops.extend(local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(from: Value, to: Value) -> Value {
        diff(&from, &to).to_value()
    }

    #[test]
    fn diff_table() {
        let cases = [
            (json!({"a": 1}), json!({"a": 1}), json!([])),
            (
                json!({"a": 1}),
                json!({"a": 2}),
                json!([{"op": "replace", "path": "/a", "value": 2}]),
            ),
            (
                json!({"a": 1}),
                json!({}),
                json!([{"op": "remove", "path": "/a"}]),
            ),
            (
                json!({}),
                json!({"a/b": {"c~d": 1}}),
                json!([{"op": "add", "path": "/a~1b", "value": {"c~d": 1}}]),
            ),
            (
                json!({"l": [1, 2, 3]}),
                json!({"l": [0, 1, 2, 3]}),
                json!([{"op": "add", "path": "/l/0", "value": 0}]),
            ),
            (
                json!({"l": [1, 2, 3]}),
                json!({"l": [1, 3]}),
                json!([{"op": "remove", "path": "/l/1"}]),
            ),
            (
                json!({"l": [1, 2, 3]}),
                json!({"l": [1, 5, 3]}),
                json!([{"op": "replace", "path": "/l/1", "value": 5}]),
            ),
            (
                json!({"l": [1, 2]}),
                json!({"l": [3, 4]}),
                json!([{"op": "replace", "path": "/l", "value": [3, 4]}]),
            ),
            (
                json!({"a": 1}),
                json!({"a": 1.0}),
                json!([{"op": "replace", "path": "/a", "value": 1.0}]),
            ),
            // Removals and changes in key order, then additions in key order.
            (
                json!({"a": 1, "c": 2, "e": 3}),
                json!({"b": 1, "c": 3, "d": 4, "e": 3}),
                json!([
                    {"op": "remove", "path": "/a"},
                    {"op": "replace", "path": "/c", "value": 3},
                    {"op": "add", "path": "/b", "value": 1},
                    {"op": "add", "path": "/d", "value": 4},
                ]),
            ),
            // Same length: a change at either end is patched in place.
            (
                json!({"l": [1, 2, 3]}),
                json!({"l": [9, 2, 3]}),
                json!([{"op": "replace", "path": "/l/0", "value": 9}]),
            ),
            (
                json!({"l": [{"a": 1}, 2, {"b": 1}]}),
                json!({"l": [{"a": 1}, 2, {"b": 1, "c": 2}]}),
                json!([{"op": "add", "path": "/l/2/c", "value": 2}]),
            ),
            // As many element-wise ops as elements: one replace.
            (
                json!({"l": [{"a": 1}, {"a": 2}, {"a": 3}]}),
                json!({"l": [{"a": 1, "x": 1}, {"a": 2, "x": 1}, {"a": 3, "x": 1}]}),
                json!([{"op": "replace", "path": "/l", "value": [
                    {"a": 1, "x": 1}, {"a": 2, "x": 1}, {"a": 3, "x": 1}
                ]}]),
            ),
            (
                json!({"l": [1, 2, 3]}),
                json!({"l": [1, 2, 3, 4, 5]}),
                json!([
                    {"op": "add", "path": "/l/3", "value": 4},
                    {"op": "add", "path": "/l/4", "value": 5},
                ]),
            ),
            (
                json!(1),
                json!([1]),
                json!([{"op": "replace", "path": "", "value": [1]}]),
            ),
        ];
        for (from, to, want) in cases {
            assert_eq!(ops(from.clone(), to.clone()), want, "{from} -> {to}");
        }
    }
}
