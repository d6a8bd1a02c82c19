//! How `palisade test` checks `patchedResources` and `generatedResource`, as Kyverno's CLI does
//! (`commands/test/compare.go`, `resource/tidy.go`, `resource/labels.go`):
//!
//! - the expected document is the one in the file with the actual resource's apiVersion, kind,
//!   namespace and name; when the file has none, the expectation is not checked;
//! - both sides lose empty maps, empty lists and nulls, lose their `generate.kyverno.io/*`
//!   labels and gain `app.kubernetes.io/managed-by: kyverno`;
//! - they must then be equal (numbers compare by value, as Go's JSON decoding makes them).

use std::path::Path;

use anyhow::Result;
use palisade_api::RuleType;
use palisade_api::cli::TestResult;
use palisade_engine::{Action, PolicyResponse, RuleResponse, RuleStatus};
use palisade_patch::json_eq;
use serde_json::{Map, Value};

use crate::artifacts::Artifacts;
use crate::files;
use crate::run::Outcome;
use crate::source::default_namespace;

/// The verdict on the resources of one rule response.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The resources match, or the expectation names no resource file.
    Same,
    /// The resource differs from the expected one; the message says where.
    Differs(String),
    /// The file has no document for this resource: Kyverno does not check the expectation.
    NotInFile,
    /// A generate rule generated nothing: Kyverno reports the expectation as excluded.
    NothingGenerated,
}

/// Checks the resources of rule response `r` of outcome `o` against the expectation's files.
pub fn resources(dir: &Path, expected: &TestResult, o: &Outcome, r: &RuleResponse) -> Verdict {
    if r.rule_type == RuleType::Generation {
        return generated(dir, expected, o, r);
    }
    let Some(file) = expected.patched_resources.as_deref() else {
        return Verdict::Same;
    };
    let actual = match r.rule_type {
        RuleType::Mutation => o.artifacts.patched.as_ref().unwrap_or(&o.resource),
        _ => &o.resource,
    };
    against_file(&dir.join(file), actual)
}

/// Adds one outcome per object a mutate-existing rule patched, named after the object, as
/// Kyverno's test command files them under the target resource.
pub fn with_targets(outcomes: Vec<Outcome>) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let extra: Vec<Outcome> = o
            .artifacts
            .targets
            .iter()
            .filter_map(|t| {
                let rule = o
                    .response
                    .rules
                    .iter()
                    .find(|r| *r.name == *t.rule && r.status == RuleStatus::Pass)?;
                Some(Outcome {
                    policy: o.policy.clone(),
                    resource: t.original.clone(),
                    response: PolicyResponse {
                        policy: o.response.policy.clone(),
                        rules: vec![rule.clone()],
                    },
                    artifacts: Artifacts {
                        patched: Some(t.patched.clone()),
                        ..Artifacts::default()
                    },
                })
            })
            .collect();
        out.push(o);
        out.extend(extra);
    }
    out
}

