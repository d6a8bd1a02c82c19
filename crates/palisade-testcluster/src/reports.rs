//! Reading PolicyReports and waiting for a row to say something: reports are written
//! asynchronously (background scans, merged admission results), so tests poll.

use serde_json::Value;

use crate::{Cluster, eventually};

/// The PolicyReport `name` in `namespace`, or the ClusterPolicyReport `name` when `None`.
pub fn report(cluster: &Cluster, name: &str, namespace: Option<&str>) -> Option<Value> {
    match namespace {
        Some(ns) => cluster.get_json(&["policyreport", name, "-n", ns]),
        None => cluster.get_json(&["clusterpolicyreport", name]),
    }
}

/// The report of the object `kind/name` in `namespace` (reports are named by the object's
/// UID).
pub fn report_of(cluster: &Cluster, kind: &str, name: &str, namespace: &str) -> Option<Value> {
    let uid = cluster.uid(&[kind, name, "-n", namespace])?;
    report(cluster, &uid, Some(namespace))
}

/// The first row of `policy` in a report.
pub fn row<'a>(report: &'a Value, policy: &str) -> Option<&'a Value> {
    report["results"]
        .as_array()?
        .iter()
        .find(|r| r["policy"] == policy)
}

/// The result (pass, fail, ...) of `policy`'s first row in a report.
pub fn outcome<'a>(report: &'a Value, policy: &str) -> Option<&'a str> {
    row(report, policy)?["result"].as_str()
}

/// Waits until `policy`'s row in report `name` (see [`report`]) says `want`; returns the
/// report.
pub fn wait_outcome(
    cluster: &Cluster,
    name: &str,
    namespace: Option<&str>,
    policy: &str,
    want: &str,
) -> Value {
    eventually(&format!("{policy} = {want} in report {name}"), || {
        report(cluster, name, namespace).filter(|r| outcome(r, policy) == Some(want))
    })
}
