//! Kyverno's admission decisions, rule by rule, on small inline policies.

#![allow(clippy::unwrap_used)]

use palisade_admission::{
    AdmissionRequest, Entry, Phase, PolicySet, ReviewEnv, Verdict, compile_document, review,
};
use palisade_engine::RuleStatus;
use serde_json::{Value, json};

fn entry(doc: Value) -> Entry {
    compile_document("inline", 0, &doc).unwrap()
}

/// A ClusterPolicy with one validate rule on Pods.
fn policy(name: &str, spec_extra: Value, validate: Value) -> Entry {
    let mut spec = json!({"rules": [{"name": "check",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": validate}]});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    entry(
        json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": name}, "spec": spec}),
    )
}

fn needs_label(action: &str) -> Value {
    json!({"failureAction": action, "message": "label team is required",
        "pattern": {"metadata": {"labels": {"team": "?*"}}}})
}

/// A rule whose context cannot be loaded offline: an error.
fn erroring(action: &str) -> Value {
    json!({"failureAction": action, "message": "m",
        "deny": {"conditions": {"any": [{"key": "{{ cm.data.x }}", "operator": "Equals", "value": "y"}]}}})
}

fn pod(labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns", "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
}

fn request(operation: &str, object: Value, old: Value) -> AdmissionRequest {
    serde_json::from_value(
        json!({"uid": "u", "operation": operation, "namespace": "ns",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "object": object, "oldObject": old}),
    )
    .unwrap()
}

fn run(entries: Vec<Entry>, req: &AdmissionRequest, phase: Phase) -> Verdict {
    let mut lent = req.clone();
    let verdict = review(
        &PolicySet::new(entries),
        &mut lent,
        phase,
        &ReviewEnv::offline(),
    );
    // The objects are lent to the evaluation and must come back as they were.
    assert_eq!(&lent, req, "the request changed during its review");
    verdict
}

fn with_context_rule(mut doc: Value) -> Value {
    doc["spec"]["rules"][0]["context"] =
        json!([{"name": "cm", "configMap": {"name": "missing", "namespace": "ns"}}]);
    doc
}

fn erroring_policy(name: &str, action: &str, failure_policy: Option<&str>) -> Entry {
    let mut doc = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": name},
        "spec": {"rules": [{"name": "check",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": erroring(action)}]}});
    if let Some(fp) = failure_policy {
        doc["spec"]["webhookConfiguration"] = json!({"failurePolicy": fp});
    }
    entry(with_context_rule(doc))
}

#[test]
fn failure_actions_decide_between_denial_and_warning() {
    let create = request("CREATE", pod(json!({})), Value::Null);
    // (entries, allowed, warnings)
    let cases: Vec<(&str, Vec<Entry>, bool, usize)> = vec![
        (
            "enforce fails",
            vec![policy("p", json!({}), needs_label("Enforce"))],
            false,
            0,
        ),
        (
            "audit fails",
            vec![policy("p", json!({}), needs_label("Audit"))],
            true,
            1,
        ),
        (
            "deprecated spec-level action",
            vec![policy(
                "p",
                json!({"validationFailureAction": "Enforce"}),
                json!({"message": "m", "pattern": {"metadata": {"labels": {"team": "?*"}}}}),
            )],
            false,
            0,
        ),
        (
            "override to Audit in this namespace",
            vec![policy(
                "p",
                json!({}),
                json!({"failureAction": "Enforce",
                    "failureActionOverrides": [{"action": "Audit", "namespaces": ["ns"]}],
                    "message": "m", "pattern": {"metadata": {"labels": {"team": "?*"}}}}),
            )],
            true,
            1,
        ),
        (
            "admission disabled",
            vec![policy(
                "p",
                json!({"admission": false}),
                needs_label("Enforce"),
            )],
            true,
            0,
        ),
        (
            "error under Fail",
            vec![erroring_policy("e", "Enforce", None)],
            false,
            0,
        ),
        (
            "error under Ignore",
            vec![erroring_policy("e", "Enforce", Some("Ignore"))],
            true,
            1,
        ),
        (
            "error in an Audit rule",
            vec![erroring_policy("e", "Audit", None)],
            true,
            1,
        ),
    ];
    for (name, entries, allowed, warnings) in cases {
        let v = run(entries, &create, Phase::Validate);
        assert_eq!(v.allowed, allowed, "{name}: {}", v.message);
        assert_eq!(v.warnings.len(), warnings, "{name}: {:?}", v.warnings);
    }
}

#[test]
fn warnings_and_denials_use_kyvernos_wording() {
    let create = request("CREATE", pod(json!({})), Value::Null);
    let v = run(
        vec![policy("p", json!({}), needs_label("Audit"))],
        &create,
        Phase::Validate,
    );
    assert_eq!(
        v.warnings,
        [
            "policy p.check: validation error: label team is required. rule check failed at path /metadata/labels/team/"
        ]
    );
    let v = run(
        vec![policy("p", json!({}), needs_label("Enforce"))],
        &create,
        Phase::Validate,
    );
    assert_eq!(
        v.message,
        "\n\nresource Pod/ns/p was blocked due to the following policies \n\np:\n  check: 'validation error: label team is required. rule check failed at path /metadata/labels/team/'\n"
    );
    assert!(
        v.results
            .iter()
            .any(|r| r.blocking && r.status == RuleStatus::Fail)
    );
}

#[test]
fn unscored_policies_warn() {
    let doc = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "soft", "annotations": {"policies.kyverno.io/scored": "false"}},
        "spec": {"rules": [{"name": "check", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": needs_label("Enforce")}]}});
    let v = run(
        vec![entry(doc)],
        &request("CREATE", pod(json!({})), Value::Null),
        Phase::Validate,
    );
    assert!(v.allowed);
    assert_eq!(v.results[0].status, RuleStatus::Warn);
    assert_eq!(v.warnings.len(), 1);
}

#[test]
fn exceptions_exempt_matching_resources() {
    let exception = entry(
        json!({"apiVersion": "kyverno.io/v2", "kind": "PolicyException",
        "metadata": {"name": "allow-p", "namespace": "ns"},
        "spec": {"exceptions": [{"policyName": "p", "ruleNames": ["check"]}],
            "match": {"any": [{"resources": {"kinds": ["Pod"], "names": ["p"]}}]}}}),
    );
    let v = run(
        vec![policy("p", json!({}), needs_label("Enforce")), exception],
        &request("CREATE", pod(json!({})), Value::Null),
        Phase::Validate,
    );
    assert!(v.allowed, "{}", v.message);
    assert_eq!(v.results[0].status, RuleStatus::Skip);
}

#[test]
fn updates_keep_existing_violations_unless_told_not_to() {
    let bad = pod(json!({}));
    let update = request("UPDATE", bad.clone(), bad.clone());
    let v = run(
        vec![policy("p", json!({}), needs_label("Enforce"))],
        &update,
        Phase::Validate,
    );
    assert!(v.allowed, "{}", v.message);
    let mut strict = needs_label("Enforce");
    strict["allowExistingViolations"] = json!(false);
    let v = run(
        vec![policy("p", json!({}), strict)],
        &update,
        Phase::Validate,
    );
    assert!(!v.allowed);
    // A compliant object made non-compliant is denied.
    let fixing = request("UPDATE", bad, pod(json!({"team": "a"})));
    let v = run(
        vec![policy("p", json!({}), needs_label("Enforce"))],
        &fixing,
        Phase::Validate,
    );
    assert!(!v.allowed);
}

#[test]
fn deletes_apply_deny_rules_only() {
    let delete = request("DELETE", Value::Null, pod(json!({"protected": "yes"})));
    let guard = policy(
        "guard",
        json!({}),
        json!({"failureAction": "Enforce", "message": "protected Pods cannot be deleted",
            "deny": {"conditions": {"any": [{"key": "{{ request.oldObject.metadata.labels.protected }}",
                "operator": "Equals", "value": "yes"}]}}}),
    );
    let v = run(
        vec![policy("p", json!({}), needs_label("Enforce")), guard],
        &delete,
        Phase::Validate,
    );
    assert!(!v.allowed);
    assert!(
        v.message.contains("protected Pods cannot be deleted"),
        "{}",
        v.message
    );
    assert!(!v.message.contains("label team"), "{}", v.message);
}

fn mutation(name: &str, failure_policy: Option<&str>, patch: Value, context: bool) -> Entry {
    let mut doc = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": name},
        "spec": {"rules": [{"name": "m", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "mutate": {"patchStrategicMerge": patch}}]}});
    if let Some(fp) = failure_policy {
        doc["spec"]["failurePolicy"] = json!(fp);
    }
    if context {
        doc = with_context_rule(doc);
        doc["spec"]["rules"][0]["mutate"]["patchStrategicMerge"] =
            json!({"metadata": {"labels": {"x": "{{ cm.data.x }}"}}});
    }
    entry(doc)
}

#[test]
fn mutations_chain_and_fail_by_failure_policy() {
    let create = request("CREATE", pod(json!({})), Value::Null);
    let a = mutation(
        "a",
        None,
        json!({"metadata": {"labels": {"+(team)": "core"}}}),
        false,
    );
    let b = mutation(
        "b",
        None,
        json!({"metadata": {"labels": {"tier": "{{ request.object.metadata.labels.team }}"}}}),
        false,
    );
    let v = run(vec![a, b], &create, Phase::Mutate);
    assert!(v.allowed);
    let patched = v.patch.as_ref().unwrap().apply(&create.object).unwrap();
    assert_eq!(
        patched["metadata"]["labels"],
        json!({"team": "core", "tier": "core"})
    );

    let v = run(
        vec![mutation("bad", None, json!({}), true)],
        &create,
        Phase::Mutate,
    );
    assert!(!v.allowed);
    assert!(
        v.message
            .starts_with("mutation policy bad error: failed to apply policy bad rules [m: "),
        "{}",
        v.message
    );

    let v = run(
        vec![mutation("bad", Some("Ignore"), json!({}), true)],
        &create,
        Phase::Mutate,
    );
    assert!(v.allowed && v.patch.is_none());
    assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
}

#[test]
fn validating_policies_deny_warn_or_audit() {
    let vpol = |actions: Value| {
        entry(
            json!({"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy",
            "metadata": {"name": "vp"},
            "spec": {"validationActions": actions,
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
                "validations": [{"expression": "has(object.metadata.labels) && 'team' in object.metadata.labels",
                    "message": "team label required"}]}}),
        )
    };
    let create = request("CREATE", pod(json!({})), Value::Null);
    let v = run(vec![vpol(json!(["Deny"]))], &create, Phase::Validate);
    assert!(!v.allowed);
    assert_eq!(v.message, "Policy vp failed: team label required");
    let v = run(vec![vpol(json!(["Warn"]))], &create, Phase::Validate);
    assert!(v.allowed);
    assert_eq!(v.warnings, ["Policy vp failed: team label required"]);
    let v = run(vec![vpol(json!(["Audit"]))], &create, Phase::Validate);
    assert!(v.allowed && v.warnings.is_empty());
    assert_eq!(v.results[0].status, RuleStatus::Fail);
}

#[test]
fn hostile_requests_get_verdicts_not_panics() {
    let set = PolicySet::new(vec![policy("p", json!({}), needs_label("Enforce"))]);
    let weird = [
        json!({"uid": "u", "operation": "PATCH", "object": {}}),
        json!({"uid": "u", "operation": "CREATE", "object": [1, 2]}),
        json!({"uid": "u", "operation": "CREATE", "object": {"kind": 7, "metadata": "x"}}),
        json!({"uid": "u", "operation": "UPDATE", "object": {"kind": "Pod"}}),
        json!({"uid": "u", "operation": "DELETE"}),
        json!({"uid": "u", "operation": "CONNECT", "subResource": "exec",
            "object": {"kind": "PodExecOptions", "command": ["sh"]}}),
        json!({"uid": "u", "operation": "CREATE", "namespace": "ns",
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"team": null}},
                "spec": {"containers": "none"}}}),
    ];
    for body in weird {
        let mut req: AdmissionRequest = serde_json::from_value(body.clone()).unwrap();
        for phase in [Phase::Validate, Phase::Mutate] {
            let before = req.clone();
            let v = review(&set, &mut req, phase, &ReviewEnv::offline());
            if req.operation != "CONNECT" {
                assert_eq!(req, before, "{body}");
            }
            assert!(v.allowed || v.code >= 400, "{body}: {v:?}");
        }
    }
}
