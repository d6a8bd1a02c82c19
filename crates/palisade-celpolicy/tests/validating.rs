//! ValidatingPolicy and ValidatingAdmissionPolicy evaluation end to end.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use palisade_celpolicy::api::{CelDocument, decode};
use palisade_celpolicy::{
    CelData, CelRequest, CompiledException, CompiledValidatingPolicy, CompiledVap,
};
use palisade_engine::RuleStatus;
use palisade_engine::validate::cel::inputs::Attributes;
use serde_json::{Value, json};

#[derive(Debug)]
struct Cluster(Vec<Value>);

impl CelData for Cluster {
    fn get_resource(&self, _: &str, resource: &str, ns: &str, name: &str) -> Result<Value, String> {
        self.0
            .iter()
            .find(|r| {
                r["metadata"]["name"] == name
                    && r["metadata"]["namespace"].as_str().unwrap_or("") == ns
                    && format!("{}s", r["kind"].as_str().unwrap_or("").to_lowercase()) == resource
            })
            .cloned()
            .ok_or_else(|| format!("{resource} {name:?} not found"))
    }
}

fn data() -> Arc<dyn CelData> {
    Arc::new(Cluster(vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "limits", "namespace": "default"}, "data": {"max": "3"}}),
    ]))
}

fn doc(v: Value) -> CelDocument {
    let api = v["apiVersion"].as_str().unwrap().to_string();
    let kind = v["kind"].as_str().unwrap().to_string();
    decode("test.yaml", &api, &kind, &v).unwrap().unwrap()
}

fn vpol(spec: Value) -> CompiledValidatingPolicy {
    let CelDocument::ValidatingPolicy(p) = doc(json!({"apiVersion": "policies.kyverno.io/v1",
        "kind": "ValidatingPolicy", "metadata": {"name": "p"}, "spec": spec}))
    else {
        panic!("not a vpol")
    };
    CompiledValidatingPolicy::compile(*p).unwrap()
}

fn pods() -> Value {
    json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]})
}

fn pod(name: &str, privileged: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
        "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "nginx",
            "securityContext": {"privileged": privileged}}]}})
}

fn deployment(privileged: bool) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"template": {"metadata": {"labels": {"app": "d"}}, "spec": pod("x", privileged)["spec"]}}})
}

fn request(resource: Value) -> CelRequest {
    let attrs = Attributes {
        operation: "CREATE".into(),
        object: resource,
        ..Attributes::default()
    };
    CelRequest::new(&attrs, None, None, &data())
}

fn statuses(
    p: &CompiledValidatingPolicy,
    resource: Value,
    ex: &[&CompiledException],
) -> Vec<RuleStatus> {
    p.validate(&request(resource), ex)
        .rules
        .iter()
        .map(|r| r.status)
        .collect()
}

#[test]
fn validations_pass_fail_and_autogen() {
    let p = vpol(json!({
        "matchConstraints": pods(),
        "variables": [{"name": "cs", "expression": "object.spec.containers"}],
        "validations": [{"expression": "variables.cs.all(c, c.?securityContext.?privileged.orValue(false) == false)",
            "messageExpression": "'privileged: ' + object.metadata.name"}]
    }));
    assert_eq!(statuses(&p, pod("ok", false), &[]), [RuleStatus::Pass]);
    let r = p.validate(&request(pod("bad", true)), &[]);
    assert_eq!(r.rules[0].status, RuleStatus::Fail);
    assert_eq!(r.rules[0].message, "privileged: bad");
    assert_eq!(statuses(&p, deployment(true), &[]), [RuleStatus::Fail]);
    assert_eq!(statuses(&p, deployment(false), &[]), [RuleStatus::Pass]);
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}});
    assert!(statuses(&p, svc, &[]).is_empty());
}

#[test]
fn match_conditions_skip_and_errors_error() {
    let p = vpol(json!({
        "matchConstraints": pods(),
        "matchConditions": [{"name": "app", "expression": "object.metadata.labels.app == 'web'"}],
        "validations": [{"expression": "object.spec.nope == 1"}]
    }));
    assert_eq!(statuses(&p, pod("other", false), &[]), [RuleStatus::Skip]);
    assert_eq!(statuses(&p, pod("web", false), &[]), [RuleStatus::Error]);
}

