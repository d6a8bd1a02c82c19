//! Evaluating resources with the background policies and building their reports (sync and
//! CPU-bound: the controller calls [`scan`] on a blocking thread).

use std::time::Instant;

use palisade_admission::{PolicySet, ReviewEnv, Scanner};
use palisade_kube::process::now;
use palisade_reports::{ObjectRef, Report, per_resource, result};
use serde_json::Value;

/// One resource's scan.
#[derive(Debug)]
pub struct ScanOutcome {
    /// The resource.
    pub resource: ObjectRef,
    /// Its report (`None`: no background policy matched it).
    pub report: Option<Report>,
    /// Evaluation time in seconds.
    pub seconds: f64,
}

/// Scans `objects` with the background policies of `set` (CPU-bound: call it on a blocking
/// thread).
pub fn scan(set: &PolicySet, env: &ReviewEnv, objects: Vec<Value>) -> Vec<ScanOutcome> {
    let scanner = Scanner::new(set);
    let now = now();
    objects
        .into_iter()
        .map(|object| {
            let start = Instant::now();
            let found = scanner.scan(&object, env);
            let rows = result::scanned(&object, &found, now);
            let report = (!rows.results.is_empty()).then(|| per_resource(&rows));
            ScanOutcome {
                resource: rows.resource,
                report,
                seconds: start.elapsed().as_secs_f64(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_admission::compile_document;
    use palisade_reports::Outcome;
    use serde_json::json;

    #[test]
    fn scan_reports_matched_resources_and_nothing_for_the_rest() {
        let policy = json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "no-privileged"},
            "spec": {"rules": [{
                "name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"message": "no", "pattern": {"spec": {"containers": [{"=(securityContext)": {"=(privileged)": "false"}}]}}}
            }]}
        });
        let set = PolicySet::new([compile_document("t", 1, &policy).unwrap()]);
        let pod = |name: &str, privileged: bool| {
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "team", "uid": format!("uid-{name}")},
                "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": privileged}}]}})
        };
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team", "uid": "uid-c"}});
        let out = scan(
            &set,
            &ReviewEnv::offline(),
            vec![pod("bad", true), pod("good", false), cm],
        );
        let got: Vec<(String, Option<Outcome>)> = out
            .iter()
            .map(|o| {
                (
                    o.resource.uid.clone(),
                    o.report.as_ref().map(|r| r.results[0].result),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("uid-bad".to_string(), Some(Outcome::Fail)),
                ("uid-good".to_string(), Some(Outcome::Pass)),
                ("uid-c".to_string(), None)
            ]
        );
        let report = out[0].report.as_ref().unwrap();
        assert_eq!(report.metadata.name, "uid-bad");
        assert_eq!(report.metadata.namespace.as_deref(), Some("team"));
    }
}
