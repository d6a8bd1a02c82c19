//! `wgpolicyk8s.io/v1alpha2` ClusterPolicyReport output for `apply -p`.

use serde_json::{Value, json};

use crate::run::Outcome;

/// Builds one ClusterPolicyReport from all outcomes.
pub fn cluster_policy_report(outcomes: &[Outcome], audit_warn: bool) -> Value {
    let mut results = Vec::new();
    let mut summary = json!({"pass": 0, "fail": 0, "warn": 0, "error": 0, "skip": 0});
    for o in outcomes {
        for r in &o.response.rules {
            let mut status = r.status.as_str();
            if audit_warn
                && status == "fail"
                && r.failure_action == Some(palisade_api::FailureAction::Audit)
            {
                status = "warn";
            }
            if let Some(n) = summary.get_mut(status) {
                *n = json!(n.as_i64().unwrap_or(0) + 1);
            }
            let res = &o.resource;
            let mut resource = json!({
                "apiVersion": res.get("apiVersion").cloned().unwrap_or(Value::Null),
                "kind": res.get("kind").cloned().unwrap_or(Value::Null),
                "name": res.pointer("/metadata/name").cloned().unwrap_or(Value::Null),
            });
            if let Some(ns) = res
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                resource["namespace"] = json!(ns);
            }
            results.push(json!({
                "policy": o.policy,
                "rule": r.name,
                "result": status,
                "message": r.message,
                "resources": [resource],
                "scored": true,
                "source": "kyverno",
            }));
        }
    }
    json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "ClusterPolicyReport",
        "metadata": {"name": "merged"},
        "results": results,
        "summary": summary,
    })
}
