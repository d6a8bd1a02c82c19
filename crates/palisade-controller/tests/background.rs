//! Background scans and PolicyReports against a real kube-apiserver, etcd and
//! kube-controller-manager (scripts/cluster.sh), with the controller binary as a child process.
//!
//! One cluster for the binary (starting one takes seconds), so the steps run in order in one
//! test. `PALISADE_KEEP_CLUSTER=1` keeps the cluster for a look afterwards.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Cluster, Controller, eventually, outcome, pods, report, wait_outcome};

const NS: &str = "scan-a";
const POLICY: &str = "disallow-privileged-containers";

fn pod(name: &str, privileged: bool) -> String {
    pods::pod(name, NS, privileged)
}

const EXCEPTION: &str = r#"
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: allow-priv
  namespace: scan-a
spec:
  exceptions:
  - policyName: disallow-privileged-containers
    ruleNames: [privileged-containers]
  match:
    any:
    - resources:
        kinds: [Pod]
        namespaces: [scan-a]
        names: [priv]
"#;

const NAMESPACE_POLICY: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: namespaces-need-team
spec:
  background: true
  rules:
  - name: team-label
    match:
      any:
      - resources:
          kinds: [Namespace]
          names: [scan-*]
    validate:
      failureAction: Audit
      message: namespaces need a team label
      pattern:
        metadata:
          labels:
            team: "?*"
"#;

const SELECTOR_POLICY: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: strict-namespaces
spec:
  background: true
  rules:
  - name: app-label
    match:
      any:
      - resources:
          kinds: [Pod]
          namespaceSelector:
            matchLabels:
              strict: "yes"
    validate:
      failureAction: Audit
      message: Pods in strict namespaces need an app label
      pattern:
        metadata:
          labels:
            app: "?*"
"#;

fn uid(cluster: &Cluster, kind: &str, name: &str, ns: Option<&str>) -> String {
    let mut args = vec![kind, name];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    cluster.uid(&args).unwrap()
}

