//! Background scans of ValidatingPolicies, CEL PolicyExceptions and ValidatingAdmissionPolicies
//! with their bindings, applied with kubectl: their results land in the PolicyReports like
//! those of classic policies, and the controller leaves policy status to the webhook (real
//! kube-apiserver, etcd and kube-controller-manager; the controller binary as a child
//! process).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Instant;

use serde_json::Value;
use support::{Cluster, Controller, cel, eventually, pods, report, row, wait_outcome};

const NS: &str = "scan-cel";
const POLICY: &str = "disallow-privileged-containers";

fn pod(name: &str, privileged: bool) -> String {
    pods::pod(name, NS, privileged)
}

/// The same control, background scans turned off: never reported.
const NO_BACKGROUND: &str = r#"
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: admission-only
spec:
  validationActions: [Audit]
  evaluation:
    background:
      enabled: false
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: "false"
    message: never in a report
"#;

/// Exempts the Pod named `priv` from the policy.
const EXCEPTION: &str = r#"
apiVersion: policies.kyverno.io/v1beta1
kind: PolicyException
metadata:
  name: allow-priv
  namespace: scan-cel
spec:
  policyRefs:
  - name: disallow-privileged-containers
    kind: ValidatingPolicy
  matchConditions:
  - name: the-priv-pod
    expression: object.metadata.name == 'priv'
"#;

fn uid(cluster: &Cluster, name: &str) -> String {
    cluster.uid(&["pod", name, "-n", NS]).unwrap()
}

fn wait_result(cluster: &Cluster, report: &str, want: &str) -> Value {
    wait_outcome(cluster, report, Some(NS), POLICY, want)
}

#[test]
fn background_validating_policies_are_reported() {
    let Some(cluster) = support::cluster("cel") else {
        return;
    };
    cluster.namespace(NS);
    cluster.apply(&pod("priv", true));
    let priv_uid = uid(&cluster, "priv");

    let controller = Controller::start_ready(&cluster, "cel", &["--rescan-interval", "1h"]);

    let created = Instant::now();
    cluster.apply_file(pods::VPOL_PRIVILEGED);
    cluster.apply(NO_BACKGROUND);
    let r = wait_result(&cluster, &priv_uid, "fail");
    eprintln!(
        "ValidatingPolicy created -> fail in the PolicyReport: {:?}",
        created.elapsed()
    );
    assert_eq!(r["scope"]["kind"], "Pod");
    assert_eq!(r["scope"]["name"], "priv");
    let fail = row(&r, POLICY).unwrap();
    assert_eq!(fail["source"], "KyvernoValidatingPolicy", "{fail}");
    assert_eq!(fail["properties"]["process"], "background scan", "{fail}");
    assert!(
        fail["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Privileged mode is not allowed"),
        "{fail}"
    );
    assert!(
        row(&r, "admission-only").is_none(),
        "a policy without background scans was reported: {r}"
    );
    // The controller compiled the policy but writes no status: that is the webhook's.
    let vpol = cluster.get_json(&["vpol", POLICY]).unwrap();
    assert!(
        vpol.pointer("/status/conditionStatus").is_none(),
        "the controller wrote a status: {vpol}"
    );

    // A CEL PolicyException turns the row into a skip naming it, and back when removed.
    cluster.apply(EXCEPTION);
    let skipped = wait_result(&cluster, &priv_uid, "skip");
    let row_ = row(&skipped, POLICY).unwrap();
    assert_eq!(row_["properties"]["exceptions"], "allow-priv", "{row_}");
    cluster.kubectl(&[
        "-n",
        NS,
        "delete",
        "policyexceptions.policies.kyverno.io",
        "allow-priv",
    ]);
    wait_result(&cluster, &priv_uid, "fail");

    // A compliant Pod created afterwards passes.
    cluster.apply(&pod("good", false));
    let good_uid = uid(&cluster, "good");
    let g = wait_result(&cluster, &good_uid, "pass");
    assert_eq!(g["summary"]["pass"], 1, "{g}");

    // Deleting the policy removes its rows.
    cluster.kubectl(&["delete", "vpol", POLICY]);
    eventually(
        "the rows gone after the policy is deleted",
        || match report(&cluster, &priv_uid, Some(NS)) {
            None => Some(()),
            Some(r) => row(&r, POLICY).is_none().then_some(()),
        },
    );
    drop(controller);
}

const VAP_NS: &str = "vap-staging";
const OTHER_NS: &str = "vap-other";
const PARAMS_NS: &str = "vap-params";

/// With [`cel::CM_SIZE_VAP`]: at most two keys per ConfigMap, through a binding for
/// `environment: staging` namespaces; and a key named by a parameter ConfigMap the binding
/// selects by label.
const VAPS: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: cm-size-staging
spec:
  policyName: cm-size
  validationActions: [Audit]
  matchResources:
    namespaceSelector:
      matchLabels:
        environment: staging
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: cm-banned-key
spec:
  paramKind:
    apiVersion: v1
    kind: ConfigMap
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [configmaps]
  validations:
  - expression: "!has(object.data) || !(params.data.banned in object.data)"
    messageExpression: "'key ' + params.data.banned + ' is banned'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: cm-banned-key-staging
spec:
  policyName: cm-banned-key
  validationActions: [Warn, Audit]
  paramRef:
    namespace: vap-params
    selector:
      matchLabels:
        role: banned-keys
    parameterNotFoundAction: Deny
  matchResources:
    namespaceSelector:
      matchLabels:
        environment: staging
