//! Report rows of an admitted request, and merging them into a resource's report.
//!
//! Background scans report every policy that runs in the background, so admission only has to
//! add the rows of the policies that do not (`background: false`: they may read
//! `request.userInfo` or the operation, which only admission has). As Kyverno aggregates its
//! admission reports, a row replaces the stored row of the same policy and rule (the newest
//! result wins), and stays in the report until a newer admission replaces it, its policy goes,
//! or the resource does.

use palisade_admission::{PolicyKind, PolicySet, RuleResult, Verdict};
use palisade_api::RuleType;

use crate::model::{Outcome, Report, ReportResult, Timestamp};
use crate::result::{PolicyInfo, Process};

/// The `process` property of admission rows.
pub const ADMISSION_PROCESS: &str = "admission review";

/// The rows of `verdict`'s validate results for policies of `set` that background scans do
/// not run (empty for a denied request: nothing was stored).
pub fn rows(set: &PolicySet, verdict: &Verdict, now: Timestamp) -> Vec<ReportResult> {
    if !verdict.allowed || verdict.dry_run {
        return Vec::new();
    }
    verdict
        .results
        .iter()
        .filter(|r| r.rule_type == RuleType::Validation)
        .filter_map(|r| Some(row(&admission_only(set, r)?, r, now)))
        .collect()
}

/// The row information of `result`'s policy when it is in `set` and not scanned in the
/// background.
fn admission_only(set: &PolicySet, result: &RuleResult) -> Option<PolicyInfo> {
    match result.policy_kind {
        PolicyKind::ClusterPolicy | PolicyKind::Policy => set
            .policies()
            .iter()
            .find(|p| p.name() == *result.policy)
            .filter(|p| !p.background())
            .map(|p| PolicyInfo::classic(p)),
        PolicyKind::ValidatingPolicy => set
            .validating_policies()
            .iter()
            .map(|p| (PolicyInfo::validating(p), p))
            .find(|(info, _)| info.key == *result.policy)
            .filter(|(_, p)| !p.policy.spec.background())
            .map(|(info, _)| info),
        PolicyKind::MutatingPolicy => None,
    }
}

fn row(info: &PolicyInfo, r: &RuleResult, now: Timestamp) -> ReportResult {
    let result = match Outcome::from(r.status) {
        Outcome::Fail if !info.scored => Outcome::Warn,
        o => o,
    };
    ReportResult {
        policy: info.key.clone(),
        rule: r.rule.to_string(),
        result,
        message: r.message.clone(),
        scored: info.scored,
        source: info.source.clone(),
        category: info.category.clone(),
        severity: info.severity.clone(),
        timestamp: now,
        resources: Vec::new(),
        properties: [("process".to_string(), Process::Admission.as_str().into())].into(),
    }
}

/// True for a row that came from admission.
pub fn is_admission(row: &ReportResult) -> bool {
    row.properties.get("process").map(String::as_str) == Some(ADMISSION_PROCESS)
}

/// Puts `rows` into `report`: each replaces the row of the same policy and rule, or is added.
pub fn merge(report: &mut Report, rows: Vec<ReportResult>) {
    let mut results = std::mem::take(&mut report.results);
    for row in rows {
        match results.iter_mut().find(|r| r.key() == row.key()) {
            Some(slot) => *slot = row,
            None => results.push(row),
        }
    }
    report.set_results(results);
}

/// Adds to `next` (a background scan's report) the stored admission rows that the scan did
/// not replace and whose policy is still in `set`, so a scan keeps what admission recorded.
/// Returns whether any were kept.
pub fn keep_admission_rows(set: &PolicySet, stored: &[ReportResult], next: &mut Report) -> bool {
    let kept: Vec<ReportResult> = stored
        .iter()
        .filter(|r| is_admission(r) && policy_exists(set, &r.policy))
        .filter(|r| !next.results.iter().any(|n| n.key() == r.key()))
        .cloned()
        .collect();
    if kept.is_empty() {
        return false;
    }
    let mut results = std::mem::take(&mut next.results);
    results.extend(kept);
    next.set_results(results);
    true
}

