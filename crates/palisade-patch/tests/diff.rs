//! The diff is exact: applying `diff(a, b)` to `a` yields `b`, for arbitrary JSON.

#![allow(clippy::unwrap_used)]

use palisade_patch::diff;
use palisade_patch::json6902::pointer::unescape;
use palisade_patch::json6902::{Operation, Patch};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "a/b", "~", "~1", "", "name", "0", "-"])
        .prop_map(str::to_string)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(|n| json!(n)),
        prop::num::f64::NORMAL.prop_map(|f| json!(f)),
        "[a-c/~]{0,3}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Checks that `op` would also apply under strict RFC 6902 (as the API server applies it):
/// parents exist, removed and replaced paths exist, array inserts are within bounds.
fn strictly_applicable(doc: &Value, op: &Operation) -> bool {
    let path = op.path();
    let (parent, last) = match path.rsplit_once('/') {
        Some(split) => split,
        None => return matches!(op, Operation::Replace { .. }),
    };
    let last = unescape(last);
    match op {
        Operation::Add { .. } => match doc.pointer(parent) {
            Some(Value::Object(_)) => true,
            Some(Value::Array(a)) => last.parse::<usize>().is_ok_and(|i| i <= a.len()),
            _ => false,
        },
        _ => doc.pointer(path).is_some(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn apply_of_diff_reproduces_the_target(a in json_value(), b in json_value()) {
        let patch = diff(&a, &b);
        let out = patch.apply(&a);
        prop_assert!(out.is_ok(), "{:?}", out);
        prop_assert_eq!(out.ok(), Some(b));
    }

    #[test]
    fn diff_ops_are_valid_under_strict_application(a in json_value(), b in json_value()) {
        let mut doc = a;
        for op in diff(&doc.clone(), &b).operations() {
            prop_assert!(strictly_applicable(&doc, op), "{:?} on {}", op, doc);
            doc = Patch(vec![op.clone()]).apply(&doc).unwrap();
        }
        prop_assert_eq!(doc, b);
    }

    #[test]
    fn diff_of_equal_documents_is_empty(a in json_value()) {
        prop_assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn small_edits_give_small_patches(a in prop::collection::btree_map(key(), leaf(), 1..6), v in leaf()) {
        let from = Value::Object(a.into_iter().collect());
        let mut to = from.clone();
        if let Some(m) = to.as_object_mut() {
            m.insert("new".into(), v);
        }
        prop_assert!(diff(&from, &to).operations().len() <= 1);
    }
}

#[test]
fn webhook_patch_serialisation() {
    let from = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"name": "a"}]}});
    let to = json!({"metadata": {"labels": {"a": "1", "app.kubernetes.io/name": "x"}}, "spec": {"containers": [{"name": "s"}, {"name": "a"}]}});
    let patch = diff(&from, &to);
    let wire: Value = serde_json::from_slice(&patch.to_json_bytes()).unwrap();
    assert_eq!(
        wire,
        json!([
            {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "x"},
            {"op": "add", "path": "/spec/containers/0", "value": {"name": "s"}}
        ])
    );
}
