//! Generate rules through [`Engine::generate`]: desired resources, labels and actions.

use serde_json::{Value, json};

use super::{Action, GenerateResponse};
use crate::matching::{name_of, namespace_of};
use crate::ports::{ContextSource, Lookup};
use crate::{Engine, Inputs, NoContext, Request, RuleStatus, compile};

struct Cluster(Vec<Value>);

impl ContextSource for Cluster {
    fn get_resource(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Lookup {
        match self.0.iter().find(|o| {
            o["apiVersion"] == api_version
                && o["kind"] == kind
                && namespace_of(o) == namespace
                && name_of(o) == name
        }) {
            Some(o) => Lookup::Found(o.clone()),
            None => Lookup::Failed(format!("{kind} {namespace}/{name} not found")),
        }
    }
    fn list_resources(&self, api_version: &str, kind: &str, namespace: &str) -> Lookup {
        Lookup::Found(Value::Array(
            self.0
                .iter()
                .filter(|o| o["apiVersion"] == api_version && o["kind"] == kind)
                .filter(|o| namespace.is_empty() || namespace_of(o) == namespace)
                .cloned()
                .collect(),
        ))
    }
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": "ns-uid"}})
}

fn run(generate: Value, trigger: Value, source: &dyn ContextSource) -> GenerateResponse {
    let p = compile(
        serde_json::from_value(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "defaults"},
            "spec": {"rules": [{
                "name": "gen",
                "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
                "generate": generate
            }]}
        }))
        .unwrap(),
    )
    .unwrap();
    let request = Request::create(trigger);
    let mut ctx = request.context();
    let inputs = Inputs {
        source,
        exceptions: &[],
    };
    Engine::default().generate(&p, &request, &mut ctx, &inputs)
}

#[test]
fn data_with_variables_is_generated_and_labelled() {
    let out = run(
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "name": "default-deny", "namespace": "{{ request.object.metadata.name }}",
            "synchronize": true,
            "data": {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
        }),
        namespace("team-a"),
        &NoContext,
    );
    assert_eq!(out.response.rules[0].status, RuleStatus::Pass);
    assert_eq!(out.resources.len(), 1);
    let g = &out.resources[0];
    assert_eq!(g.action, Action::Create);
    assert!(g.synchronize);
    assert!(!g.orphan_downstream_on_policy_delete);
    assert_eq!(g.resource["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(g.resource["kind"], "NetworkPolicy");
    assert_eq!(g.resource["metadata"]["name"], "default-deny");
    assert_eq!(g.resource["metadata"]["namespace"], "team-a");
    let labels = &g.resource["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kyverno");
    assert_eq!(labels["generate.kyverno.io/policy-name"], "defaults");
    assert_eq!(labels["generate.kyverno.io/rule-name"], "gen");
    assert_eq!(labels["generate.kyverno.io/trigger-kind"], "Namespace");
    assert_eq!(labels["generate.kyverno.io/trigger-uid"], "ns-uid");
}

#[test]
fn clone_copies_the_source() {
    let source = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "regcred", "namespace": "default", "uid": "s", "resourceVersion": "9"},
        "data": {"password": "cGFzcw=="}});
    let rule = json!({"apiVersion": "v1", "kind": "Secret", "name": "regcred",
        "namespace": "{{ request.object.metadata.name }}",
        "clone": {"namespace": "default", "name": "regcred"}});
    let out = run(
        rule.clone(),
        namespace("team-a"),
        &Cluster(vec![source.clone()]),
    );
    assert_eq!(out.response.rules[0].status, RuleStatus::Pass);
    let copy = &out.resources[0].resource;
    assert_eq!(copy["data"]["password"], "cGFzcw==");
    assert_eq!(copy["metadata"]["namespace"], "team-a");
    assert!(copy["metadata"].get("uid").is_none());
    assert_eq!(
        copy["metadata"]["labels"]["generate.kyverno.io/source-name"],
        "regcred"
    );

    // No source: an error with the reason.
    let out = run(rule, namespace("team-a"), &Cluster(vec![]));
    assert_eq!(out.response.rules[0].status, RuleStatus::Error);
    assert!(out.response.rules[0].message.contains("not found"));
    assert!(out.resources.is_empty());
}

#[test]
fn clone_list_selects_by_kind_and_labels() {
    let secret = |name: &str, labels: Value| {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "default", "labels": labels}})
    };
    let cluster = Cluster(vec![
        secret("a", json!({"clone": "yes"})),
        secret("b", json!({})),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "labels": {"clone": "yes"}}}),
    ]);
    let out = run(
        json!({"namespace": "{{ request.object.metadata.name }}", "cloneList": {
            "namespace": "default", "kinds": ["v1/Secret", "v1/ConfigMap"],
            "selector": {"matchLabels": {"clone": "yes"}}}}),
        namespace("team-a"),
        &cluster,
    );
    let names: Vec<(String, String)> = out
        .resources
        .iter()
        .map(|g| {
            (
                g.resource["kind"].as_str().unwrap().to_string(),
                name_of(&g.resource).to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("Secret".into(), "a".into()),
            ("ConfigMap".into(), "c".into())
        ]
    );
    assert!(
        out.resources
            .iter()
            .all(|g| namespace_of(&g.resource) == "team-a")
    );
}

#[test]
fn existing_downstream_is_updated_only_when_synchronized() {
    let existing = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "team-a"}, "data": {"k": "old"}});
    let rule = |sync: bool| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg",
            "namespace": "team-a", "synchronize": sync, "data": {"data": {"k": "new"}}})
    };
    let cluster = Cluster(vec![existing]);
    let synced = run(rule(true), namespace("team-a"), &cluster);
    assert_eq!(synced.resources[0].action, Action::Update);
    let not_synced = run(rule(false), namespace("team-a"), &cluster);
    assert_eq!(not_synced.resources[0].action, Action::Unchanged);
}

#[test]
fn foreach_generates_per_element_and_preconditions_skip() {
    let mut trigger = namespace("team-a");
    trigger["metadata"]["annotations"] = json!({"quota": "a,b"});
    let out = run(
        json!({"foreach": [{
            "list": "split(request.object.metadata.annotations.quota, ',')",
            "apiVersion": "v1", "kind": "ConfigMap",
            "name": "cm-{{ element }}", "namespace": "{{ request.object.metadata.name }}",
            "data": {"data": {"index": "{{ elementIndex }}"}}
        }]}),
        trigger,
        &NoContext,
    );
    let names: Vec<&str> = out.resources.iter().map(|g| name_of(&g.resource)).collect();
    assert_eq!(names, vec!["cm-a", "cm-b"]);
    assert_eq!(out.resources[1].resource["data"]["index"], 1);

    let p = compile(
        serde_json::from_value(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "p"},
            "spec": {"rules": [{
                "name": "gen",
                "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
                "preconditions": {"all": [{"key": "{{ request.object.metadata.name }}", "operator": "Equals", "value": "other"}]},
                "generate": {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "namespace": "y", "data": {}}
            }]}
        }))
        .unwrap(),
    )
    .unwrap();
    let request = Request::create(namespace("team-a"));
    let mut ctx = request.context();
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    let out = Engine::default().generate(&p, &request, &mut ctx, &inputs);
    assert_eq!(out.response.rules[0].status, RuleStatus::Skip);
    assert!(out.resources.is_empty());
}
