//! Mutations shared by MutatingPolicy and MutatingAdmissionPolicy: an apply configuration
//! (`Object{...}`) merged into the object, or a list of `JSONPatch{...}` operations applied to
//! it, each evaluated against the object as the previous mutations left it.

use std::sync::Arc;

use palisade_cel::{Activation, Env, Program, Value as Cel};
use palisade_engine::validate::cel::admission::{self, ExprError, LazyVariables, Named};
use serde_json::Value;

use crate::api::admission::Mutation;

/// How a mutation's result is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Kubernetes' built-in kinds merge lists by their merge keys (containers by name, ...).
    Schema,
    /// No schema (MutatingAdmissionPolicy's deduced types): maps merge, lists are replaced.
    Deduced,
}

/// A compiled mutation.
#[derive(Debug)]
pub enum CompiledMutation {
    /// An apply configuration.
    Apply(Program),
    /// JSON patch operations.
    JsonPatch(Program),
}

/// Compiles the mutations found at `path`; `fix` rewrites apply configurations (autogen).
pub fn compile(
    env: &Env,
    path: &str,
    mutations: &[Mutation],
    fix: &dyn Fn(&str) -> String,
) -> Result<Vec<CompiledMutation>, ExprError> {
    mutations
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let at = |f: &str| format!("{path}[{i}].{f}.expression");
            match (m.patch_type.as_str(), &m.apply_configuration, &m.json_patch) {
                ("JSONPatch", _, Some(p)) => {
                    admission::compile_expr(env, &at("jsonPatch"), &p.expression)
                        .map(CompiledMutation::JsonPatch)
                }
                (_, Some(a), _) => {
                    admission::compile_expr(env, &at("applyConfiguration"), &fix(&a.expression))
                        .map(CompiledMutation::Apply)
                }
                (_, None, Some(p)) => admission::compile_expr(env, &at("jsonPatch"), &p.expression)
                    .map(CompiledMutation::JsonPatch),
                _ => Err(ExprError {
                    path: format!("{path}[{i}]"),
                    expression: String::new(),
                    position: Default::default(),
                    message: "a mutation needs applyConfiguration or jsonPatch".into(),
                }),
            }
        })
        .collect()
}

fn to_json(v: Cel) -> Result<Value, String> {
    v.to_json().map_err(|e| e.to_string())
}

/// Applies the mutations in order, each seeing the object the previous ones produced.
pub fn apply_all(
    mutations: &[CompiledMutation],
    variables: &Arc<[Named]>,
    base: &Arc<Activation>,
    object: &Value,
    merge: Merge,
) -> Result<Value, String> {
    let mut current = object.clone();
    for m in mutations {
        let mut act = Activation::child(base.clone());
        act.bind_json("object", &current);
        let act = LazyVariables::new(Arc::new(act), variables.clone()).activation();
        current = match m {
            CompiledMutation::Apply(p) => {
                let config = to_json(p.eval(&act).map_err(|e| e.to_string())?)?;
                apply_configuration(&current, &config, merge)?
            }
            CompiledMutation::JsonPatch(p) => {
                let ops = to_json(p.eval(&act).map_err(|e| e.to_string())?)?;
                let patch =
                    palisade_patch::json6902::Patch::from_value(&ops).map_err(|e| e.to_string())?;
                patch.apply(&current).map_err(|e| e.to_string())?
            }
        };
    }
    Ok(current)
}

/// Merges an apply configuration into an object.
fn apply_configuration(object: &Value, config: &Value, merge: Merge) -> Result<Value, String> {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    if merge == Merge::Schema && palisade_patch::is_known_kind(api_version, kind) {
        palisade_patch::strategic_merge(object, config, api_version, kind)
            .map_err(|e| e.to_string())
    } else {
        palisade_patch::merge_patch(object, config).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::KYVERNO;
    use serde_json::json;

    fn run(m: Mutation, object: Value) -> Result<Value, String> {
        let compiled = compile(&KYVERNO, "spec.mutations", &[m], &|s| s.to_string()).unwrap();
        let empty: Arc<[Named]> = Arc::from(Vec::new());
        apply_all(
            &compiled,
            &empty,
            &Arc::new(Activation::new()),
            &object,
            Merge::Schema,
        )
    }

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}})
    }

    #[test]
    fn apply_configurations_merge_by_key() {
        let m: Mutation = serde_json::from_value(json!({"patchType": "ApplyConfiguration",
            "applyConfiguration": {"expression":
                "Object{metadata: Object.metadata{labels: {'x': 'y'}}, spec: Object.spec{containers: [Object.spec.containers{name: 'b', image: 'z'}]}}"}}))
        .unwrap();
        let out = run(m, pod()).unwrap();
        assert_eq!(out["metadata"]["labels"]["x"], "y");
        let image = |name: &str| {
            out["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .map(|c| c["image"].clone())
        };
        assert_eq!(image("a"), Some(json!("x")));
        assert_eq!(image("b"), Some(json!("z")));
    }

    #[test]
    fn json_patches_apply_in_order() {
        let m: Mutation = serde_json::from_value(json!({"patchType": "JSONPatch",
            "jsonPatch": {"expression":
                "[JSONPatch{op: 'add', path: '/metadata/labels', value: {'a': 'b'}}, JSONPatch{op: 'replace', path: '/spec/containers/0/image', value: object.spec.containers[1].image}]"}}))
        .unwrap();
        let out = run(m, pod()).unwrap();
        assert_eq!(out["metadata"]["labels"]["a"], "b");
        assert_eq!(out["spec"]["containers"][0]["image"], "y");
        let bad: Mutation = serde_json::from_value(json!({"patchType": "JSONPatch",
            "jsonPatch": {"expression": "[JSONPatch{op: 'add', path: '/x', value: object.nope}]"}}))
        .unwrap();
        assert!(run(bad, pod()).unwrap_err().contains("nope"));
    }
}
