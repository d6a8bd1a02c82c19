//! RFC 6902 application with the leniency Kyverno configures (evanphx/json-patch options).

#![allow(clippy::unwrap_used)]

use palisade_patch::PatchError;
use palisade_patch::json6902::Patch;
use serde_json::{Value, json};

fn apply(doc: Value, ops: Value) -> Result<Value, PatchError> {
    Patch::from_value(&ops)?.apply(&doc)
}

#[test]
fn lenient_application_table() {
    let doc = json!({"metadata": {"name": "p"}, "spec": {"list": [1, 2, 3]}});
    let cases = [
        // EnsurePathExistsOnAdd creates missing objects.
        (
            json!([{"op": "add", "path": "/metadata/annotations/foo", "value": "bar"}]),
            json!({"metadata": {"name": "p", "annotations": {"foo": "bar"}}, "spec": {"list": [1, 2, 3]}}),
        ),
        // ~1 and ~0 escapes.
        (
            json!([{"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "x"}, {"op": "add", "path": "/metadata/labels/a~0b", "value": "y"}]),
            json!({"metadata": {"name": "p", "labels": {"app.kubernetes.io/name": "x", "a~b": "y"}}, "spec": {"list": [1, 2, 3]}}),
        ),
        // `-` appends, an index inserts, -1 on add inserts before the end slot (= append).
        (
            json!([{"op": "add", "path": "/spec/list/-", "value": 4}, {"op": "add", "path": "/spec/list/0", "value": 0}, {"op": "add", "path": "/spec/list/-1", "value": 5}]),
            json!({"metadata": {"name": "p"}, "spec": {"list": [0, 1, 2, 3, 4, 5]}}),
        ),
        // Negative indices for replace and remove.
        (
            json!([{"op": "replace", "path": "/spec/list/-1", "value": 9}, {"op": "remove", "path": "/spec/list/-3"}]),
            json!({"metadata": {"name": "p"}, "spec": {"list": [2, 9]}}),
        ),
        // AllowMissingPathOnRemove: missing keys, indices and parents are fine.
        (
            json!([{"op": "remove", "path": "/metadata/labels/x"}, {"op": "remove", "path": "/spec/list/10"}, {"op": "remove", "path": "/nope/deeper"}, {"op": "remove", "path": "/spec/list/-9"}]),
            doc.clone(),
        ),
        // Missing parents become arrays when the next token is an index.
        (
            json!([{"op": "add", "path": "/spec/tolerations/0", "value": {"key": "k"}}]),
            json!({"metadata": {"name": "p"}, "spec": {"list": [1, 2, 3], "tolerations": [{"key": "k"}]}}),
        ),
        (
            json!([{"op": "add", "path": "/spec/x/2/y", "value": 1}]),
            json!({"metadata": {"name": "p"}, "spec": {"list": [1, 2, 3], "x": [null, null, {"y": 1}]}}),
        ),
        (
            json!([{"op": "add", "path": "/spec/env/-", "value": {"name": "A"}}]),
            json!({"metadata": {"name": "p"}, "spec": {"list": [1, 2, 3], "env": [{"name": "A"}]}}),
        ),
        // move and copy.
        (
            json!([{"op": "move", "from": "/metadata/name", "path": "/spec/name"}, {"op": "copy", "from": "/spec/list/0", "path": "/spec/first"}]),
            json!({"metadata": {}, "spec": {"list": [1, 2, 3], "name": "p", "first": 1}}),
        ),
        (
            json!([{"op": "move", "from": "/spec/list/0", "path": "/spec/list/-"}]),
            json!({"metadata": {"name": "p"}, "spec": {"list": [2, 3, 1]}}),
        ),
        // test passes on equal values (numbers by value) and null on a missing path.
        (
            json!([{"op": "test", "path": "/spec/list/0", "value": 1.0}, {"op": "test", "path": "/metadata/missing", "value": null}, {"op": "test", "path": "/metadata", "value": {"name": "p"}}]),
            doc.clone(),
        ),
        // Replacing the whole document.
        (
            json!([{"op": "replace", "path": "", "value": {"a": 1}}]),
            json!({"a": 1}),
        ),
        // Removing the whole document is a no-op, as in evanphx.
        (json!([{"op": "remove", "path": ""}]), doc.clone()),
        // Adding under a null parent turns it into an object.
        (
            json!([{"op": "add", "path": "/spec/n", "value": null}, {"op": "add", "path": "/spec/n/a", "value": 1}]),
            json!({"metadata": {"name": "p"}, "spec": {"list": [1, 2, 3], "n": {"a": 1}}}),
        ),
    ];
    for (ops, want) in cases {
        assert_eq!(apply(doc.clone(), ops.clone()).unwrap(), want, "{ops}");
    }
}

#[test]
fn failures_name_the_operation_and_path() {
    let doc = json!({"a": {"b": 1}, "l": [1], "n": null});
    let cases = [
        (
            json!([{"op": "add", "path": "/x", "value": 1}, {"op": "replace", "path": "/missing", "value": 1}]),
            "operation 1 (replace /missing)",
        ),
        (
            json!([{"op": "replace", "path": "/l/5", "value": 1}]),
            "out of range",
        ),
        (
            json!([{"op": "test", "path": "/a/b", "value": 2}]),
            "operation 0 (test /a/b)",
        ),
        (
            json!([{"op": "test", "path": "/n", "value": null}]),
            "does not equal",
        ),
        (
            json!([{"op": "move", "from": "/zz", "path": "/y"}]),
            "operation 0 (move /y)",
        ),
        (
            json!([{"op": "copy", "from": "/zz", "path": "/y"}]),
            "from path",
        ),
        (
            json!([{"op": "add", "path": "/a/b/c", "value": 1}]),
            "cannot hold members",
        ),
        (
            json!([{"op": "add", "path": "/l/7", "value": 1}]),
            "out of range",
        ),
        (
            json!([{"op": "remove", "path": "/l/x"}]),
            "not an array index",
        ),
        (
            json!([{"op": "add", "path": "/deep/1000000/x", "value": 1}]),
            "refusing to pad",
        ),
    ];
    for (ops, want) in cases {
        let err = apply(doc.clone(), ops.clone()).unwrap_err().to_string();
        assert!(err.contains(want), "{ops}: {err}");
    }
}

#[test]
fn exponential_copies_are_bounded() {
    let mut ops = vec![json!({"op": "add", "path": "/a", "value": [1, 2, 3, 4]})];
    for _ in 0..40 {
        ops.push(json!({"op": "copy", "from": "/a", "path": "/a/-"}));
    }
    let err = apply(json!({}), Value::Array(ops)).unwrap_err();
    assert!(
        err.to_string().contains("copy operations would duplicate"),
        "{err}"
    );
}

#[test]
fn kyverno_style_yaml_patch_value() {
    // What the lead hands over after parsing `patchesJson6902` YAML.
    let ops = json!([
        {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "X", "value": "1"}},
        {"op": "replace", "path": "/spec/replicas", "value": 2}
    ]);
    let doc =
        json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a"}]}}}});
    let out = apply(doc, ops).unwrap();
    assert_eq!(out["spec"]["replicas"], 2);
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "X", "value": "1"}])
    );
}
