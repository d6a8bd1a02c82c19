//! Background scans of ValidatingPolicies applied with kubectl: their results land in the
//! PolicyReports like those of classic policies (real kube-apiserver, etcd and
//! kube-controller-manager; the controller binary as a child process).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Instant;

use serde_json::Value;
use support::{Cluster, Controller, eventually, repo_root};

const NS: &str = "scan-cel";
const POLICY: &str = "disallow-privileged-containers";

fn pod(name: &str, privileged: bool) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {NS}
spec:
  automountServiceAccountToken: false
  containers:
  - name: app
    image: nginx:1.27
    securityContext:
      privileged: {privileged}
"#
    )
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

fn uid(cluster: &Cluster, name: &str) -> String {
    let obj = cluster.get_json(&["pod", name, "-n", NS]).unwrap();
    obj["metadata"]["uid"].as_str().unwrap().to_string()
}

fn row<'a>(report: &'a Value, policy: &str) -> Option<&'a Value> {
    report["results"]
        .as_array()?
        .iter()
        .find(|r| r["policy"] == policy)
}

fn wait_result(cluster: &Cluster, report: &str, want: &str) -> Value {
    eventually(&format!("{POLICY} = {want} in report {report}"), || {
        cluster
            .get_json(&["policyreport", report, "-n", NS])
            .filter(|r| row(r, POLICY).and_then(|x| x["result"].as_str()) == Some(want))
    })
}

#[test]
fn background_validating_policies_are_reported() {
    let Some(cluster) = support::cluster("cel") else {
        return;
    };
    cluster.namespace(NS);
    cluster.kubectl_stdin(&["apply", "-f", "-"], &pod("priv", true));
    let priv_uid = uid(&cluster, "priv");

    let controller = Controller::start(&cluster, "cel", &["--rescan-interval", "1h"]);
    controller.wait_ready();

    let policy_file = repo_root().join(format!(
        "policies/pod-security-vpol/baseline/{POLICY}/{POLICY}.yaml"
    ));
    let created = Instant::now();
    cluster.kubectl(&["apply", "-f", &policy_file.display().to_string()]);
    cluster.kubectl_stdin(&["apply", "-f", "-"], NO_BACKGROUND);
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

    // A compliant Pod created afterwards passes.
    cluster.kubectl_stdin(&["apply", "-f", "-"], &pod("good", false));
    let good_uid = uid(&cluster, "good");
    let g = wait_result(&cluster, &good_uid, "pass");
    assert_eq!(g["summary"]["pass"], 1, "{g}");

    // Deleting the policy removes its rows.
    cluster.kubectl(&["delete", "vpol", POLICY]);
    eventually("the rows gone after the policy is deleted", || {
        let r = cluster.get_json(&["policyreport", &priv_uid, "-n", NS]);
        match r {
            None => Some(()),
            Some(r) => row(&r, POLICY).is_none().then_some(()),
        }
    });
    drop(controller);
}
