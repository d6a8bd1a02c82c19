//! Kyverno's CEL policy kinds applied with kubectl and served in cluster
//! mode: a ValidatingPolicy denies the tenant's privileged Pod with
//! Kyverno's message, a broken one reports its expression in its status
//! without disturbing the others, a NamespacedValidatingPolicy applies in its
//! namespace only, a MutatingPolicy's change is stored, and a CEL
//! PolicyException applied while Palisade runs admits what it exempts.

use std::thread::sleep;
use std::time::{Duration, Instant};

use palisade_testcluster::cel::{BROKEN_VPOL, configmap_nvpol, configmap_vpol};
use palisade_testcluster::pods::VPOL_PRIVILEGED;
use serde_json::Value;

use crate::support::manifests::{self, configmap, hardened_pod, privileged_pod};
use crate::support::{Out, TENANT_NS, Test, blocked};

/// Kyverno's denial for a ValidatingPolicy with `validationActions: [Deny]`
/// (`Policy <name> failed: <message>`).
const VPOL_DENIAL: &str = "denied the request: Policy disallow-privileged-containers failed: Privileged mode is not allowed";

const LABEL_MPOL: &str = r#"apiVersion: policies.kyverno.io/v1
kind: MutatingPolicy
metadata: {name: label-configmaps}
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: [v1]
      operations: [CREATE]
      resources: [configmaps]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: "Object{metadata: Object.metadata{labels: {'mutated-by': 'palisade'}}}"
"#;

fn vpol_denied(out: &Out) -> bool {
    !out.ok && out.stderr.contains(VPOL_DENIAL)
}

/// Polls a CEL policy's `status.conditionStatus` until `done` accepts it
/// (30 s at most).
fn wait_condition_status(t: &Test, args: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let obj = t.c.admin.get_json(args);
        let status = &obj["status"]["conditionStatus"];
        if done(status) {
            return status.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{args:?}: status never as expected: {}\n{}",
            obj["status"],
            t.palisade_log()
        );
        sleep(Duration::from_millis(200));
    }
}

#[test]
fn validating_policy_from_the_cluster_denies_the_tenant_and_a_broken_one_reports_its_expression() {
    let Some(mut t) = Test::begin("cel-validate") else {
        return;
    };
    t.policy(BROKEN_VPOL);
    t.policy(&manifests::color_policy("color", "red", "Fail"));
    t.start_palisade();
    // Applied while Palisade runs: the watch loads it and the webhooks gain Pods.
    t.policy(&t.repo_file(VPOL_PRIVILEGED));
    let tenant = t.c.tenant.clone();
    let attack = privileged_pod("root-shell", TENANT_NS);
    t.dry_run_until(&tenant, &attack, vpol_denied);

    let out = tenant.create(&attack);
    assert!(
        vpol_denied(&out),
        "the privileged Pod was not denied by the ValidatingPolicy: {out}\n{}",
        t.palisade_log()
    );
    assert!(
        !out.stderr.contains("broken-cel"),
        "the broken policy took part: {out}"
    );
    let get =
        t.c.admin
            .run(&["-n", TENANT_NS, "get", "pod", "root-shell"]);
    assert!(
        !get.ok && get.stderr.contains("NotFound"),
        "the privileged Pod was stored: {get}"
    );
    let out = tenant.create(&hardened_pod("web", TENANT_NS));
    assert!(
        out.ok,
        "the compliant Pod was not admitted: {out}\n{}",
        t.palisade_log()
    );

    // The classic policy next to them still applies.
    let out = tenant.dry_run_create(&configmap("paint", TENANT_NS, "red"));
    assert!(blocked(&out), "the ClusterPolicy stopped applying: {out}");

    // Status in Kyverno's shape: the broken policy names its expression.
    let broken = wait_condition_status(&t, &["vpol", "broken-cel"], |s| s["ready"] == false);
    let message = broken["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("spec.validations[0].expression: ")
            && message.contains("nope")
            && message.contains("(at 1:"),
        "the status does not name the expression and position: {broken}"
    );
    assert_eq!(broken["conditions"][0]["type"], "PolicyCached", "{broken}");
    assert_eq!(broken["conditions"][0]["status"], "False", "{broken}");
    let good = wait_condition_status(&t, &["vpol", "disallow-privileged-containers"], |s| {
        s["ready"] == true
    });
    assert_eq!(good["conditions"][0]["reason"], "Succeeded", "{good}");
}

