//! JSON diff producing the RFC 6902 patch an admission webhook returns.
//!
//! Objects are compared key by key (in sorted order, so output is deterministic). Arrays keep
//! their common prefix and suffix, patch the differing middle element by element with adds or
//! removes for the length difference, and fall back to one `replace` of the whole array when that
//! is no longer than the element-wise ops. Scalars and type changes become `replace`.

use crate::json6902::{Operation, Patch};
use crate::value::MAX_DEPTH;
use serde_json::{Map, Value};

/// The patch that turns `from` into `to`.
///
/// Values nested deeper than the crate's depth limit are replaced whole rather than descended.
pub fn diff(from: &Value, to: &Value) -> Patch {
    let mut ops = Vec::new();
    let mut path = String::new();
    diff_value(from, to, &mut path, 0, &mut ops);
    Patch(ops)
}

fn diff_value(from: &Value, to: &Value, path: &mut String, depth: usize, ops: &mut Vec<Operation>) {
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
        _ => ops.push(Operation::Replace {
            path: path.clone(),
            value: to.clone(),
        }),
    }
}

/// Appends `/token` (escaped) to `path`, returning the length to truncate back to.
fn push_token(path: &mut String, token: &str) -> usize {
    let len = path.len();
    path.push('/');
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
    len
}

fn push_index(path: &mut String, index: usize) -> usize {
    let len = path.len();
    path.push('/');
    path.push_str(&index.to_string());
    len
}

fn diff_object(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    path: &mut String,
    depth: usize,
    ops: &mut Vec<Operation>,
) {
    for (k, va) in a {
        let len = push_token(path, k);
        match b.get(k) {
            None => ops.push(Operation::Remove { path: path.clone() }),
            Some(vb) => diff_value(va, vb, path, depth + 1, ops),
        }
        path.truncate(len);
    }
    for (k, vb) in b {
        if !a.contains_key(k) {
            let len = push_token(path, k);
            ops.push(Operation::Add {
                path: path.clone(),
                value: vb.clone(),
            });
            path.truncate(len);
        }
    }
}

fn diff_array(a: &[Value], b: &[Value], path: &mut String, depth: usize, ops: &mut Vec<Operation>) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| *x == *y).count();
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| *x == *y)
        .count();
    let a_mid = a.get(prefix..a.len() - suffix).unwrap_or_default();
    let b_mid = b.get(prefix..b.len() - suffix).unwrap_or_default();
    let mut local = Vec::new();
    let common = a_mid.len().min(b_mid.len());
    for (i, (x, y)) in a_mid.iter().zip(b_mid).enumerate() {
        let len = push_index(path, prefix + i);
        diff_value(x, y, path, depth + 1, &mut local);
        path.truncate(len);
    }
    for (i, y) in b_mid.iter().enumerate().skip(common) {
        let len = push_index(path, prefix + i);
        local.push(Operation::Add {
            path: path.clone(),
            value: y.clone(),
        });
        path.truncate(len);
    }
    for i in (common..a_mid.len()).rev() {
        let len = push_index(path, prefix + i);
        local.push(Operation::Remove { path: path.clone() });
        path.truncate(len);
    }
    // One replace of the whole array when element-wise ops would be as many as its elements.
    if local.len() > 1 && local.len() >= b.len() {
        ops.push(Operation::Replace {
            path: path.clone(),
            value: Value::Array(b.to_vec()),
        });
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
