//! `Engine::validate_prepared` gives exactly what `Engine::validate` with `Request::context`
//! gives: every policy of the bundled library on every resource document under `policies/`,
//! with and without the library's exceptions, plus policies that read `images`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use palisade_api::load::{PolicyDocument, load_policy_documents};
use palisade_engine::{
    CompiledPolicy, Engine, Exception, Inputs, NoContext, PreparedRequest, Request, compile,
};
use serde_json::{Value, json};

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

struct Library {
    policies: Vec<CompiledPolicy>,
    exceptions: Vec<Exception>,
    resources: Vec<Value>,
}

fn library() -> Library {
    let mut lib = Library {
        policies: Vec::new(),
        exceptions: Vec::new(),
        resources: Vec::new(),
    };
    for f in yaml_files(&palisade_bench::repo_root().join("policies")) {
        let text = std::fs::read_to_string(&f).unwrap();
        let Ok(docs) = load_policy_documents(&f.display().to_string(), &text) else {
            continue;
        };
        for doc in docs {
            match doc.value {
                PolicyDocument::Policy(p) => lib.policies.extend(compile(*p).ok()),
                PolicyDocument::Exception(e) => lib.exceptions.push(Exception { exception: *e }),
                PolicyDocument::Other { value, .. } if value["metadata"].is_object() => {
                    lib.resources.push(value);
                }
                PolicyDocument::Other { .. } => {}
            }
        }
    }
    lib
}

fn policy(rules: Value) -> CompiledPolicy {
    compile(
        serde_json::from_value(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "images"},
            "spec": {"rules": rules}
        }))
        .unwrap(),
    )
    .unwrap()
}

/// Policies that read `images` in the ways the lazy variable must handle.
fn image_policies() -> Vec<CompiledPolicy> {
    let pods = json!({"any": [{"resources": {"kinds": ["Pod"]}}]});
    vec![
        policy(json!([{
            "name": "tag", "match": pods,
            "validate": {"message": "tags: {{ images.containers.*.tag }}",
                "deny": {"conditions": {"any": [{"key": "{{ images.containers.*.tag }}",
                    "operator": "AnyIn", "value": ["latest"]}]}}}
        }])),
        policy(json!([{
            "name": "root-keys", "match": pods,
            "validate": {"message": "keys: {{ keys(@) }}",
                "deny": {"conditions": {"all": [{"key": "{{ contains(keys(@), 'images') }}",
                    "operator": "Equals", "value": true}]}}}
        }])),
        policy(json!([{
            "name": "set-images", "match": pods,
            "context": [{"name": "images.extra", "variable": {"value": "x"}}],
            "validate": {"message": "{{ images }}",
                "deny": {"conditions": {"any": [{"key": "{{ length(images) }}",
                    "operator": "GreaterThan", "value": 1}]}}}
        }])),
    ]
}

fn compare(engine: &Engine, policies: &[CompiledPolicy], request: &Request, inputs: &Inputs<'_>) {
    let mut ctx = request.context();
    let mut prepared = PreparedRequest::new(request.clone());
    let mut wants = Vec::new();
    for p in policies {
        let want = engine.validate(p, request, &mut ctx, inputs);
        let got = engine.validate_prepared(p, &mut prepared, inputs);
        assert_eq!(got, want, "policy {} on {}", p.name(), request.resource());
        wants.push(want);
    }
    assert_eq!(prepared.resource(), request.resource());
    // The set gives the responses of one call per policy, in order.
    let set = engine.validate_set(policies, &mut prepared, inputs);
    assert_eq!(set, wants, "the set on {}", request.resource());
    assert_eq!(prepared.resource(), request.resource());
}

#[test]
fn prepared_requests_give_the_same_responses() {
    let lib = library();
    assert!(lib.policies.len() > 19 && lib.resources.len() > 50);
    let mut policies = lib.policies;
    policies.extend(image_policies());
    let engine = Engine::default();
    let mut resources = lib.resources;
    resources.push(palisade_bench::typical_pod(3));
    let mut latest = palisade_bench::typical_pod(4);
    latest["spec"]["containers"][0]["image"] = json!("nginx:latest");
    resources.push(latest);
    for exceptions in [&[][..], &lib.exceptions[..]] {
        let inputs = Inputs {
            source: &NoContext,
            exceptions,
        };
        for r in &resources {
            compare(&engine, &policies, &Request::create(r.clone()), &inputs);
            let delete = Request {
                operation: "DELETE".into(),
                old_object: r.clone(),
                ..Request::default()
            };
            compare(&engine, &policies, &delete, &inputs);
        }
    }
}

#[test]
fn image_policies_see_the_variable() {
    let engine = Engine::default();
    let inputs = Inputs {
        source: &NoContext,
        exceptions: &[],
    };
    let mut pod = palisade_bench::typical_pod(1);
    pod["spec"]["containers"][0]["image"] = json!("nginx:latest");
    let policies = image_policies();
    let mut prepared = PreparedRequest::new(Request::create(pod));
    let statuses: Vec<&str> = policies
        .iter()
        .map(|p| {
            let r = engine.validate_prepared(p, &mut prepared, &inputs);
            r.rules[0].status.as_str()
        })
        .collect();
    assert_eq!(statuses, ["fail", "fail", "fail"]);
}