#[test]
fn mutating_policy_change_appears_on_the_stored_object() {
    let Some(mut t) = Test::begin("cel-mutate") else {
        return;
    };
    t.policy(LABEL_MPOL);
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    let cm = configmap("labelled", TENANT_NS, "blue");
    t.dry_run_until(&tenant, &cm, |o| o.ok && o.stdout.contains("mutated-by"));

    let out = tenant.create(&cm);
    assert!(
        out.ok,
        "the ConfigMap was not admitted: {out}\n{}",
        t.palisade_log()
    );
    let stored =
        t.c.admin
            .get_json(&["-n", TENANT_NS, "configmap", "labelled"]);
    let labels = &stored["metadata"]["labels"];
    assert_eq!(labels["mutated-by"], "palisade", "stored labels: {labels}");
    assert_eq!(labels["e2e"], "true", "stored labels: {labels}");
    let status = wait_condition_status(&t, &["mpol", "label-configmaps"], |s| s["ready"] == true);
    assert_eq!(status["conditions"][0]["type"], "PolicyCached", "{status}");
}

#[test]
fn namespaced_validating_policy_applies_in_its_namespace_only() {
    let Some(mut t) = Test::begin("cel-namespaced") else {
        return;
    };
    t.policy(&configmap_nvpol(
        "no-red",
        TENANT_NS,
        "object.data.?color.orValue('') != 'red'",
        "red is not allowed here",
    ));
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    let denial = "denied the request: Policy no-red failed: red is not allowed here";
    let red = configmap("paint", TENANT_NS, "red");
    let out = t.dry_run_until(&tenant, &red, |o| !o.ok && o.stderr.contains(denial));
    assert!(
        !out.ok && out.stderr.contains(denial),
        "the tenant-a NamespacedValidatingPolicy did not deny in tenant-a: {out}\n{}",
        t.palisade_log()
    );
    let out = tenant.create(&configmap("paint", TENANT_NS, "blue"));
    assert!(out.ok, "a blue ConfigMap was refused: {out}");
    let out = t.c.admin.create(&configmap("paint", "e2e", "red"));
    assert!(
        out.ok,
        "the tenant-a NamespacedValidatingPolicy applied in another namespace: {out}"
    );
    let status = wait_condition_status(&t, &["-n", TENANT_NS, "nvpol", "no-red"], |s| {
        s["ready"] == true
    });
    assert_eq!(status["conditions"][0]["type"], "PolicyCached", "{status}");
}

/// Exempts ConfigMaps whose name starts with `allowed-` in tenant-a.
const RED_EXCEPTION: &str = r#"apiVersion: policies.kyverno.io/v1beta1
kind: PolicyException
metadata: {name: allowed-red, namespace: tenant-a}
spec:
  policyRefs:
  - {name: no-red-anywhere, kind: ValidatingPolicy}
  matchConditions:
  - name: allowed-prefix
    expression: "object.metadata.name.startsWith('allowed-')"
"#;

#[test]
fn cel_policy_exception_from_the_cluster_admits_what_it_exempts() {
    let Some(mut t) = Test::begin("cel-exception") else {
        return;
    };
    t.policy(&configmap_vpol(
        "no-red-anywhere",
        "object.data.?color.orValue('') != 'red'",
        "red is not allowed",
    ));
    t.start_palisade();
    let tenant = t.c.tenant.clone();
    let denial = "denied the request: Policy no-red-anywhere failed: red is not allowed";
    let exempt = configmap("allowed-paint", TENANT_NS, "red");
    t.dry_run_until(&tenant, &exempt, |o| !o.ok && o.stderr.contains(denial));

    // Applied while Palisade runs: the watch loads the exception into the served set.
    t.policy(RED_EXCEPTION);
    let out = t.dry_run_until(&tenant, &exempt, |o| o.ok);
    assert!(
        out.ok,
        "the exempted ConfigMap was refused: {out}\n{}",
        t.palisade_log()
    );
    let out = tenant.create(&exempt);
    assert!(out.ok, "the exempted ConfigMap was refused: {out}");
    let out = tenant.dry_run_create(&configmap("paint", TENANT_NS, "red"));
    assert!(
        !out.ok && out.stderr.contains(denial),
        "a ConfigMap the exception does not match was admitted: {out}"
    );
}
