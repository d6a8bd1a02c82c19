//! The `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport objects, as Kyverno and
//! report tooling (policy-reporter, `kubectl get polr`) read them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The API version of both report kinds.
pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";

/// A rule's outcome as a report states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The resource satisfies the rule.
    Pass,
    /// The resource violates the rule.
    Fail,
    /// A violation reported as a warning (unscored policies).
    Warn,
    /// The rule could not be evaluated.
    Error,
    /// The rule did not apply.
    Skip,
}

impl From<palisade_engine::RuleStatus> for Outcome {
    fn from(s: palisade_engine::RuleStatus) -> Self {
        use palisade_engine::RuleStatus as S;
        match s {
            S::Pass => Outcome::Pass,
            S::Fail => Outcome::Fail,
            S::Warn => Outcome::Warn,
            S::Error => Outcome::Error,
            S::Skip => Outcome::Skip,
        }
    }
}

/// A reference to the resource a result is about (`corev1.ObjectReference`'s fields that
/// reports use). Empty fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `group/version` or `version`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The namespace; empty for cluster-scoped resources.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The UID; reports of live resources always have it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl ObjectRef {
    /// The reference to a resource object (its apiVersion, kind and metadata).
    pub fn of(resource: &serde_json::Value) -> ObjectRef {
        let s = |p: &str| {
            resource
                .pointer(p)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        ObjectRef {
            api_version: s("/apiVersion"),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
            uid: s("/metadata/uid"),
        }
    }
}

/// `metav1.Timestamp`: when a result was produced.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub seconds: i64,
    /// Always 0: reports have second resolution.
    pub nanos: i32,
}

/// One row of a report: one rule of one policy on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportResult {
    /// The policy's key: `name` for cluster policies, `namespace/name` for namespaced ones.
    pub policy: String,
    /// The rule.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rule: String,
    /// The outcome.
    pub result: Outcome,
    /// What the rule said.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// False for policies annotated `policies.kyverno.io/scored: "false"`.
    pub scored: bool,
    /// The engine that produced the result (`kyverno` for classic policies, for tooling that
    /// filters on it; `ValidatingPolicy` etc. for CEL kinds, as Kyverno writes them).
    pub source: String,
    /// The policy's `policies.kyverno.io/category`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The policy's `policies.kyverno.io/severity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// When the result was produced.
    pub timestamp: Timestamp,
    /// The resources; empty in per-resource reports, whose `scope` names the resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ObjectRef>,
    /// Extra facts: `process`, `exceptions`, Pod Security controls, report properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl ReportResult {
    /// The identity of the row: what a newer result for the same thing replaces.
    pub fn key(&self) -> (&str, &str, Option<&str>) {
        (
            &self.policy,
            &self.rule,
            self.resources.first().map(|r| r.uid.as_str()),
        )
    }

    /// Feeds everything but the timestamp to `h`: equal for rows that say the same thing.
    pub fn hash_content<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        (
            &self.policy,
            &self.rule,
            self.result,
            &self.message,
            self.scored,
            &self.source,
            &self.category,
            &self.severity,
            &self.resources,
            &self.properties,
        )
            .hash(h);
    }

    /// True when `other` says the same thing, whatever its timestamp.
    pub fn same_content(&self, other: &ReportResult) -> bool {
        ReportResult {
            timestamp: other.timestamp,
            ..self.clone()
        } == *other
    }
}

/// Result counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Summary {
    /// Passed.
    pub pass: u64,
    /// Failed.
    pub fail: u64,
    /// Warned.
    pub warn: u64,
    /// Errored.
    pub error: u64,
    /// Skipped.
    pub skip: u64,
}

impl Summary {
    /// Counts the outcomes of `results`.
    pub fn of(results: &[ReportResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match r.result {
                Outcome::Pass => s.pass += 1,
                Outcome::Fail => s.fail += 1,
                Outcome::Warn => s.warn += 1,
                Outcome::Error => s.error += 1,
                Outcome::Skip => s.skip += 1,
            }
        }
        s
    }
}

/// An owner reference, so the API server's garbage collector deletes a per-resource report
/// together with its resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// The owner's apiVersion.
    pub api_version: String,
    /// The owner's kind.
    pub kind: String,
    /// The owner's name.
    pub name: String,
    /// The owner's UID.
    pub uid: String,
}

/// The metadata Palisade sets on a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportMeta {
    /// The report's name.
    pub name: String,
    /// The namespace; absent for ClusterPolicyReports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels (`app.kubernetes.io/managed-by: palisade`, layout labels).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations (the content fingerprint).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Owners (per-resource layout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
}

