//! `wgpolicyk8s.io/v1alpha2` ClusterPolicyReport output for `apply -p`, with the fields Kyverno's
//! CLI fills: `source: kyverno` (kept for compatibility with tools that filter on it),
//! `scored`, `category` and `severity` from the policy's annotations, and a `timestamp`.

/// Seconds since the epoch for report timestamps: `SOURCE_DATE_EPOCH` when set (reproducible
/// output), else the current time.
pub fn now() -> i64 {
    if let Some(fixed) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
    {
        return fixed;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The report built as one value from every outcome: the reference the streaming writer in
/// `commands::apply_report` is tested against byte for byte.
#[cfg(test)]
pub mod reference {
    use serde_json::{Map, Value, json};

    use crate::run::Outcome;
    use crate::verdict::{self, Counts, Policies};

    /// Builds one ClusterPolicyReport named `merged` from all outcomes, grouped by policy.
    /// `timestamp` is in seconds since the Unix epoch.
    pub fn cluster_policy_report(
        outcomes: &[Outcome],
        policies: &Policies<'_>,
        audit_warn: bool,
        timestamp: i64,
    ) -> Value {
        let mut ordered: Vec<&Outcome> = outcomes.iter().collect();
        ordered.sort_by(|a, b| a.policy.cmp(&b.policy));
        let mut results = Vec::new();
        let mut counts = Counts::default();
        for o in ordered {
            let policy = policies.get(&o.policy).map(|p| &*p.policy);
            let scored = policy.is_none_or(verdict::scored);
            for r in &o.response.rules {
                let status = verdict::effective(r, scored, audit_warn);
                counts.add(status);
                let mut result = Map::new();
                result.insert("message".into(), json!(r.message));
                result.insert("policy".into(), json!(o.policy));
                result.insert("resources".into(), json!([object_reference(&o.resource)]));
                result.insert("result".into(), json!(status.as_str()));
                result.insert("rule".into(), json!(r.name));
                result.insert("scored".into(), json!(scored));
                result.insert("source".into(), json!("kyverno"));
                result.insert(
                    "timestamp".into(),
                    json!({"nanos": 0, "seconds": timestamp}),
                );
                if let Some(c) = policy.and_then(verdict::category) {
                    result.insert("category".into(), json!(c));
                }
                if let Some(s) = policy.and_then(verdict::severity) {
                    result.insert("severity".into(), json!(s));
                }
                results.push(Value::Object(result));
            }
        }
        json!({
            "apiVersion": "wgpolicyk8s.io/v1alpha2",
            "kind": "ClusterPolicyReport",
            "metadata": {"creationTimestamp": null, "name": "merged"},
            "results": results,
            "summary": {
                "error": counts.error,
                "fail": counts.fail,
                "pass": counts.pass,
                "skip": counts.skip,
                "warn": counts.warn,
            },
        })
    }

    fn object_reference(res: &Value) -> Value {
        let mut out = Map::new();
        for (key, pointer) in [
            ("apiVersion", "/apiVersion"),
            ("kind", "/kind"),
            ("name", "/metadata/name"),
            ("namespace", "/metadata/namespace"),
            ("uid", "/metadata/uid"),
        ] {
            if let Some(v) = res
                .pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                out.insert(key.into(), json!(v));
            }
        }
        Value::Object(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn object_reference_keeps_only_present_fields() {
            for (resource, want) in [
                (
                    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "n"}}),
                    json!({"apiVersion": "v1", "kind": "Pod", "name": "a", "namespace": "n"}),
                ),
                (
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "uid": "u-1"}}),
                    json!({"apiVersion": "v1", "kind": "Namespace", "name": "n", "uid": "u-1"}),
                ),
            ] {
                assert_eq!(object_reference(&resource), want);
            }
        }

        #[test]
        fn empty_report_has_zero_summary() {
            let report = cluster_policy_report(&[], &Policies::new(&[]), false, 7);
            assert_eq!(report["results"], json!([]));
            assert_eq!(report["summary"]["pass"], json!(0));
            assert_eq!(report["metadata"]["name"], json!("merged"));
        }
    }
}
