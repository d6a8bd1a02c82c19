//! The webhook and the controller as the ServiceAccounts of deploy/rbac/ (tokens from the
//! TokenRequest API), against a real kube-apiserver, etcd and kube-controller-manager:
//! everything they do must be allowed by exactly those rights. Also the path of admission
//! results into PolicyReports (issue 5, item 2): an Audit failure of a `background: false`
//! policy, seen only at admission, lands in the object's PolicyReport next to the rows of the
//! background scan, and stays there when the object is scanned again.
//!
//! `PALISADE_KEEP_CLUSTER=1` keeps the cluster for a look afterwards.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::{
    Cluster, Controller, eventually, free_port, pods, report_of, row, start_webhook,
    wait_registered,
};

/// Audit, admission only (it reads the requester).
const REQUIRE_TEAM: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team
  annotations:
    policies.kyverno.io/severity: low
spec:
  background: false
  rules:
  - name: team-label
    match:
      any:
      - resources:
          kinds: [ConfigMap]
          namespaces: [team]
    validate:
      failureAction: Audit
      message: "{{ request.userInfo.username }}: set a team label"
      pattern:
        metadata:
          labels:
            team: "?*"
"#;

/// Background, so ConfigMaps are scanned too.
const NO_SECRETS_IN_DATA: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: no-password-key
spec:
  rules:
  - name: no-password
    match:
      any:
      - resources:
          kinds: [ConfigMap]
          namespaces: [team]
    validate:
      failureAction: Audit
      message: "no password in ConfigMaps"
      pattern:
        =(data):
          X(password): "null"
"#;

/// A kubeconfig for the ServiceAccount `name` of namespace palisade, next to the admin's.
fn service_account_kubeconfig(cluster: &Cluster, name: &str) -> PathBuf {
    let token = cluster.kubectl(&["create", "token", name, "-n", "palisade", "--duration=2h"]);
    let admin: Value = serde_json::from_str(
        &cluster.kubectl(&["config", "view", "--raw", "--minify", "-o", "json"]),
    )
    .unwrap();
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": name, "user": {"token": token.trim()}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": name}}],
        "current-context": "c",
    });
    let path = cluster.dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    path
}

#[test]
fn webhook_and_controller_as_their_service_accounts() {
    let Some(cluster) = support::cluster("rbac") else {
        return;
    };
    let _ = cluster.try_kubectl(&["create", "namespace", "palisade"], "");
    cluster.apply_file("deploy/rbac");
    eventually("ServiceAccounts", || {
        cluster.get_json(&["serviceaccount", "palisade-controller", "-n", "palisade"])
    });
    let webhook_config = service_account_kubeconfig(&cluster, "palisade-webhook");
    let controller_config = service_account_kubeconfig(&cluster, "palisade-controller");
    cluster.namespace("team");
    // Exists before the Pod Security policy, which enforces.
    cluster.apply(
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": "team"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": true}}]}}"#,
    );
    cluster.apply(REQUIRE_TEAM);
    cluster.apply(NO_SECRETS_IN_DATA);
    cluster.apply_file(pods::PSS_PRIVILEGED);
    cluster.apply_file("policies/multi-tenancy/namespace-defaults");

    let port = free_port();
    start_webhook(&webhook_config, port);
    let controller = Controller::start_as(
        &cluster,
        &controller_config,
        "rbac",
        &["--namespace", "palisade"],
    );
    controller.wait_ready();
    wait_registered(&cluster, "configmaps");
    // The webhook wrote the policies' status with its own rights.
    eventually("policy status", || {
        let p = cluster.get_json(&["clusterpolicy", "require-team"])?;
        (p["status"]["ready"] == true).then_some(())
    });

    // Admission results into the report: the ConfigMap fails require-team only at admission;
    // the background scan adds no-password-key.
    cluster.apply(
        r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "team"}, "data": {"a": "b"}}"#,
    );
    let report = eventually("admission and background rows", || {
        let r = report_of(&cluster, "configmap", "settings", "team")?;
        (row(&r, "require-team").is_some() && row(&r, "no-password-key").is_some()).then_some(r)
    });
    let admission = row(&report, "require-team").unwrap();
    assert_eq!(admission["result"], "fail");
    assert_eq!(admission["properties"]["process"], "admission review");
    assert_eq!(admission["severity"], "low");
    assert!(
        admission["message"]
            .as_str()
            .unwrap()
            .contains("palisade-admin: set a team label"),
        "{admission}"
    );
    let background = row(&report, "no-password-key").unwrap();
    assert_eq!(background["properties"]["process"], "background scan");
    assert_eq!(background["result"], "pass");
    assert_eq!(report["summary"]["fail"], 1);
    eventually("AdmissionReports merged and deleted", || {
        let list = cluster.get_json(&["admissionreports.palisade.dev", "-n", "palisade"])?;
        list["items"].as_array()?.is_empty().then_some(())
    });
    // A change the background policy sees rewrites the report; the admission row stays.
    cluster.kubectl(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        "team",
        "--type=merge",
        "-p",
        r#"{"data":{"password":"x"},"metadata":{"labels":{"team":"a"}}}"#,
    ]);
    let report = eventually("the update's rows", || {
        let r = report_of(&cluster, "configmap", "settings", "team")?;
        (row(&r, "no-password-key")?["result"] == "fail"
            && row(&r, "require-team")?["result"] == "pass")
            .then_some(r)
    });
    assert_eq!(report["summary"]["fail"], 1);
    assert_eq!(report["summary"]["pass"], 1);

    // Background scans of Pods (created before the Enforce policy, which would deny it).
    eventually("the privileged Pod's report", || {
        let r = report_of(&cluster, "pod", "root", "team")?;
        (row(&r, "disallow-privileged-containers")?["result"] == "fail").then_some(())
    });

    // Generate, with the rights aggregated into palisade:controller.
    cluster.kubectl(&["create", "namespace", "rbac-team"]);
    eventually("default-deny NetworkPolicy", || {
        cluster.get_json(&["networkpolicy", "default-deny", "-n", "rbac-team"])
    });
    eventually("creator RoleBinding", || {
        cluster.get_json(&["rolebinding", "namespace-creator-edit", "-n", "rbac-team"])
    });

    // The API server's refusals read "... is forbidden: User ... cannot ...".
    let log = controller.log_text();
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "the controller was refused something:\n{log}"
    );
}
