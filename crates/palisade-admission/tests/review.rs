//! AdmissionReview fixtures in `tests/data/` reviewed against the bundled policy libraries.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use palisade_admission::{
    AdmissionReview, Entry, Phase, PolicySet, ReviewEnv, Verdict, compile_document, load_dir,
    review,
};
use serde_json::{Value, json};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn baseline() -> PolicySet {
    load_dir(&[repo("policies/pod-security/baseline")]).unwrap()
}

/// The baseline set with every rule switched to Audit.
fn baseline_audit() -> PolicySet {
    let mut entries: Vec<Entry> = Vec::new();
    for file in palisade_admission::expand(&repo("policies/pod-security/baseline")).unwrap() {
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("failureAction: Enforce", "failureAction: Audit");
        let name = file.display().to_string();
        for doc in palisade_api::load::parse_values(&name, &text).unwrap() {
            entries.push(compile_document(&name, doc.line, &doc.value).unwrap());
        }
    }
    PolicySet::new(entries)
}

fn run(set: &PolicySet, file: &str, phase: Phase) -> (Verdict, Value) {
    let mut request = AdmissionReview::from_slice(&fixture(file)).unwrap();
    let verdict = review(set, &mut request, phase, &ReviewEnv::offline());
    let response =
        serde_json::to_value(AdmissionReview::respond(verdict.response(&request.uid))).unwrap();
    (verdict, response)
}

/// What a snapshot shows: the decision, the texts and one line per rule result.
fn summary(v: &Verdict) -> Value {
    let results: Vec<String> = v
        .results
        .iter()
        .filter(|r| r.status != palisade_engine::RuleStatus::Skip)
        .map(|r| {
            format!(
                "{}/{}: {}{}{}",
                r.policy,
                r.rule,
                r.status.as_str(),
                r.failure_action
                    .map(|a| format!(" ({a:?})"))
                    .unwrap_or_default(),
                if r.blocking { " BLOCKING" } else { "" }
            )
        })
        .collect();
    json!({
        "allowed": v.allowed,
        "code": v.code,
        "message": v.message,
        "warnings": v.warnings,
        "patch": v.patch_value(),
        "dryRun": v.dry_run,
        "results": results,
    })
}

#[test]
fn privileged_pod_is_denied_with_kyvernos_message() {
    let (v, response) = run(&baseline(), "privileged-pod-create.json", Phase::Validate);
    assert!(!v.allowed);
    assert!(v.message.starts_with(
        "\n\nresource Pod/tenant-a/attack was blocked due to the following policies \n\n"
    ));
    for policy in [
        "disallow-privileged-containers:",
        "disallow-host-namespaces:",
        "disallow-host-path:",
    ] {
        assert!(
            v.message.contains(policy),
            "{policy} missing: {}",
            v.message
        );
    }
    assert_eq!(
        response["response"]["uid"],
        "11111111-0000-0000-0000-000000000001"
    );
    assert_eq!(response["response"]["status"]["code"], 403);
    insta::assert_json_snapshot!("privileged_pod_create", summary(&v));
}

#[test]
fn compliant_pod_is_allowed_without_warnings() {
    let (v, response) = run(&baseline(), "compliant-pod-create.json", Phase::Validate);
    assert!(v.allowed);
    assert!(v.warnings.is_empty());
    assert_eq!(response["response"]["allowed"], true);
    assert!(response["response"].get("status").is_none());
}

#[test]
fn audit_policies_admit_with_warnings() {
    let (v, response) = run(
        &baseline_audit(),
        "privileged-pod-create.json",
        Phase::Validate,
    );
    assert!(v.allowed);
    assert!(
        v.warnings
            .iter()
            .any(|w| w.starts_with("policy disallow-privileged-containers.privileged-containers: ")),
        "{:?}",
        v.warnings
    );
    assert_eq!(
        response["response"]["warnings"].as_array().map(Vec::len),
        Some(v.warnings.len())
    );
    insta::assert_json_snapshot!("privileged_pod_audit", summary(&v));
}

