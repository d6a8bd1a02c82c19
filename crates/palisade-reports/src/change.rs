//! Writing a report only when what it says has changed.
//!
//! A rescan produces the same rows with new timestamps; rewriting every report on every scan
//! would churn etcd for nothing. [`carry_over`] keeps the previous timestamp of every row that
//! says the same thing, after which an unchanged report compares equal to the stored one and
//! [`needs_write`] says no.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use crate::model::{ObjectRef, Report, ReportResult, Timestamp};

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

/// What a stored report says, in a few bytes a row: enough to tell whether a new report must
/// be written and to carry the timestamps of unchanged rows over, without keeping every stored
/// report in memory (10,000 per-resource reports of the Pod Security set are about 75 MiB of
/// JSON and several times that as parsed values). Rows that came from admission are kept
/// whole: a background scan writes them again (see `admission::keep_admission_rows`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// Hash of everything [`needs_write`] compares, the rows' timestamps left out.
    content: u64,
    /// For each row, the hash of its content (timestamp left out) and its timestamp, sorted.
    rows: Vec<(u64, Timestamp)>,
    /// The resource the report is about.
    pub scope: Option<ObjectRef>,
    /// Rows from admission, whole.
    pub admission: Vec<ReportResult>,
}

impl Digest {
    /// The digest of `report`.
    pub fn of(report: &Report) -> Digest {
        let mut rows: Vec<(u64, Timestamp)> = report
            .results
            .iter()
            .map(|r| (row_hash(r), r.timestamp))
            .collect();
        rows.sort_unstable();
        Digest {
            content: content_hash(report),
            rows,
            scope: report.scope.clone(),
            admission: report
                .results
                .iter()
                .filter(|r| crate::admission::is_admission(r))
                .cloned()
                .collect(),
        }
    }

    /// Copies the timestamps of the digest's rows into the matching, unchanged rows of `next`.
    pub fn carry_over(&self, next: &mut Report) {
        for row in &mut next.results {
            let h = row_hash(row);
            let at = self.rows.partition_point(|(x, _)| *x < h);
            if let Some((x, ts)) = self.rows.get(at)
                && *x == h
            {
                row.timestamp = *ts;
            }
        }
    }

    /// True when both digests are of reports that say the same (timestamps aside).
    pub fn same(&self, other: &Digest) -> bool {
        self.content == other.content
    }

    /// True when `next` says something else than the digested report (timestamps aside).
    pub fn differs(&self, next: &Report) -> bool {
        self.content != content_hash(next)
    }
}

fn row_hash(r: &ReportResult) -> u64 {
    let mut h = DefaultHasher::new();
    r.hash_content(&mut h);
    h.finish()
}

fn content_hash(report: &Report) -> u64 {
    let mut h = DefaultHasher::new();
    report.results.len().hash(&mut h);
    for r in &report.results {
        r.hash_content(&mut h);
    }
    report.scope.hash(&mut h);
    report.summary.hash(&mut h);
    report.metadata.labels.hash(&mut h);
    report.metadata.owner_references.hash(&mut h);
    h.finish()
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

    #[test]
    fn digests_decide_as_whole_reports_do() {
        let stored = report(&[("a", Outcome::Pass, 10), ("b", Outcome::Fail, 10)]);
        let d = Digest::of(&stored);
        let mut same = report(&[("a", Outcome::Pass, 99), ("b", Outcome::Fail, 99)]);
        assert!(!d.differs(&same));
        d.carry_over(&mut same);
        assert_eq!(same, stored);
        let mut changed = report(&[("a", Outcome::Pass, 99), ("b", Outcome::Pass, 99)]);
        assert!(d.differs(&changed));
        d.carry_over(&mut changed);
        let stamps: Vec<i64> = changed
            .results
            .iter()
            .map(|r| r.timestamp.seconds)
            .collect();
        assert_eq!(stamps, [10, 99]);
        let mut relabelled = stored.clone();
        relabelled.metadata.labels.insert("x".into(), "y".into());
        assert!(d.differs(&relabelled));
        assert!(d.admission.is_empty());
    }
}
