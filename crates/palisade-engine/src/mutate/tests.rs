//! Mutate rules through [`Engine::mutate`]: outcomes, patched resources and patches.

use serde_json::{Value, json};

use super::MutateResponse;
use crate::ports::{ContextSource, Lookup};
use crate::{Engine, Inputs, NoContext, Request, RuleStatus, compile};

fn policy(rules: Value) -> crate::CompiledPolicy {
    compile(
        serde_json::from_value(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "p"}, "spec": {"rules": rules}
        }))
        .unwrap(),
    )
    .unwrap()
}

fn rule(name: &str, kinds: &[&str], mutate: Value) -> Value {
    json!({"name": name, "match": {"any": [{"resources": {"kinds": kinds}}]}, "mutate": mutate})
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {"containers": [
        {"name": "a", "image": "nginx:1"},
        {"name": "b", "image": "busybox"}
    ]}})
}

fn run_with(rules: Value, resource: Value, source: &dyn ContextSource) -> MutateResponse {
    let p = policy(rules);
    let request = Request::create(resource);
    let mut ctx = request.context();
    let inputs = Inputs {
        source,
        exceptions: &[],
    };
    Engine::default().mutate(&p, &request, &mut ctx, &inputs)
}

fn run(rules: Value, resource: Value) -> MutateResponse {
    run_with(rules, resource, &NoContext)
}

fn statuses(r: &MutateResponse) -> Vec<(String, RuleStatus)> {
    r.response
        .rules
        .iter()
        .map(|r| (r.name.to_string(), r.status))
        .collect()
}

#[test]
fn rule_outcomes() {
    type Case = (&'static str, Value, RuleStatus, &'static str);
    let cases: Vec<Case> = vec![
        (
            "a patch that changes the resource passes",
            json!({"patchStrategicMerge": {"metadata": {"labels": {"team": "core"}}}}),
            RuleStatus::Pass,
            "mutated Pod/web in namespace shop",
        ),
        (
            "a patch that changes nothing is skipped",
            json!({"patchStrategicMerge": {"metadata": {"labels": {"app": "web"}}}}),
            RuleStatus::Skip,
            "no patches applied",
        ),
        (
            "a failed conditional anchor is a skip",
            json!({"patchStrategicMerge": {"metadata": {"labels": {"(app)": "db", "team": "x"}}}}),
            RuleStatus::Skip,
            "no patches applied",
        ),
        (
            "a failed global anchor is a skip",
            json!({"patchStrategicMerge": {"spec": {"containers": [{"<(image)": "redis*"}]},
                "metadata": {"labels": {"team": "x"}}}}),
            RuleStatus::Skip,
            "no patches applied",
        ),
        (
            "an unresolvable variable is an error",
            json!({"patchStrategicMerge": {"metadata": {"labels": {"x": "{{ request.object.nope.y }}"}}}}),
            RuleStatus::Error,
            "variable substitution failed",
        ),
        (
            "a JSON patch that cannot apply is an error",
            json!({"patchesJson6902": "- op: test\n  path: /metadata/name\n  value: other\n"}),
            RuleStatus::Error,
            "failed to patch resource",
        ),
        (
            "a JSON patch with variables passes",
            json!({"patchesJson6902": "- op: add\n  path: /metadata/annotations\n  value: {owner: \"{{ request.object.metadata.labels.app }}\"}\n"}),
            RuleStatus::Pass,
            "mutated Pod/web",
        ),
    ];
    for (name, mutate, status, message) in cases {
        let out = run(json!([rule("r", &["Pod"], mutate)]), pod());
        let resp = &out.response.rules[0];
        assert_eq!(resp.status, status, "{name}: {}", resp.message);
        assert!(resp.message.contains(message), "{name}: {}", resp.message);
        assert_eq!(out.changed(), status == RuleStatus::Pass, "{name}");
    }
}

#[test]
fn preconditions_skip_and_rules_chain() {
    let rules = json!([
        rule("first", &["Pod"], json!({"patchStrategicMerge": {"metadata": {"labels": {"stage": "one"}}}})),
        {
            "name": "second",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "preconditions": {"all": [{"key": "{{ request.object.metadata.labels.stage || '' }}", "operator": "Equals", "value": "one"}]},
            "mutate": {"patchStrategicMerge": {"metadata": {"labels": {"stage": "two"}}}}
        },
        {
            "name": "third",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "preconditions": {"all": [{"key": "{{ request.object.metadata.labels.stage }}", "operator": "Equals", "value": "one"}]},
            "mutate": {"patchStrategicMerge": {"metadata": {"labels": {"stage": "three"}}}}
        },
        rule("other-kind", &["Service"], json!({"patchStrategicMerge": {"metadata": {"labels": {"x": "y"}}}}))
    ]);
    let out = run(rules, pod());
    assert_eq!(
        statuses(&out),
        vec![
            ("first".to_string(), RuleStatus::Pass),
            ("second".to_string(), RuleStatus::Pass),
            ("third".to_string(), RuleStatus::Skip),
        ]
    );
    assert_eq!(out.patched["metadata"]["labels"]["stage"], "two");
    assert_eq!(
        out.patch.to_value(),
        json!([{"op": "add", "path": "/metadata/labels/stage", "value": "two"}])
    );
}

