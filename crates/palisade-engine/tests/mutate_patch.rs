//! The RFC 6902 patch [`Engine::mutate`] returns is exactly the change it made: applied to the
//! original resource it gives the patched resource, for generated resources and policies.

#![allow(clippy::unwrap_used)]

use palisade_engine::{CompiledPolicy, Engine, Inputs, NoContext, Request, RuleStatus, compile};
use palisade_patch::json6902::Patch;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn policy(mutations: Vec<Value>) -> CompiledPolicy {
    let rules: Vec<Value> = mutations
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            json!({"name": format!("r{i}"),
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "mutate": m})
        })
        .collect();
    compile(
        serde_json::from_value(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "p"}, "spec": {"rules": rules}
        }))
        .unwrap(),
    )
    .unwrap()
}

fn mutate(policy: &CompiledPolicy, resource: Value) -> palisade_engine::MutateResponse {
    let request = Request::create(resource);
    let mut ctx = request.context();
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    Engine::default().mutate(policy, &request, &mut ctx, &inputs)
}

fn labels() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-c]", "[x-z]{1,2}", 0..3)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

fn container() -> impl Strategy<Value = Value> {
    (
        "[a-c]",
        any::<bool>(),
        prop::collection::vec(("[A-C]", "[0-9]"), 0..3),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(name, pinned, env, non_root)| {
            let mut c = json!({"name": name, "image": if pinned { "nginx:1.0" } else { "nginx" }});
            if !env.is_empty() {
                c["env"] = Value::Array(
                    env.into_iter()
                        .map(|(n, v)| json!({"name": n, "value": v}))
                        .collect(),
                );
            }
            if let Some(flag) = non_root {
                c["securityContext"] = json!({"runAsNonRoot": flag});
            }
            c
        })
}

fn pod() -> impl Strategy<Value = Value> {
    (labels(), prop::collection::vec(container(), 1..4)).prop_map(|(labels, containers)| {
        // Container names are unique in a Pod.
        let mut seen = std::collections::BTreeSet::new();
        let containers: Vec<Value> = containers
            .into_iter()
            .filter(|c| seen.insert(c["name"].as_str().unwrap_or_default().to_string()))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "labels": labels},
            "spec": {"containers": containers}})
    })
}

/// The mutations the property draws from: every patch kind and anchor the engine handles.
fn mutation() -> impl Strategy<Value = Value> {
    prop_oneof![
        ("[a-d]", "[x-z]").prop_map(|(k, v)| json!({"patchStrategicMerge":
            {"metadata": {"labels": {k: v}}}})),
        ("[a-d]", "[x-z]").prop_map(|(k, v)| json!({"patchStrategicMerge":
            {"metadata": {"labels": {format!("+({k})"): v}}}})),
        any::<bool>().prop_map(|b| json!({"patchStrategicMerge": {"spec": {"containers": [
            {"(image)": "nginx", "securityContext": {"+(runAsNonRoot)": b}}]}}})),
        "[a-c]".prop_map(|n| json!({"patchStrategicMerge": {"spec": {"containers": [
            {"name": n, "imagePullPolicy": "Always"}]}}})),
        "[a-d]".prop_map(|k| json!({"patchStrategicMerge":
            {"metadata": {"labels": {k: null}}}})),
        (0usize..3, "[x-z]").prop_map(|(i, v)| json!({"patchesJson6902": format!(
            "- op: add\n  path: /spec/containers/{i}/env/-\n  value: {{name: V, value: {v}}}\n")})),
        (0usize..3).prop_map(|i| json!({"patchesJson6902": format!(
            "- op: remove\n  path: /spec/containers/{i}/securityContext\n")})),
        Just(json!({"patchesJson6902":
            "- op: add\n  path: /metadata/annotations/owner\n  value: \"{{ request.object.metadata.name }}\"\n"})),
        Just(
            json!({"foreach": [{"list": "request.object.spec.containers",
            "patchStrategicMerge": {"spec": {"containers": [
                {"name": "{{ element.name }}", "securityContext": {"+(allowPrivilegeEscalation)": false}}]}}}]})
        ),
        Just(
            json!({"foreach": [{"list": "request.object.spec.containers",
            "patchesJson6902": "- op: replace\n  path: /spec/containers/{{ elementIndex }}/image\n  value: \"mirror/{{ element.image }}\"\n"}]})
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn patch_turns_the_original_into_the_patched_resource(
        resource in pod(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let out = mutate(&policy(mutations), resource.clone());
        let replayed = Patch::from_value(&out.patch.to_value()).unwrap().apply(&resource).unwrap();
        prop_assert_eq!(&replayed, &out.patched);
        // Only a passing rule changes the resource (later rules may undo what it did).
        let passed = out.response.rules.iter().any(|r| r.status == RuleStatus::Pass);
        prop_assert!(passed || !out.changed());
    }
}

#[test]
fn benchmark_policy_defaults_every_container() {
    let p = policy(vec![json!({"patchStrategicMerge": {
        "metadata": {"labels": {"+(team)": "platform"}},
        "spec": {
            "securityContext": {"+(runAsNonRoot)": true, "+(seccompProfile)": {"type": "RuntimeDefault"}},
            "containers": [{"(name)": "*", "securityContext": {
                "+(allowPrivilegeEscalation)": false, "+(capabilities)": {"drop": ["ALL"]}}}]
        }
    }})]);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"},
            {"name": "c", "image": "z", "securityContext": {"allowPrivilegeEscalation": true}}]}});
    let out = mutate(&p, pod);
    let containers = out.patched["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 3);
    assert_eq!(
        containers[0]["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );
    assert_eq!(
        containers[1]["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    // Kyverno's quirk (issues #6686/#6750): the list template is shared by all elements, so an
    // add-if-not-present key resolved on the first element is set on the later ones too.
    assert_eq!(
        containers[2]["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        out.patched["spec"]["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(out.patched["metadata"]["labels"]["team"], "platform");
}
