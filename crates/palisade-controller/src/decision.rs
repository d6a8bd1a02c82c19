//! What to do with a resource's report after a scan: write it, delete it, or nothing.

use palisade_reports::Report;
use palisade_reports::change::Digest;

/// The largest report written, in bytes of JSON. etcd refuses requests over 1.5 MiB; the API
/// server adds metadata (managedFields, timestamps), so a third is kept free. A per-resource
/// report holds a few hundred bytes a rule, so this is never reached by real policies.
pub const MAX_REPORT_BYTES: usize = 1024 * 1024;

/// The outcome of comparing a scan with the stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The stored report already says this.
    Nothing,
    /// Create or update the report (timestamps of unchanged rows carried over).
    Write(Box<Report>),
    /// No policy matches the resource any more: delete its report.
    Delete,
}

/// Why a report is not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the report {namespace}/{name} would be {size} bytes, over the {MAX_REPORT_BYTES}-byte limit; not written"
)]
pub struct TooLarge {
    /// The report's namespace (empty for a ClusterPolicyReport).
    pub namespace: String,
    /// The report's name.
    pub name: String,
    /// Its encoded size.
    pub size: usize,
}

/// Decides what to do given the stored report and the scan's report (`None` or no rows: no
/// policy matched the resource).
pub fn decide(stored: Option<&Digest>, next: Option<Report>) -> Result<Action, TooLarge> {
    let next = next.filter(|r| !r.results.is_empty());
    let Some(mut next) = next else {
        return Ok(if stored.is_some() {
            Action::Delete
        } else {
            Action::Nothing
        });
    };
    if let Some(stored) = stored {
        stored.carry_over(&mut next);
        if !stored.differs(&next) {
            return Ok(Action::Nothing);
        }
    }
    let size = next.encoded_len();
    if size > MAX_REPORT_BYTES {
        return Err(TooLarge {
            namespace: next.metadata.namespace.clone().unwrap_or_default(),
            name: next.metadata.name.clone(),
            size,
        });
    }
    Ok(Action::Write(Box::new(next)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use palisade_reports::{
        ObjectRef, Outcome, ReportResult, ResourceResults, Timestamp, per_resource,
    };

    fn report(outcomes: &[Outcome], secs: i64, message: &str) -> Report {
        per_resource(&ResourceResults {
            resource: ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: "team".into(),
                name: "p".into(),
                uid: "u-1".into(),
            },
            results: outcomes
                .iter()
                .enumerate()
                .map(|(i, o)| ReportResult {
                    policy: "pol".into(),
                    rule: format!("rule-{i}"),
                    result: *o,
                    message: message.into(),
                    scored: true,
                    source: "kyverno".into(),
                    category: None,
                    severity: None,
                    timestamp: Timestamp {
                        seconds: secs,
                        nanos: 0,
                    },
                    resources: Vec::new(),
                    properties: BTreeMap::new(),
                })
                .collect(),
        })
    }

    fn kind(a: &Result<Action, TooLarge>) -> &'static str {
        match a {
            Ok(Action::Nothing) => "nothing",
            Ok(Action::Write(_)) => "write",
            Ok(Action::Delete) => "delete",
            Err(_) => "too large",
        }
    }

    #[test]
    fn decisions() {
        use Outcome::{Fail, Pass, Skip};
        let stored = Digest::of(&report(&[Fail, Pass], 10, "m"));
        let cases: [(&str, Option<&Digest>, Option<Report>, &str); 7] = [
            (
                "new resource",
                None,
                Some(report(&[Fail], 20, "m")),
                "write",
            ),
            (
                "rescan, same outcomes",
                Some(&stored),
                Some(report(&[Fail, Pass], 20, "m")),
                "nothing",
            ),
            (
                "outcome changed",
                Some(&stored),
                Some(report(&[Skip, Pass], 20, "m")),
                "write",
            ),
            (
                "rule added",
                Some(&stored),
                Some(report(&[Fail, Pass, Pass], 20, "m")),
                "write",
            ),
            ("no policy matches any more", Some(&stored), None, "delete"),
            ("matched by nothing, no report", None, None, "nothing"),
            (
                "no rows",
                Some(&stored),
                Some(report(&[], 20, "m")),
                "delete",
            ),
        ];
        for (what, stored, next, want) in cases {
            assert_eq!(kind(&decide(stored, next)), want, "{what}");
        }
    }

    #[test]
    fn unchanged_rows_keep_their_timestamps_when_another_row_changes() {
        let stored = Digest::of(&report(&[Outcome::Fail, Outcome::Pass], 10, "m"));
        let next = report(&[Outcome::Skip, Outcome::Pass], 20, "m");
        let Ok(Action::Write(written)) = decide(Some(&stored), Some(next)) else {
            panic!("expected a write");
        };
        let stamps: Vec<i64> = written
            .results
            .iter()
            .map(|r| r.timestamp.seconds)
            .collect();
        assert_eq!(stamps, [20, 10]);
    }

    #[test]
    fn oversized_reports_are_refused() {
        let huge = report(&[Outcome::Fail; 4], 1, &"x".repeat(MAX_REPORT_BYTES / 3));
        let err = decide(None, Some(huge)).unwrap_err();
        assert!(err.size > MAX_REPORT_BYTES);
        assert_eq!((err.namespace.as_str(), err.name.as_str()), ("team", "u-1"));
        assert!(err.to_string().contains("not written"));
    }
}