#[test]
fn foreach_patches_each_element() {
    let rules = json!([rule(
        "ctx",
        &["Pod"],
        json!({"foreach": [{
            "list": "request.object.spec.containers",
            "preconditions": {"all": [{"key": "{{ element.name }}", "operator": "NotEquals", "value": "b"}]},
            "patchStrategicMerge": {"spec": {"containers": [{
                "name": "{{ element.name }}",
                "securityContext": {"runAsNonRoot": true}
            }]}}
        }]})
    )]);
    let out = run(rules, pod());
    assert_eq!(statuses(&out), vec![("ctx".to_string(), RuleStatus::Pass)]);
    let containers = &out.patched["spec"]["containers"];
    assert_eq!(containers[0]["securityContext"]["runAsNonRoot"], true);
    assert!(containers[1].get("securityContext").is_none());
}

#[test]
fn foreach_json_patch_uses_element_index_and_order() {
    let mutate = |order: &str| {
        json!({"foreach": [{
            "list": "request.object.spec.containers",
            "order": order,
            "patchesJson6902": "- op: add\n  path: /metadata/annotations/last\n  value: \"{{ element.name }}-{{ elementIndex }}\"\n"
        }]})
    };
    let asc = run(json!([rule("r", &["Pod"], mutate("Ascending"))]), pod());
    assert_eq!(asc.patched["metadata"]["annotations"]["last"], "b-1");
    let desc = run(json!([rule("r", &["Pod"], mutate("Descending"))]), pod());
    assert_eq!(desc.patched["metadata"]["annotations"]["last"], "a-0");
}

#[test]
fn nested_foreach_sees_both_elements() {
    let mut resource = pod();
    resource["spec"]["containers"][0]["env"] = json!([{"name": "X", "value": "1"}]);
    let rules = json!([rule(
        "nested",
        &["Pod"],
        json!({"foreach": [{
            "list": "request.object.spec.containers",
            "foreach": [{
                "list": "element.env || `[]`",
                "patchesJson6902": "- op: add\n  path: /metadata/annotations/{{ element0.name }}-{{ element1.name }}\n  value: \"{{ element1.value }}\"\n"
            }]
        }]})
    )]);
    let out = run(rules, resource);
    assert_eq!(out.patched["metadata"]["annotations"]["a-X"], "1");
}

#[test]
fn foreach_with_nothing_to_do_is_skipped() {
    let rules = json!([rule(
        "none",
        &["Pod"],
        json!({"foreach": [{
            "list": "request.object.spec.initContainers || `[]`",
            "patchStrategicMerge": {"metadata": {"labels": {"x": "y"}}}
        }]})
    )]);
    let out = run(rules, pod());
    assert_eq!(statuses(&out), vec![("none".to_string(), RuleStatus::Skip)]);
    assert!(!out.changed());
    // A list that cannot be evaluated is an error (Kyverno's mutate, unlike validate).
    let rules = json!([rule(
        "missing",
        &["Pod"],
        json!({"foreach": [{
            "list": "request.object.spec.initContainers",
            "patchStrategicMerge": {"metadata": {"labels": {"x": "y"}}}
        }]})
    )]);
    let out = run(rules, pod());
    assert_eq!(
        statuses(&out),
        vec![("missing".to_string(), RuleStatus::Error)]
    );
}

#[test]
fn autogen_mutates_the_pod_template() {
    let rules = json!([rule(
        "ctx",
        &["Pod"],
        json!({"patchStrategicMerge": {
            "spec": {"securityContext": {"+(runAsNonRoot)": true}}
        }})
    )]);
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}});
    let out = run(rules, deployment);
    assert_eq!(
        statuses(&out),
        vec![("autogen-ctx".to_string(), RuleStatus::Pass)]
    );
    assert_eq!(
        out.patched["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
        true
    );
}

struct Cluster(Vec<Value>);

impl ContextSource for Cluster {
    fn list_resources(&self, api_version: &str, kind: &str, _namespace: &str) -> Lookup {
        Lookup::Found(Value::Array(
            self.0
                .iter()
                .filter(|o| o["apiVersion"] == api_version && o["kind"] == kind)
                .cloned()
                .collect(),
        ))
    }
}

