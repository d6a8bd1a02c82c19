//! How results are grouped into report objects.
//!
//! - [`per_resource`]: one report per resource, named by its UID, with `scope` naming the
//!   resource and an owner reference to it, as Kyverno 1.11+ writes them. A change to one
//!   resource rewrites one small object, and the API server's garbage collector removes the
//!   report with its resource.
//! - [`per_namespace`]: every result of a namespace in a few reports, each below a size bound
//!   (etcd refuses objects over 1.5 MiB). Resources are spread over `2^k` shards by a stable
//!   hash of their UID, so adding or removing a resource rewrites one shard, not all of them.
//!
//! `docs/performance.md` compares their total size for 10,000 Pods.

use palisade_primitives::fnv::fnv1a;

use crate::model::{ObjectRef, OwnerReference, Report, ReportResult};

/// The label that names a report's layout (`resource` or `namespace`).
pub const LAYOUT_LABEL: &str = "palisade.io/report-layout";

/// The results of every policy on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceResults {
    /// The resource (with its UID).
    pub resource: ObjectRef,
    /// Its rows, without `resources` (the layout fills them in where needed).
    pub results: Vec<ReportResult>,
}

/// The per-resource report of one resource: named by its UID, in its namespace (a
/// ClusterPolicyReport for cluster-scoped resources), owned by it.
pub fn per_resource(r: &ResourceResults) -> Report {
    let ns = (!r.resource.namespace.is_empty()).then(|| r.resource.namespace.clone());
    let mut report = Report::new(r.resource.uid.clone(), ns);
    report
        .metadata
        .labels
        .insert(LAYOUT_LABEL.into(), "resource".into());
    report.metadata.owner_references = vec![OwnerReference {
        api_version: r.resource.api_version.clone(),
        kind: r.resource.kind.clone(),
        name: r.resource.name.clone(),
        uid: r.resource.uid.clone(),
    }];
    report.scope = Some(r.resource.clone());
    report.set_results(
        r.results
            .iter()
            .map(|x| ReportResult {
                resources: Vec::new(),
                ..x.clone()
            })
            .collect(),
    );
    report
}

/// The most shards one namespace is split into (2^12 shards of 1 MiB would hold 4 GiB).
const MAX_SHARDS: usize = 4096;
/// Room kept in each shard for metadata the API server adds (managedFields, timestamps).
const ENVELOPE: usize = 16 * 1024;

/// The aggregated reports of one namespace (`None`: cluster-scoped resources), each encoded
/// below `max_bytes` unless a single resource's rows alone exceed it. Shard names are
/// `palisade-<index>`; a writer deletes this layout's reports whose names are not returned.
pub fn per_namespace(
    namespace: Option<&str>,
    resources: &[ResourceResults],
    max_bytes: usize,
) -> Vec<Report> {
    let rows: Vec<(u64, Vec<ReportResult>, usize)> = resources
        .iter()
        .map(|r| {
            let rows: Vec<ReportResult> = r
                .results
                .iter()
                .map(|x| ReportResult {
                    resources: vec![r.resource.clone()],
                    ..x.clone()
                })
                .collect();
            let size = serde_json::to_vec(&rows).map(|v| v.len()).unwrap_or(0);
            (fnv1a(r.resource.uid.as_bytes()), rows, size)
        })
        .collect();
    let budget = max_bytes.saturating_sub(ENVELOPE).max(1);
    let shards = shard_count(&rows, budget);
    let mut buckets: Vec<Vec<ReportResult>> = vec![Vec::new(); shards];
    for (hash, r, _) in rows {
        if let Some(b) = buckets.get_mut(shard_of(hash, shards)) {
            b.extend(r);
        }
    }
    buckets
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(i, b)| {
            let mut report = Report::new(format!("palisade-{i}"), namespace.map(str::to_string));
            report
                .metadata
                .labels
                .insert(LAYOUT_LABEL.into(), "namespace".into());
            report.set_results(b);
            report
        })
        .collect()
}

