//! Report rows from the engine's rule responses, filled as Kyverno fills them: the policy key,
//! `scored`, category and severity from the policy's annotations, `process`, the exceptions
//! that skipped a rule, the rule's report properties and their message overrides.

use std::collections::BTreeMap;

use palisade_admission::{Scanned, ScannedPolicy};
use palisade_celpolicy::CompiledValidatingPolicy;
use palisade_engine::{CompiledPolicy, PolicyResponse, RuleResponse, RuleStatus};

use crate::layout::ResourceResults;
use crate::model::{ObjectRef, Outcome, ReportResult, Timestamp};

/// Where a result was produced; Kyverno records it in the `process` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// A background scan of an existing resource.
    Background,
    /// An admission request.
    Admission,
}

impl Process {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Process::Background => "background scan",
            Process::Admission => "admission review",
        }
    }
}

/// What a report row shows of its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// `name`, or `namespace/name` for a namespaced policy.
    pub key: String,
    /// `policies.kyverno.io/category`.
    pub category: Option<String>,
    /// `policies.kyverno.io/severity`, lower-cased, when it is a known severity.
    pub severity: Option<String>,
    /// False when annotated `policies.kyverno.io/scored: "false"`.
    pub scored: bool,
    /// The `source` of its rows.
    pub source: String,
}

const CATEGORY: &str = "policies.kyverno.io/category";
const SEVERITY: &str = "policies.kyverno.io/severity";
const SCORED: &str = "policies.kyverno.io/scored";
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

impl PolicyInfo {
    /// The row information of a classic ClusterPolicy or Policy.
    pub fn classic(policy: &CompiledPolicy) -> PolicyInfo {
        let meta = &policy.policy.metadata;
        PolicyInfo::from_annotations(
            policy.name(),
            "kyverno",
            meta.annotations.get(CATEGORY).map(String::as_str),
            meta.annotations.get(SEVERITY).map(String::as_str),
            meta.annotations.get(SCORED).map(String::as_str),
        )
    }

    /// The row information of a ValidatingPolicy (source `KyvernoValidatingPolicy`, as Kyverno).
    pub fn validating(policy: &CompiledValidatingPolicy) -> PolicyInfo {
        let meta = &policy.policy.metadata;
        let key = match meta.namespace.as_deref().filter(|n| !n.is_empty()) {
            Some(ns) => format!("{ns}/{}", meta.name),
            None => meta.name.clone(),
        };
        PolicyInfo::from_annotations(
            key,
            "KyvernoValidatingPolicy",
            meta.annotations.get(CATEGORY).map(String::as_str),
            meta.annotations.get(SEVERITY).map(String::as_str),
            meta.annotations.get(SCORED).map(String::as_str),
        )
    }

    /// The row information of a scanned policy.
    pub fn of_scanned(policy: &ScannedPolicy) -> PolicyInfo {
        match policy {
            ScannedPolicy::Classic(p) => PolicyInfo::classic(p),
            ScannedPolicy::Validating(p) => PolicyInfo::validating(p),
            // As Kyverno's reports controller: the source names the kind, no annotations.
            ScannedPolicy::AdmissionPolicy(p) => PolicyInfo::from_annotations(
                p.name(),
                "ValidatingAdmissionPolicy",
                None,
                None,
                None,
            ),
        }
    }

    /// Row information from a policy's key, source and annotation values.
    pub fn from_annotations(
        key: String,
        source: &str,
        category: Option<&str>,
        severity: Option<&str>,
        scored: Option<&str>,
    ) -> PolicyInfo {
        PolicyInfo {
            key,
            category: category.filter(|c| !c.is_empty()).map(str::to_string),
            severity: severity.and_then(|s| {
                SEVERITIES
                    .into_iter()
                    .find(|k| k.eq_ignore_ascii_case(s))
                    .map(str::to_string)
            }),
            scored: scored != Some("false"),
            source: source.to_string(),
        }
    }
}

/// The rows for one policy's response on one resource. `resource` is `Some` for layouts whose
/// rows name their resource, `None` for per-resource reports (the `scope` names it).
pub fn rows(
    info: &PolicyInfo,
    response: &PolicyResponse,
    resource: Option<&ObjectRef>,
    process: Process,
    now: Timestamp,
) -> Vec<ReportResult> {
    response
        .rules
        .iter()
        .map(|rule| row(info, rule, resource, process, now))
        .collect()
}

/// The results of a background scan of `resource`, ready for a [`crate::layout`].
pub fn scanned(resource: &serde_json::Value, found: &[Scanned], now: Timestamp) -> ResourceResults {
    let results = found
        .iter()
        .flat_map(|s| {
            rows(
                &PolicyInfo::of_scanned(&s.policy),
                &s.response,
                None,
                Process::Background,
                now,
            )
        })
        .collect();
    ResourceResults {
        resource: ObjectRef::of(resource),
        results,
    }
}