#[test]
fn background_scans_write_policy_reports() {
    let Some(cluster) = support::cluster("background") else {
        return;
    };
    cluster.namespace(NS);
    // A privileged Pod that exists before any policy.
    cluster.apply(&pod("priv", true));
    let priv_uid = uid(&cluster, "pod", "priv", Some(NS));
    // The same Pod in kube-system, which is excluded by default.
    cluster.apply(&pods::pod("priv", "kube-system", true));

    let controller = Controller::start_ready(&cluster, "controller", &["--rescan-interval", "1h"]);
    assert!(
        report(&cluster, &priv_uid, Some(NS)).is_none(),
        "no report before any policy"
    );

    // The policy appears: the existing Pod is reported as failing within 10 seconds.
    let created = Instant::now();
    cluster.apply_file(pods::PSS_PRIVILEGED);
    let r = wait_outcome(&cluster, &priv_uid, Some(NS), POLICY, "fail");
    let latency = created.elapsed();
    eprintln!("policy created -> fail in the PolicyReport: {latency:?}");
    assert!(
        latency <= Duration::from_secs(10),
        "the report took {latency:?} (the issue asks for at most 10 s)"
    );
    assert_eq!(r["scope"]["name"], "priv");
    assert_eq!(r["scope"]["kind"], "Pod");
    assert_eq!(
        r["metadata"]["ownerReferences"][0]["uid"],
        priv_uid.as_str()
    );
    assert_eq!(
        r["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "palisade"
    );
    assert_eq!(r["summary"]["fail"], 1);
    let row = &r["results"][0];
    assert_eq!(row["rule"], "privileged-containers");
    assert_eq!(row["severity"], "high");
    assert_eq!(row["category"], "Pod Security Standards (Baseline)");
    assert_eq!(row["properties"]["process"], "background scan");
    let full = cluster
        .get_json(&["policyreport", &priv_uid, "-n", NS, "--show-managed-fields"])
        .unwrap();
    let managers: Vec<&str> = full["metadata"]["managedFields"]
        .as_array()
        .map(|m| m.iter().filter_map(|f| f["manager"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(managers, ["palisade"]);

    // A compliant Pod created afterwards passes.
    cluster.apply(&pod("good", false));
    let good_uid = uid(&cluster, "pod", "good", Some(NS));
    let g = wait_outcome(&cluster, &good_uid, Some(NS), POLICY, "pass");
    assert_eq!(g["summary"]["pass"], 1);
    let system = cluster
        .get_json(&["policyreport", "-n", "kube-system"])
        .unwrap();
    assert_eq!(
        system["items"],
        serde_json::json!([]),
        "kube-system is not scanned"
    );

    // kubectl lists them with Kyverno's columns.
    let listing = cluster.kubectl(&["get", "policyreport", "-A"]);
    let header: Vec<&str> = listing.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "NAME",
            "KIND",
            "NAME",
            "PASS",
            "FAIL",
            "WARN",
            "ERROR",
            "SKIP",
            "AGE"
        ]
    );
    for (uid, pod) in [(&priv_uid, "priv"), (&good_uid, "good")] {
        assert!(
            listing
                .lines()
                .any(|l| l.contains(uid.as_str()) && l.contains(pod)),
            "{pod} missing in\n{listing}"
        );
    }

    // A rescan with the same outcome does not rewrite the report.
    let version = |r: &Value| {
        r["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before = version(&report(&cluster, &good_uid, Some(NS)).unwrap());
    let unchanged = controller.metric("palisade_background_report_unchanged_total");
    cluster.kubectl(&["label", "pod", "good", "-n", NS, "touched=yes"]);
    eventually("the relabelled Pod to be scanned", || {
        (controller.metric("palisade_background_report_unchanged_total") > unchanged).then_some(())
    });
    assert_eq!(
        before,
        version(&report(&cluster, &good_uid, Some(NS)).unwrap())
    );

    // A PolicyException for the privileged Pod turns its result into skip.
    cluster.apply(EXCEPTION);
    let s = wait_outcome(&cluster, &priv_uid, Some(NS), POLICY, "skip");
    assert_eq!(s["summary"]["skip"], 1);
    assert_eq!(s["results"][0]["properties"]["exceptions"], "allow-priv");
    cluster.kubectl(&["delete", "policyexception", "allow-priv", "-n", NS]);
    wait_outcome(&cluster, &priv_uid, Some(NS), POLICY, "fail");

    // Cluster-scoped resources get ClusterPolicyReports.
    cluster.apply(NAMESPACE_POLICY);
    let ns_uid = uid(&cluster, "namespace", NS, None);
    let c = wait_outcome(&cluster, &ns_uid, None, "namespaces-need-team", "fail");
    assert_eq!(c["kind"], "ClusterPolicyReport");
    assert_eq!(c["scope"]["kind"], "Namespace");
    cluster.kubectl(&["label", "namespace", NS, "team=a"]);
    wait_outcome(&cluster, &ns_uid, None, "namespaces-need-team", "pass");
    let cluster_listing = cluster.kubectl(&["get", "cpolr"]);
    assert!(cluster_listing.contains(&ns_uid), "{cluster_listing}");

    // A namespace's labels decide whether a namespaceSelector matches: relabelling it rescans
    // its resources.
    cluster.apply(SELECTOR_POLICY);
    cluster.kubectl(&["label", "namespace", NS, "strict=yes"]);
    wait_outcome(&cluster, &good_uid, Some(NS), "strict-namespaces", "fail");
    cluster.kubectl(&["label", "namespace", NS, "strict-"]);
    eventually("the strict-namespaces row to go", || {
        report(&cluster, &good_uid, Some(NS))
            .filter(|r| outcome(r, "strict-namespaces").is_none() && outcome(r, POLICY).is_some())
    });
    cluster.kubectl(&["delete", "clusterpolicy", "strict-namespaces"]);

    // Deleting the Pod deletes its report (garbage collection through the owner reference).
    cluster.kubectl(&["delete", "pod", "priv", "-n", NS, "--wait=true"]);
    eventually("the deleted Pod's report to be collected", || {
        report(&cluster, &priv_uid, Some(NS))
            .is_none()
            .then_some(())
    });

    // Without policies matching Namespaces, their reports go.
    cluster.kubectl(&["delete", "clusterpolicy", "namespaces-need-team"]);
    eventually("the Namespace report to be deleted", || {
        report(&cluster, &ns_uid, None).is_none().then_some(())
    });
    assert!(
        report(&cluster, &good_uid, Some(NS)).is_some(),
        "Pod reports stay"
    );

    // Metrics count scans and writes.
    assert!(controller.metric("palisade_background_scans_total") >= 4.0);
    assert!(
        controller.metric("palisade_background_report_writes_total{operation=\"apply\"}") >= 5.0
    );
    assert!(
        controller.metric("palisade_background_report_writes_total{operation=\"delete\"}") >= 1.0
    );
    assert_eq!(
        controller.metric("palisade_background_report_write_errors_total"),
        0.0
    );
    let log = controller.log_text();
    assert!(!log.contains("panicked"), "{log}");
}