/// A PolicyReport (namespaced) or ClusterPolicyReport (cluster-scoped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// `PolicyReport` or `ClusterPolicyReport`.
    pub kind: String,
    /// Name, namespace, labels, owners.
    pub metadata: ReportMeta,
    /// The single resource a per-resource report is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ObjectRef>,
    /// The rows, sorted by policy, rule and resource.
    #[serde(default)]
    pub results: Vec<ReportResult>,
    /// Counts of `results` by outcome.
    pub summary: Summary,
}

impl Report {
    /// An empty report of the kind a namespace calls for (`None`: cluster-scoped).
    pub fn new(name: String, namespace: Option<String>) -> Report {
        let kind = if namespace.is_some() {
            "PolicyReport"
        } else {
            "ClusterPolicyReport"
        };
        let mut labels = BTreeMap::new();
        labels.insert(MANAGED_BY.to_string(), MANAGER.to_string());
        Report {
            api_version: API_VERSION.to_string(),
            kind: kind.to_string(),
            metadata: ReportMeta {
                name,
                namespace,
                labels,
                ..ReportMeta::default()
            },
            scope: None,
            results: Vec::new(),
            summary: Summary::default(),
        }
    }

    /// Sorts the rows (policy, rule, resource uid) and recomputes the summary.
    pub fn set_results(&mut self, mut results: Vec<ReportResult>) {
        results.sort_by(|a, b| a.key().cmp(&b.key()));
        self.summary = Summary::of(&results);
        self.results = results;
    }

    /// The report's size as the API server stores it (JSON), in bytes.
    pub fn encoded_len(&self) -> usize {
        serde_json::to_vec(self).map(|v| v.len()).unwrap_or(0)
    }
}

/// The label every report Palisade writes carries.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGER: &str = "palisade";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(policy: &str, rule: &str, result: Outcome, uid: &str, secs: i64) -> ReportResult {
        ReportResult {
            policy: policy.into(),
            rule: rule.into(),
            result,
            message: String::new(),
            scored: true,
            source: "kyverno".into(),
            category: None,
            severity: None,
            timestamp: Timestamp {
                seconds: secs,
                nanos: 0,
            },
            resources: vec![ObjectRef {
                uid: uid.into(),
                ..ObjectRef::default()
            }],
            properties: BTreeMap::new(),
        }
    }

    #[test]
    fn summary_counts_each_outcome() {
        let rows = [
            row("p", "a", Outcome::Pass, "1", 0),
            row("p", "b", Outcome::Fail, "1", 0),
            row("p", "c", Outcome::Fail, "2", 0),
            row("q", "a", Outcome::Skip, "2", 0),
        ];
        let s = Summary::of(&rows);
        assert_eq!((s.pass, s.fail, s.warn, s.error, s.skip), (1, 2, 0, 0, 1));
    }

    #[test]
    fn set_results_sorts_and_summarises() {
        let mut r = Report::new("x".into(), Some("ns".into()));
        r.set_results(vec![
            row("q", "a", Outcome::Pass, "1", 0),
            row("p", "b", Outcome::Fail, "1", 0),
            row("p", "a", Outcome::Pass, "2", 0),
        ]);
        let keys: Vec<_> = r
            .results
            .iter()
            .map(|x| (x.policy.as_str(), x.rule.as_str()))
            .collect();
        assert_eq!(keys, [("p", "a"), ("p", "b"), ("q", "a")]);
        assert_eq!(r.summary.fail, 1);
        assert_eq!(r.kind, "PolicyReport");
        assert_eq!(Report::new("y".into(), None).kind, "ClusterPolicyReport");
    }

    #[test]
    fn same_content_ignores_only_the_timestamp() {
        let a = row("p", "a", Outcome::Pass, "1", 10);
        assert!(a.same_content(&row("p", "a", Outcome::Pass, "1", 99)));
        assert!(!a.same_content(&row("p", "a", Outcome::Fail, "1", 10)));
    }

    #[test]
    fn object_ref_reads_metadata_and_serialises_without_empty_fields() {
        let r = ObjectRef::of(&json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "uid": "u"}
        }));
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"apiVersion": "v1", "kind": "Namespace", "name": "n", "uid": "u"})
        );
    }

    #[test]
    fn report_serialises_in_the_wgpolicyk8s_shape() {
        let mut r = Report::new("uid-1".into(), Some("ns".into()));
        r.set_results(vec![row("p", "a", Outcome::Fail, "1", 5)]);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        assert_eq!(v["results"][0]["result"], "fail");
        assert_eq!(
            v["results"][0]["timestamp"],
            json!({"seconds": 5, "nanos": 0})
        );
        assert_eq!(
            v["summary"],
            json!({"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 0})
        );
        assert_eq!(v["metadata"]["labels"][MANAGED_BY], "palisade");
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