#[test]
fn mutate_existing_patches_targets_not_the_trigger() {
    let secret = |ns: &str, name: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}});
    let cluster = Cluster(vec![
        secret("shop", "s-1"),
        secret("shop", "other"),
        secret("prod", "s-2"),
    ]);
    let rules = json!([rule(
        "existing",
        &["Pod"],
        json!({
            "targets": [{"apiVersion": "v1", "kind": "Secret", "namespace": "{{ request.object.metadata.namespace }}", "name": "s-*"}],
            "patchStrategicMerge": {"metadata": {"labels": {"from": "{{ request.object.metadata.name }}", "was": "{{ target.metadata.name }}"}}}
        })
    )]);
    let out = run_with(rules, pod(), &cluster);
    assert!(!out.changed());
    assert_eq!(out.targets.len(), 1);
    let t = &out.targets[0];
    assert_eq!(
        t.patched["metadata"]["labels"],
        json!({"from": "web", "was": "s-1"})
    );
    assert_eq!(
        statuses(&out),
        vec![("existing".to_string(), RuleStatus::Pass)]
    );
    assert_eq!(t.patch().operations().len(), 1);

    // At admission, mutate-existing rules are left to the background controller.
    let p = policy(json!([rule(
        "existing",
        &["Pod"],
        json!({
            "targets": [{"apiVersion": "v1", "kind": "Secret", "name": "s-1"}],
            "patchStrategicMerge": {"metadata": {"labels": {"x": "y"}}}
        })
    )]));
    let request = Request::create(pod());
    let mut ctx = request.context();
    let inputs = Inputs {
        source: &cluster,
        exceptions: &[],
    };
    let admission = Engine::default().mutate_admission(&p, &request, &mut ctx, &inputs);
    assert!(admission.response.rules.is_empty());
}

#[test]
fn context_is_returned_unchanged() {
    let p = policy(json!([rule(
        "r",
        &["Pod"],
        json!({"patchStrategicMerge": {"metadata": {"labels": {"x": "y"}}}})
    )]));
    let request = Request::create(pod());
    let mut ctx = request.context();
    let before = ctx.root().clone();
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    let out = Engine::default().mutate(&p, &request, &mut ctx, &inputs);
    assert!(out.changed());
    assert_eq!(ctx.root(), &before);
}

#[test]
fn foreach_context_entries_are_per_element() {
    let rules = json!([rule(
        "ctx",
        &["Pod"],
        json!({"foreach": [{
            "list": "request.object.spec.containers",
            "context": [{"name": "tag", "variable": {"jmesPath": "split(element.image, ':')[1] || 'latest'"}}],
            "patchesJson6902": "- op: add\n  path: /metadata/annotations/{{ element.name }}\n  value: \"{{ tag }}\"\n"
        }]})
    )]);
    let out = run(rules, pod());
    assert_eq!(
        out.patched["metadata"]["annotations"],
        json!({"a": "1", "b": "latest"})
    );
}

#[test]
fn autogen_wraps_foreach_patches() {
    let rules = json!([rule(
        "ctx",
        &["Pod"],
        json!({"foreach": [{
            "list": "request.object.spec.containers",
            "patchStrategicMerge": {"spec": {"containers": [{
                "name": "{{ element.name }}", "securityContext": {"+(privileged)": false}}]}}
        }]})
    )]);
    let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "shop"},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "job", "image": "busybox"}]}}}}}});
    let out = run(rules, cronjob);
    assert_eq!(
        statuses(&out),
        vec![("autogen-cronjob-ctx".to_string(), RuleStatus::Pass)]
    );
    assert_eq!(
        out.patched["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["securityContext"]
            ["privileged"],
        false
    );
}

#[test]
fn only_variable_free_patches_skip_substitution() {
    let p = policy(json!([
        rule(
            "plain",
            &["Pod"],
            json!({"patchStrategicMerge": {"metadata": {"labels": {"+(a)": "1"}}}})
        ),
        rule(
            "vars",
            &["Pod"],
            json!({"patchStrategicMerge": {"metadata": {"labels": {"b": "{{ request.object.metadata.name }}"}}}})
        ),
    ]));
    let patch = |i: usize| {
        p.rules[i]
            .mutate
            .as_ref()
            .and_then(|m| m.patch_strategic_merge.as_ref())
            .unwrap()
    };
    assert!(p.cache.is_plain_patch(patch(0)));
    assert!(!p.cache.is_plain_patch(patch(1)));
    // A copy is not the compiled patch: it is substituted as before.
    assert!(!p.cache.is_plain_patch(&patch(0).clone()));
    // Both still apply, the variable one with its value.
    let request = Request::create(pod());
    let mut ctx = request.context();
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    let out = Engine::default().mutate(&p, &request, &mut ctx, &inputs);
    assert_eq!(
        out.patched["metadata"]["labels"],
        json!({"app": "web", "a": "1", "b": "web"})
    );
}