fn policy_exists(set: &PolicySet, key: &str) -> bool {
    set.policies().iter().any(|p| p.name() == key)
        || set
            .validating_policies()
            .iter()
            .any(|p| PolicyInfo::validating(p).key == key)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use palisade_admission::compile_document;
    use palisade_engine::RuleStatus;
    use serde_json::json;

    use super::*;
    use crate::layout::{ResourceResults, per_resource};
    use crate::model::ObjectRef;

    fn policy(name: &str, background: bool) -> palisade_admission::Entry {
        let doc = json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": name, "annotations": {"policies.kyverno.io/severity": "high"}},
            "spec": {"background": background, "rules": [{
                "name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"failureAction": "Audit", "message": "no",
                    "pattern": {"metadata": {"labels": {"team": "?*"}}}}
            }]}
        });
        compile_document("t", 1, &doc).unwrap()
    }

    fn result(policy: &str, status: RuleStatus) -> RuleResult {
        RuleResult {
            policy: Arc::from(policy),
            policy_kind: PolicyKind::ClusterPolicy,
            rule: Arc::from("r"),
            rule_type: RuleType::Validation,
            status,
            message: "m".into(),
            failure_action: None,
            blocking: false,
        }
    }

    const NOW: Timestamp = Timestamp {
        seconds: 100,
        nanos: 0,
    };

    #[test]
    fn only_policies_without_background_scans_give_rows() {
        let set = PolicySet::new([policy("adm", false), policy("bg", true)]);
        let verdict = Verdict {
            results: vec![
                result("adm", RuleStatus::Fail),
                result("bg", RuleStatus::Fail),
                result("gone", RuleStatus::Fail),
            ],
            ..Verdict::allow()
        };
        let got = rows(&set, &verdict, NOW);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].policy.as_str(), got[0].result),
            ("adm", Outcome::Fail)
        );
        assert_eq!(got[0].severity.as_deref(), Some("high"));
        assert!(is_admission(&got[0]));
        let denied = Verdict {
            allowed: false,
            ..verdict.clone()
        };
        assert!(rows(&set, &denied, NOW).is_empty());
        let dry = Verdict {
            dry_run: true,
            ..verdict
        };
        assert!(rows(&set, &dry, NOW).is_empty());
    }

    fn row_of(policy: &str, result: Outcome, process: Process, secs: i64) -> ReportResult {
        let mut r = row(
            &PolicyInfo::from_annotations(policy.into(), "kyverno", None, None, None),
            &self::result(policy, RuleStatus::Pass),
            Timestamp {
                seconds: secs,
                nanos: 0,
            },
        );
        r.result = result;
        r.properties
            .insert("process".into(), process.as_str().into());
        r
    }

    fn report(rows: Vec<ReportResult>) -> Report {
        per_resource(&ResourceResults {
            resource: ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: "team".into(),
                name: "p".into(),
                uid: "u".into(),
            },
            results: rows,
        })
    }

    #[test]
    fn merging_replaces_the_same_rule_and_adds_others() {
        let mut r = report(vec![
            row_of("a", Outcome::Pass, Process::Admission, 1),
            row_of("b", Outcome::Pass, Process::Background, 1),
        ]);
        merge(
            &mut r,
            vec![
                row_of("a", Outcome::Fail, Process::Admission, 2),
                row_of("c", Outcome::Fail, Process::Admission, 2),
            ],
        );
        let got: Vec<(&str, Outcome)> = r
            .results
            .iter()
            .map(|x| (x.policy.as_str(), x.result))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Outcome::Fail),
                ("b", Outcome::Pass),
                ("c", Outcome::Fail)
            ]
        );
        assert_eq!((r.summary.fail, r.summary.pass), (2, 1));
    }

    #[test]
    fn scans_keep_admission_rows_of_existing_policies() {
        let set = PolicySet::new([policy("adm", false), policy("bg", true)]);
        let stored = report(vec![
            row_of("adm", Outcome::Fail, Process::Admission, 1),
            row_of("gone", Outcome::Fail, Process::Admission, 1),
            row_of("bg", Outcome::Fail, Process::Background, 1),
        ]);
        let mut next = report(vec![row_of("bg", Outcome::Pass, Process::Background, 2)]);
        assert!(keep_admission_rows(&set, &stored.results, &mut next));
        let got: Vec<(&str, Outcome)> = next
            .results
            .iter()
            .map(|x| (x.policy.as_str(), x.result))
            .collect();
        assert_eq!(got, [("adm", Outcome::Fail), ("bg", Outcome::Pass)]);
        let mut nothing = report(vec![]);
        let only_bg = report(vec![row_of("bg", Outcome::Fail, Process::Background, 1)]);
        assert!(!keep_admission_rows(&set, &only_bg.results, &mut nothing));
    }
}