/// One rule's row.
pub fn row(
    info: &PolicyInfo,
    rule: &RuleResponse,
    resource: Option<&ObjectRef>,
    process: Process,
    now: Timestamp,
) -> ReportResult {
    let mut properties: BTreeMap<String, String> = rule.properties.iter().cloned().collect();
    let result = match rule.status {
        RuleStatus::Fail if !info.scored => Outcome::Warn,
        s => Outcome::from(s),
    };
    let message = message_override(&properties, result).unwrap_or_else(|| rule.message.to_string());
    properties.insert("process".into(), process.as_str().into());
    if !rule.exceptions.is_empty() {
        // Kyverno lists the exceptions' names, without their namespaces.
        let names: Vec<&str> = rule
            .exceptions
            .iter()
            .map(|k| k.rsplit('/').next().unwrap_or(k))
            .collect();
        properties.insert("exceptions".into(), names.join(","));
    }
    ReportResult {
        policy: info.key.clone(),
        rule: rule.name.to_string(),
        result,
        message,
        scored: info.scored,
        source: info.source.clone(),
        category: info.category.clone(),
        severity: info.severity.clone(),
        timestamp: now,
        resources: resource.cloned().into_iter().collect(),
        properties,
    }
}

/// Report properties may replace the message: `message` for every outcome, or
/// `passMessage`, `failMessage`, ... for one outcome (the generic key wins, as in Kyverno).
fn message_override(properties: &BTreeMap<String, String>, result: Outcome) -> Option<String> {
    let specific = match result {
        Outcome::Pass => "passMessage",
        Outcome::Fail => "failMessage",
        Outcome::Warn => "warnMessage",
        Outcome::Error => "errorMessage",
        Outcome::Skip => "skipMessage",
    };
    ["message", specific]
        .into_iter()
        .filter_map(|k| properties.get(k))
        .find(|m| !m.is_empty())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_api::RuleType;

    fn info(scored: bool) -> PolicyInfo {
        PolicyInfo::from_annotations(
            "ns/p".into(),
            "kyverno",
            Some("Pod Security"),
            Some("High"),
            (!scored).then_some("false"),
        )
    }

    fn rule(status: RuleStatus, props: &[(&str, &str)]) -> RuleResponse {
        let mut r = RuleResponse::new("r", RuleType::Validation, status, "engine says");
        r.properties = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        r
    }

    #[test]
    fn annotations_fill_category_severity_and_scored() {
        let i = info(true);
        assert_eq!(i.category.as_deref(), Some("Pod Security"));
        assert_eq!(i.severity.as_deref(), Some("high"));
        assert!(i.scored);
        let unknown =
            PolicyInfo::from_annotations("p".into(), "kyverno", Some(""), Some("urgent"), None);
        assert_eq!((unknown.category, unknown.severity), (None, None));
    }

    /// scored, engine status, rule properties, reported outcome, reported message.
    type Case = (
        bool,
        RuleStatus,
        &'static [(&'static str, &'static str)],
        Outcome,
        &'static str,
    );

    #[test]
    fn outcomes_messages_and_properties() {
        let now = Timestamp::default();
        let table: [Case; 5] = [
            (true, RuleStatus::Fail, &[], Outcome::Fail, "engine says"),
            (false, RuleStatus::Fail, &[], Outcome::Warn, "engine says"),
            (
                true,
                RuleStatus::Pass,
                &[("passMessage", "ok!")],
                Outcome::Pass,
                "ok!",
            ),
            (
                true,
                RuleStatus::Fail,
                &[("passMessage", "ok!")],
                Outcome::Fail,
                "engine says",
            ),
            (
                true,
                RuleStatus::Fail,
                &[("failMessage", "f"), ("message", "generic")],
                Outcome::Fail,
                "generic",
            ),
        ];
        for (scored, status, props, want, msg) in table {
            let r = row(
                &info(scored),
                &rule(status, props),
                None,
                Process::Background,
                now,
            );
            assert_eq!(
                (r.result, r.message.as_str()),
                (want, msg),
                "{status:?} {props:?}"
            );
            assert_eq!(r.properties["process"], "background scan");
            assert!(r.resources.is_empty());
        }
    }

    #[test]
    fn a_background_scan_becomes_one_resource_worth_of_rows() {
        let policy = serde_json::json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "no-latest", "annotations": {"policies.kyverno.io/severity": "medium"}},
            "spec": {"rules": [{
                "name": "tag", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"message": "no latest", "pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}}
            }]}
        });
        let set = palisade_admission::PolicySet::new([palisade_admission::compile_document(
            "t", 1, &policy,
        )
        .unwrap()]);
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "team", "uid": "u-1"},
            "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}
        });
        let found = palisade_admission::Scanner::new(&set)
            .scan(&pod, &palisade_admission::ReviewEnv::offline());
        let r = scanned(
            &pod,
            &found,
            Timestamp {
                seconds: 7,
                nanos: 0,
            },
        );
        assert_eq!(r.resource.uid, "u-1");
        assert_eq!(r.results.len(), 1);
        let row = &r.results[0];
        assert_eq!(
            (row.policy.as_str(), row.rule.as_str(), row.result),
            ("no-latest", "tag", Outcome::Fail)
        );
        assert_eq!(row.severity.as_deref(), Some("medium"));
        assert_eq!(row.properties["process"], "background scan");
    }

    #[test]
    fn exceptions_are_listed_by_name() {
        let mut r = rule(RuleStatus::Skip, &[]);
        r.exceptions = vec!["team/allow-a".into(), "allow-b".into()];
        let out = row(
            &info(true),
            &r,
            Some(&ObjectRef::default()),
            Process::Admission,
            Timestamp::default(),
        );
        assert_eq!(out.properties["exceptions"], "allow-a,allow-b");
        assert_eq!(out.properties["process"], "admission review");
        assert_eq!(out.resources.len(), 1);
    }
}