#[test]
fn exceptions_skip() {
    let p = vpol(json!({"matchConstraints": pods(), "validations": [{"expression": "false"}]}));
    let CelDocument::Exception(e) = doc(json!({"apiVersion": "policies.kyverno.io/v1alpha1",
        "kind": "PolicyException", "metadata": {"name": "e", "namespace": "default"},
        "spec": {"policyRefs": [{"name": "p", "kind": "ValidatingPolicy"}],
            "matchConditions": [{"name": "n", "expression": "object.metadata.name == 'skip-me'"}]}}))
    else {
        panic!("not an exception")
    };
    let compiled = CompiledException::compile(*e).unwrap();
    let ex = [&compiled];
    let r = p.validate(&request(pod("skip-me", false)), &ex);
    assert_eq!(r.rules[0].status, RuleStatus::Skip);
    assert_eq!(r.rules[0].exceptions, ["default/e"]);
    assert_eq!(statuses(&p, pod("other", false), &ex), [RuleStatus::Fail]);
}

#[test]
fn kyverno_libraries_read_the_data_port() {
    let p = vpol(json!({
        "matchConstraints": pods(),
        "variables": [{"name": "cm", "expression": "resource.Get('v1', 'configmaps', object.metadata.namespace, 'limits')"}],
        "validations": [
            {"expression": "int(variables.cm.data.max) == 3"},
            {"expression": "image(object.spec.containers[0].image).registry() == 'index.docker.io'"},
            {"expression": "parseServiceAccount('system:serviceaccount:a:b').Name == 'b'"}
        ]
    }));
    assert_eq!(statuses(&p, pod("x", false), &[]), [RuleStatus::Pass]);
    let missing = vpol(json!({"matchConstraints": pods(),
        "validations": [{"expression": "resource.Get('v1', 'configmaps', 'default', 'nope').data.x == 'y'"}]}));
    assert_eq!(
        statuses(&missing, pod("x", false), &[]),
        [RuleStatus::Error]
    );
}

#[test]
fn compile_errors_name_policy_and_field() {
    let CelDocument::ValidatingPolicy(p) = doc(json!({"apiVersion": "policies.kyverno.io/v1",
        "kind": "ValidatingPolicy", "metadata": {"name": "broken"},
        "spec": {"matchConstraints": pods(), "validations": [{"expression": "object.x =="}]}}))
    else {
        panic!()
    };
    let err = CompiledValidatingPolicy::compile(*p)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken") && err.contains("spec.validations[0].expression"),
        "{err}"
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let v = json!({"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
        "metadata": {"name": "p"}, "spec": {"validatons": []}});
    let err = decode("f.yaml", "policies.kyverno.io/v1", "ValidatingPolicy", &v)
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("validatons"), "{err}");
}

fn vap(extra: Value, bindings: Vec<Value>) -> CompiledVap {
    let mut spec = json!({"matchConstraints": pods(),
        "validations": [{"expression": "size(object.spec.containers) <= int(params.data.max)", "message": "too many"}]});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let CelDocument::ValidatingAdmissionPolicy(p) =
        doc(json!({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "vap"}, "spec": spec}))
    else {
        panic!()
    };
    let bindings: Vec<_> = bindings
        .into_iter()
        .map(|b| match doc(b) {
            CelDocument::ValidatingAdmissionPolicyBinding(b) => *b,
            _ => panic!(),
        })
        .collect();
    CompiledVap::compile(*p, &bindings).unwrap()
}

#[test]
fn admission_policies_with_params_and_bindings() {
    let binding = |params: Value| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "b"}, "spec": {"policyName": "vap", "paramRef": params,
            "matchResources": {"objectSelector": {"matchLabels": {"app": "web"}}}}})
    };
    let p = vap(
        json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}),
        vec![binding(json!({"name": "limits"}))],
    );
    let d = data();
    let r = p.validate(&request(pod("web", false)), d.as_ref());
    assert_eq!(&*r.rules[0].name, "vap");
    assert_eq!(r.rules[0].status, RuleStatus::Pass);
    assert!(
        p.validate(&request(pod("other", false)), d.as_ref())
            .rules
            .is_empty()
    );
    let p = vap(
        json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}),
        vec![binding(json!({"name": "missing"}))],
    );
    assert_eq!(
        p.validate(&request(pod("web", false)), d.as_ref()).rules[0].status,
        RuleStatus::Error
    );
    let p = vap(
        json!({"validations": [{"expression": "object.spec.x == 1"}]}),
        vec![],
    );
    assert_eq!(
        p.validate(&request(pod("web", false)), d.as_ref()).rules[0].status,
        RuleStatus::Error
    );
}