"#;

fn config_map(ns: &str, name: &str, keys: &[&str]) -> String {
    let data: String = keys.iter().map(|k| format!("  {k}: x\n")).collect();
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n{data}"
    )
}

fn cm_uid(cluster: &Cluster, ns: &str, name: &str) -> String {
    cluster.uid(&["configmap", name, "-n", ns]).unwrap()
}

fn report_rows(cluster: &Cluster, ns: &str, uid: &str, policy: &str) -> Option<Value> {
    row(&report(cluster, uid, Some(ns))?, policy).cloned()
}

#[test]
fn validating_admission_policies_are_reported_through_their_bindings() {
    let Some(cluster) = support::cluster("vap") else {
        return;
    };
    for ns in [VAP_NS, OTHER_NS, PARAMS_NS] {
        cluster.namespace(ns);
    }
    cluster.kubectl(&["label", "namespace", VAP_NS, "environment=staging"]);
    let banned = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: banned\n  namespace: vap-params\n  labels:\n    role: banned-keys\ndata:\n  banned: password\n";
    cluster.apply(banned);
    for (ns, name, keys) in [
        (VAP_NS, "big", &["a", "b", "c"][..]),
        (VAP_NS, "small", &["a"][..]),
        (VAP_NS, "secretive", &["password"][..]),
        (OTHER_NS, "big", &["a", "b", "c"][..]),
    ] {
        cluster.apply(&config_map(ns, name, keys));
    }
    let (big, small, secretive, other) = (
        cm_uid(&cluster, VAP_NS, "big"),
        cm_uid(&cluster, VAP_NS, "small"),
        cm_uid(&cluster, VAP_NS, "secretive"),
        cm_uid(&cluster, OTHER_NS, "big"),
    );

    let controller = Controller::start_ready(&cluster, "vap", &["--rescan-interval", "1h"]);
    let created = Instant::now();
    cluster.apply(&format!("{}---{VAPS}", cel::CM_SIZE_VAP));

    let fail = eventually("cm-size fails the big ConfigMap", || {
        report_rows(&cluster, VAP_NS, &big, "cm-size").filter(|r| r["result"] == "fail")
    });
    eprintln!(
        "ValidatingAdmissionPolicy created -> fail in the PolicyReport: {:?}",
        created.elapsed()
    );
    // As Kyverno's reports controller writes them: the policy, no rule, the binding.
    assert_eq!(fail["source"], "ValidatingAdmissionPolicy", "{fail}");
    assert!(fail.get("rule").is_none(), "{fail}");
    assert_eq!(fail["properties"]["binding"], "cm-size-staging", "{fail}");
    assert_eq!(fail["properties"]["process"], "background scan", "{fail}");
    assert_eq!(
        fail["message"], "failed expression: !has(object.data) || size(object.data) <= 2",
        "{fail}"
    );
    let pass = eventually("cm-size passes the small ConfigMap", || {
        report_rows(&cluster, VAP_NS, &small, "cm-size")
    });
    assert_eq!(pass["result"], "pass", "{pass}");

    // The parameter the binding selects by label.
    let banned_row = eventually("cm-banned-key fails the secretive ConfigMap", || {
        report_rows(&cluster, VAP_NS, &secretive, "cm-banned-key").filter(|r| r["result"] == "fail")
    });
    assert_eq!(
        banned_row["message"], "key password is banned",
        "{banned_row}"
    );
    assert_eq!(
        banned_row["properties"]["binding"], "cm-banned-key-staging",
        "{banned_row}"
    );
    let small_banned = eventually("cm-banned-key on the small ConfigMap", || {
        report_rows(&cluster, VAP_NS, &small, "cm-banned-key")
    });
    assert_eq!(small_banned["result"], "pass", "{small_banned}");

    // Parameters are cached by a watch; a changed one rescans what its policy decides.
    cluster.kubectl(&[
        "patch",
        "configmap",
        "banned",
        "-n",
        PARAMS_NS,
        "--type=merge",
        "-p",
        r#"{"data":{"banned":"a"}}"#,
    ]);
    let changed = Instant::now();
    let now_banned = eventually("cm-banned-key fails the small ConfigMap now", || {
        report_rows(&cluster, VAP_NS, &small, "cm-banned-key").filter(|r| r["result"] == "fail")
    });
    eprintln!(
        "parameter changed -> new result in the PolicyReport: {:?}",
        changed.elapsed()
    );
    assert_eq!(now_banned["message"], "key a is banned", "{now_banned}");
    eventually("cm-banned-key passes the secretive ConfigMap now", || {
        report_rows(&cluster, VAP_NS, &secretive, "cm-banned-key").filter(|r| r["result"] == "pass")
    });
    let log = controller.log_text();
    assert!(
        log.contains("watching admission policy parameters"),
        "{log}"
    );

    // No binding matches the other namespace: nothing reported there.
    assert!(
        report(&cluster, &other, Some(OTHER_NS)).is_none(),
        "a ConfigMap no binding selects was reported"
    );

    // Without its binding the policy applies to nothing: its rows go.
    cluster.kubectl(&[
        "delete",
        "validatingadmissionpolicybinding",
        "cm-size-staging",
    ]);
    eventually("the cm-size rows gone with the binding", || {
        report_rows(&cluster, VAP_NS, &big, "cm-size")
            .is_none()
            .then_some(())
    });
    drop(controller);
}
