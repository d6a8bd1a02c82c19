//! MutatingPolicy and MutatingAdmissionPolicy end to end, and the data-port libraries.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use palisade_celpolicy::api::{CelDocument, decode};
use palisade_celpolicy::{
    CelData, CelRequest, CompiledMap, CompiledMutatingPolicy, CompiledValidatingPolicy,
};
use palisade_engine::RuleStatus;
use palisade_engine::validate::cel::inputs::Attributes;
use serde_json::{Value, json};

#[derive(Debug)]
struct Data;

impl CelData for Data {
    fn http_get(&self, url: &str) -> Result<Value, String> {
        Ok(json!({"statusCode": 200, "body": {"url": url, "allowed": true}}))
    }
    fn global_context(&self, name: &str, projection: &str) -> Result<Value, String> {
        Ok(json!({"name": name, "projection": projection}))
    }
    fn image_data(&self, image: &str) -> Result<Value, String> {
        Ok(json!({"image": image, "config": {"architecture": "arm64"}}))
    }
}

fn doc(v: Value) -> CelDocument {
    let api = v["apiVersion"].as_str().unwrap().to_string();
    let kind = v["kind"].as_str().unwrap().to_string();
    decode("test.yaml", &api, &kind, &v).unwrap().unwrap()
}

fn pods() -> Value {
    json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
        "operations": ["CREATE"], "resources": ["pods"]}]})
}

fn request(object: &Value) -> CelRequest {
    let attrs = Attributes {
        operation: "CREATE".into(),
        object: object.clone(),
        ..Attributes::default()
    };
    let data: Arc<dyn CelData> = Arc::new(Data);
    CelRequest::new(&attrs, None, None, &data)
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "dev"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
}

fn mpol(spec: Value) -> CompiledMutatingPolicy {
    let CelDocument::MutatingPolicy(p) = doc(json!({"apiVersion": "policies.kyverno.io/v1alpha1",
        "kind": "MutatingPolicy", "metadata": {"name": "m"}, "spec": spec}))
    else {
        panic!()
    };
    CompiledMutatingPolicy::compile(*p).unwrap()
}

#[test]
fn mutating_policies_patch_and_skip() {
    let p = mpol(json!({
        "matchConstraints": pods(),
        "matchConditions": [{"name": "dev", "expression": "object.metadata.namespace == 'dev'"}],
        "mutations": [
            {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression":
                "Object{metadata: Object.metadata{labels: {'team': 'core'}}}"}},
            {"patchType": "JSONPatch", "jsonPatch": {"expression":
                "[JSONPatch{op: 'add', path: '/metadata/annotations', value: {'team': object.metadata.labels.team}}]"}}
        ]
    }));
    let object = pod();
    let out = p.mutate(&request(&object), &object, &[]);
    assert_eq!(out.response.rules[0].status, RuleStatus::Pass);
    let patched = out.patched.unwrap();
    assert_eq!(patched["metadata"]["labels"]["team"], "core");
    assert_eq!(patched["metadata"]["annotations"]["team"], "core");
    let mut other = pod();
    other["metadata"]["namespace"] = json!("prod");
    let out = p.mutate(&request(&other), &other, &[]);
    assert_eq!(out.response.rules[0].status, RuleStatus::Skip);
    assert!(out.patched.is_none());
}

#[test]
fn mutating_policy_autogen_wraps_the_template() {
    let p = mpol(json!({
        "matchConstraints": pods(),
        "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {"expression":
            "Object{spec: Object.spec{hostNetwork: false}}"}}]
    }));
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "dev"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx"}]}}}});
    let out = p.mutate(&request(&deploy), &deploy, &[]);
    assert_eq!(out.response.rules.len(), 1);
    assert_eq!(
        out.patched.unwrap()["spec"]["template"]["spec"]["hostNetwork"],
        false
    );
}

#[test]
fn mutating_admission_policies_are_named_after_the_policy() {
    let CelDocument::MutatingAdmissionPolicy(p) = doc(json!({
        "apiVersion": "admissionregistration.k8s.io/v1alpha1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": "map"},
        "spec": {"matchConstraints": pods(), "mutations": [{"patchType": "ApplyConfiguration",
            "applyConfiguration": {"expression": "Object{metadata: Object.metadata{labels: {'x': 'y'}}}"}}]}}))
    else {
        panic!()
    };
    let p = CompiledMap::compile(*p, &[]).unwrap();
    let object = pod();
    let out = p.mutate(&request(&object), &object);
    assert_eq!(&*out.response.rules[0].name, "map");
    assert_eq!(out.patched.unwrap()["metadata"]["labels"]["x"], "y");
}

#[test]
fn data_port_libraries() {
    let CelDocument::ValidatingPolicy(p) = doc(json!({"apiVersion": "policies.kyverno.io/v1",
    "kind": "ValidatingPolicy", "metadata": {"name": "v"},
    "spec": {"matchConstraints": pods(), "validations": [
        {"expression": "http.Get('https://x.example/y').body.allowed"},
        {"expression": "globalContext.Get('entry', 'p').projection == 'p'"},
        {"expression": "image.GetMetadata(object.spec.containers[0].image).config.architecture == 'arm64'"},
        {"expression": "isImage('nginx:1.2') && !isImage('NOT AN IMAGE') && parseImageReference('ghcr.io/a/b:1').tag() == '1'"}
    ]}})) else {
        panic!()
    };
    let p = CompiledValidatingPolicy::compile(*p).unwrap();
    let r = p.validate(&request(&pod()), &[]);
    assert_eq!(r.rules[0].status, RuleStatus::Pass, "{:?}", r.rules[0]);
}