#[test]
fn mutation_returns_a_json_patch() {
    let set = load_dir(&[repo("policies/multi-tenancy/add-default-security-context")]).unwrap();
    let (v, response) = run(&set, "plain-pod-create.json", Phase::Mutate);
    assert!(v.allowed);
    assert_eq!(response["response"]["patchType"], "JSONPatch");
    let request = AdmissionReview::from_slice(&fixture("plain-pod-create.json")).unwrap();
    let patched = v.patch.as_ref().unwrap().apply(&request.object).unwrap();
    assert_eq!(patched["spec"]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        patched["spec"]["initContainers"][0]["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );
    insta::assert_json_snapshot!("plain_pod_mutate", summary(&v));
}

#[test]
fn mutation_skips_deletes_and_compliant_pods_keep_their_settings() {
    let set = load_dir(&[repo("policies/multi-tenancy/add-default-security-context")]).unwrap();
    let (v, _) = run(&set, "privileged-pod-delete.json", Phase::Mutate);
    assert!(v.allowed && v.patch.is_none() && v.results.is_empty());
    let (v, _) = run(&set, "compliant-pod-create.json", Phase::Mutate);
    assert!(v.allowed);
    assert!(v.patch.is_none(), "{:?}", v.patch_value());
}

#[test]
fn table_of_requests_under_the_baseline_set() {
    let set = baseline();
    // (fixture, phase, allowed, code)
    let cases = [
        ("privileged-pod-create.json", Phase::Validate, false, 403),
        ("privileged-pod-dry-run.json", Phase::Validate, false, 403),
        ("compliant-pod-create.json", Phase::Validate, true, 200),
        ("privileged-pod-status.json", Phase::Validate, true, 200),
        ("privileged-pod-update.json", Phase::Validate, true, 200),
        (
            "compliant-to-privileged-update.json",
            Phase::Validate,
            false,
            403,
        ),
        ("ephemeral-container.json", Phase::Validate, false, 403),
        ("malformed-object.json", Phase::Validate, false, 400),
        ("malformed-object.json", Phase::Mutate, false, 400),
        ("privileged-pod-create.json", Phase::Mutate, true, 200),
        ("privileged-pod-delete.json", Phase::Validate, true, 200),
    ];
    for (file, phase, allowed, code) in cases {
        let (v, response) = run(&set, file, phase);
        assert_eq!(
            (v.allowed, v.code),
            (allowed, code),
            "{file} {phase:?}: {}",
            v.message
        );
        assert_eq!(response["response"]["allowed"], allowed, "{file}");
    }
}

#[test]
fn delete_applies_only_deny_and_foreach_rules() {
    let (v, _) = run(&baseline(), "privileged-pod-delete.json", Phase::Validate);
    assert!(v.allowed, "{}", v.message);
    insta::assert_json_snapshot!("privileged_pod_delete", summary(&v));
}

#[test]
fn dry_run_is_evaluated_and_marked() {
    let (v, _) = run(&baseline(), "privileged-pod-dry-run.json", Phase::Validate);
    assert!(v.dry_run && !v.allowed);
}

#[test]
fn existing_violations_are_allowed_on_update_but_new_ones_are_not() {
    let (v, _) = run(&baseline(), "privileged-pod-update.json", Phase::Validate);
    assert!(v.allowed);
    assert!(
        v.results
            .iter()
            .any(|r| r.message.contains("pre-existing violations"))
    );
    insta::assert_json_snapshot!(
        "ephemeral_container",
        summary(&run(&baseline(), "ephemeral-container.json", Phase::Validate).0)
    );
}

#[test]
fn malformed_requests_get_a_bad_request_verdict() {
    let (v, response) = run(&baseline(), "malformed-object.json", Phase::Validate);
    assert_eq!(v.code, 400);
    assert!(
        v.message.contains("request.object is not an object"),
        "{}",
        v.message
    );
    assert_eq!(response["response"]["status"]["reason"], "BadRequest");
}