/// Every resource with a response, as `namespace/name` (or `name`), in order of appearance.
pub fn all_resources(outcomes: &[Outcome]) -> Vec<String> {
    let mut seen = Vec::new();
    for o in outcomes {
        let name = text(&o.resource, "/metadata/name");
        let key = match text(&o.resource, "/metadata/namespace") {
            "" => name.to_string(),
            ns => format!("{ns}/{name}"),
        };
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    seen
}

fn generated(dir: &Path, expected: &TestResult, o: &Outcome, r: &RuleResponse) -> Verdict {
    let created: Vec<&Value> = o
        .artifacts
        .generated
        .iter()
        .filter(|g| *g.rule == *r.name && g.action == Action::Create)
        .map(|g| &g.resource)
        .collect();
    if created.is_empty() {
        return Verdict::NothingGenerated;
    }
    let Some(file) = expected.generated_resource.as_deref() else {
        return Verdict::Same;
    };
    for resource in created {
        match against_file(&dir.join(file), resource) {
            Verdict::Same => {}
            other => return other,
        }
    }
    Verdict::Same
}

fn against_file(path: &Path, actual: &Value) -> Verdict {
    let docs = match load(path) {
        Ok(d) => d,
        Err(e) => return Verdict::Differs(format!("failed to load {}: {e:#}", path.display())),
    };
    let Some(expected) = docs.iter().find(|d| same_identity(d, actual)) else {
        return Verdict::NotInFile;
    };
    compare(actual, expected)
}

fn load(path: &Path) -> Result<Vec<Value>> {
    let mut docs = files::load_resources(&[path.to_path_buf()])?;
    for d in &mut docs {
        default_namespace(d, &[]);
    }
    Ok(docs)
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Same apiVersion, kind, name and namespace (a missing namespace reads as `default`, as
/// Kyverno's loader defaults it).
fn same_identity(a: &Value, b: &Value) -> bool {
    let ns = |v: &Value| match text(v, "/metadata/namespace") {
        "" => "default".to_string(),
        other => other.to_string(),
    };
    text(a, "/apiVersion") == text(b, "/apiVersion")
        && text(a, "/kind") == text(b, "/kind")
        && text(a, "/metadata/name") == text(b, "/metadata/name")
        && ns(a) == ns(b)
}

/// Compares two resources as Kyverno's CLI does.
pub fn compare(actual: &Value, expected: &Value) -> Verdict {
    let a = normalize(actual);
    let e = normalize(expected);
    if json_eq(&a, &e) {
        return Verdict::Same;
    }
    let paths: Vec<String> = palisade_patch::diff(&e, &a)
        .operations()
        .iter()
        .take(5)
        .map(|op| format!("{} {}", op.name(), op.path()))
        .collect();
    Verdict::Differs(format!(
        "the resource differs from the expected one (expected → actual: {})",
        paths.join(", ")
    ))
}

fn normalize(v: &Value) -> Value {
    let mut v = v.clone();
    fixup_labels(&mut v);
    tidy(v).unwrap_or(Value::Object(Map::new()))
}

/// Drops `generate.kyverno.io/*` labels and adds `app.kubernetes.io/managed-by: kyverno`
/// unless the resource sets it.
fn fixup_labels(v: &mut Value) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let mut labels = Map::new();
    labels.insert("app.kubernetes.io/managed-by".into(), "kyverno".into());
    if let Some(Value::Object(old)) = meta.get("labels") {
        for (k, val) in old {
            if !k.starts_with("generate.kyverno.io/") {
                labels.insert(k.clone(), val.clone());
            }
        }
    }
    meta.insert("labels".into(), Value::Object(labels));
}

/// Removes nulls, empty maps and empty lists, recursively; `None` when nothing is left.
fn tidy(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(map) => {
            let out: Map<String, Value> = map
                .into_iter()
                .filter_map(|(k, v)| tidy(v).map(|v| (k, v)))
                .collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let out: Vec<Value> = items.into_iter().filter_map(tidy).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparison_table() {
        let base = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "labels": {"a": "1"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        let cases: Vec<(&str, Value, bool)> = vec![
            ("identical", base.clone(), true),
            (
                "nulls and empty maps and lists are ignored",
                json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p", "namespace": "default", "labels": {"a": "1"},
                        "annotations": {}, "creationTimestamp": null},
                    "spec": {"containers": [{"name": "c", "image": "nginx", "env": []}]},
                    "status": {}}),
                true,
            ),
            (
                "generate labels are ignored",
                json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p", "namespace": "default",
                        "labels": {"a": "1", "generate.kyverno.io/rule-name": "r",
                            "app.kubernetes.io/managed-by": "kyverno"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
                true,
            ),
            (
                "a different value differs",
                json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p", "namespace": "default", "labels": {"a": "2"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
                false,
            ),
            (
                "list order matters",
                json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p", "namespace": "default", "labels": {"a": "1"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}, {"name": "d"}]}}),
                false,
            ),
        ];
        for (name, expected, same) in cases {
            let got = compare(&base, &expected);
            assert_eq!(got == Verdict::Same, same, "{name}: {got:?}");
        }
        assert!(json_eq(&json!({"n": 1}), &json!({"n": 1.0})));
    }

    #[test]
    fn documents_are_picked_by_identity() {
        let a = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}});
        let b = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "x", "namespace": "default"}});
        assert!(same_identity(&a, &b));
        let c = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "y"}});
        assert!(!same_identity(&a, &c));
    }
}
