//! Writing a report only when what it says has changed.
//!
//! A rescan produces the same rows with new timestamps; rewriting every report on every scan
//! would churn etcd for nothing. [`carry_over`] keeps the previous timestamp of every row that
//! says the same thing, after which an unchanged report compares equal to the stored one and
//! [`needs_write`] says no.

use std::collections::HashMap;

use crate::model::{Report, ReportResult};

/// Copies the timestamps of `previous` rows into the matching, unchanged rows of `next`.
pub fn carry_over(previous: &Report, next: &mut Report) {
    let old: HashMap<_, &ReportResult> = previous.results.iter().map(|r| (r.key(), r)).collect();
    for row in &mut next.results {
        if let Some(prev) = old.get(&row.key()).filter(|p| p.same_content(row)) {
            row.timestamp = prev.timestamp;
        }
    }
}

/// True when `next` must be written: there is no stored report, or the rows, scope, summary,
/// labels or owners differ. Fields the API server manages (resourceVersion, managedFields)
/// are not part of [`Report`], so they never cause a write.
pub fn needs_write(stored: Option<&Report>, next: &Report) -> bool {
    let Some(stored) = stored else {
        return true;
    };
    stored.results != next.results
        || stored.scope != next.scope
        || stored.summary != next.summary
        || stored.metadata.labels != next.metadata.labels
        || stored.metadata.owner_references != next.metadata.owner_references
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Outcome, Timestamp};

    fn report(rows: &[(&str, Outcome, i64)]) -> Report {
        let mut r = Report::new("n".into(), Some("ns".into()));
        r.set_results(
            rows.iter()
                .map(|(rule, result, secs)| ReportResult {
                    policy: "p".into(),
                    rule: rule.to_string(),
                    result: *result,
                    message: String::new(),
                    scored: true,
                    source: "kyverno".into(),
                    category: None,
                    severity: None,
                    timestamp: Timestamp {
                        seconds: *secs,
                        nanos: 0,
                    },
                    resources: Vec::new(),
                    properties: BTreeMap::new(),
                })
                .collect(),
        );
        r
    }

    #[test]
    fn a_rescan_with_the_same_outcomes_writes_nothing() {
        let stored = report(&[("a", Outcome::Pass, 10), ("b", Outcome::Fail, 10)]);
        let mut next = report(&[("a", Outcome::Pass, 99), ("b", Outcome::Fail, 99)]);
        assert!(needs_write(Some(&stored), &next));
        carry_over(&stored, &mut next);
        assert!(!needs_write(Some(&stored), &next));
    }

    #[test]
    fn a_changed_outcome_is_written_with_its_new_timestamp() {
        let stored = report(&[("a", Outcome::Pass, 10), ("b", Outcome::Pass, 10)]);
        let mut next = report(&[("a", Outcome::Pass, 99), ("b", Outcome::Fail, 99)]);
        carry_over(&stored, &mut next);
        assert!(needs_write(Some(&stored), &next));
        let stamps: Vec<i64> = next.results.iter().map(|r| r.timestamp.seconds).collect();
        assert_eq!(stamps, [10, 99]);
    }

    #[test]
    fn missing_reports_and_new_labels_are_written() {
        let r = report(&[("a", Outcome::Pass, 1)]);
        assert!(needs_write(None, &r));
        let mut relabelled = r.clone();
        relabelled.metadata.labels.insert("x".into(), "y".into());
        assert!(needs_write(Some(&r), &relabelled));
    }
}