/// The smallest power of two of shards whose fullest shard fits `budget`.
fn shard_count(rows: &[(u64, Vec<ReportResult>, usize)], budget: usize) -> usize {
    let mut n = 1;
    while n < MAX_SHARDS {
        let mut sizes = vec![0usize; n];
        for (hash, _, size) in rows {
            if let Some(s) = sizes.get_mut(shard_of(*hash, n)) {
                *s += size;
            }
        }
        if sizes.iter().all(|s| *s <= budget) {
            break;
        }
        n *= 2;
    }
    n
}

fn shard_of(hash: u64, shards: usize) -> usize {
    // `shards` is a power of two, so masking keeps a resource in the same shard or its
    // sibling when the count doubles.
    (hash as usize) & (shards - 1)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Outcome, Timestamp};

    fn resource(i: usize) -> ResourceResults {
        let r = ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: "team".into(),
            name: format!("pod-{i}"),
            uid: format!("00000000-0000-0000-0000-{i:012}"),
        };
        let results = (0..3)
            .map(|k| ReportResult {
                policy: format!("policy-{k}"),
                rule: "rule".into(),
                result: if k == 0 { Outcome::Fail } else { Outcome::Pass },
                message: "a message of some length that repeats in every row".into(),
                scored: true,
                source: "kyverno".into(),
                category: None,
                severity: None,
                timestamp: Timestamp::default(),
                resources: Vec::new(),
                properties: BTreeMap::new(),
            })
            .collect();
        ResourceResults {
            resource: r,
            results,
        }
    }

    #[test]
    fn per_resource_report_is_named_scoped_and_owned_by_its_resource() {
        let r = per_resource(&resource(7));
        assert_eq!(r.metadata.name, "00000000-0000-0000-0000-000000000007");
        assert_eq!(r.metadata.namespace.as_deref(), Some("team"));
        assert_eq!(r.kind, "PolicyReport");
        assert_eq!(r.scope.as_ref().map(|s| s.name.as_str()), Some("pod-7"));
        assert_eq!(r.metadata.owner_references[0].uid, r.metadata.name);
        assert!(r.results.iter().all(|x| x.resources.is_empty()));
        assert_eq!((r.summary.fail, r.summary.pass), (1, 2));
    }

    #[test]
    fn cluster_scoped_resources_get_cluster_policy_reports() {
        let mut res = resource(1);
        res.resource.namespace.clear();
        assert_eq!(per_resource(&res).kind, "ClusterPolicyReport");
        assert_eq!(
            per_namespace(None, &[res], 1 << 20)[0].kind,
            "ClusterPolicyReport"
        );
    }

    #[test]
    fn namespace_reports_stay_under_the_bound_and_keep_every_row() {
        let resources: Vec<_> = (0..2000).map(resource).collect();
        let bound = 256 * 1024;
        let reports = per_namespace(Some("team"), &resources, bound);
        assert!(reports.len() > 1, "2000 pods need several shards");
        assert!(reports.iter().all(|r| r.encoded_len() <= bound));
        let rows: usize = reports.iter().map(|r| r.results.len()).sum();
        assert_eq!(rows, 6000);
        assert!(
            reports
                .iter()
                .all(|r| r.results.iter().all(|x| x.resources.len() == 1))
        );
    }

    #[test]
    fn adding_a_resource_changes_one_shard() {
        let mut resources: Vec<_> = (0..2000).map(resource).collect();
        let before = per_namespace(Some("team"), &resources, 256 * 1024);
        resources.push(resource(5000));
        let after = per_namespace(Some("team"), &resources, 256 * 1024);
        assert_eq!(before.len(), after.len());
        let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        assert_eq!(changed, 1);
    }

    #[test]
    fn small_namespaces_fit_one_report() {
        let resources: Vec<_> = (0..3).map(resource).collect();
        let reports = per_namespace(Some("team"), &resources, 1 << 20);
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].metadata.name, "palisade-0");
        assert!(per_namespace(Some("team"), &[], 1 << 20).is_empty());
    }
}
