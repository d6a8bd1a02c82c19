//! Admission results for PolicyReports (cluster mode): the rows of policies that background
//! scans do not run, written as an AdmissionReport after the answer (see
//! `palisade_reports::admission` and docs/background.md). Background policies need nothing
//! here: the controller scans the stored object and reports them.

use palisade_admission::{AdmissionRequest, PolicySet, Verdict};
use palisade_kube::admissionreport::AdmissionReportSpec;
use palisade_kube::process::now;
use palisade_reports::ObjectRef;

/// The AdmissionReport of an admitted CREATE or UPDATE of an object, when a policy without
/// background scans gave it results. Subresource requests are not reported (their rows would
/// be about the parent object).
pub fn admission_report(
    set: &PolicySet,
    request: &AdmissionRequest,
    verdict: &Verdict,
) -> Option<AdmissionReportSpec> {
    if !matches!(request.operation.as_str(), "CREATE" | "UPDATE")
        || !request.sub_resource.is_empty()
    {
        return None;
    }
    let resource = ObjectRef::of(&request.object);
    if resource.uid.is_empty() {
        return None;
    }
    let results = palisade_reports::admission::rows(set, verdict, now());
    (!results.is_empty()).then(|| AdmissionReportSpec {
        resource,
        plural: request.resource.resource.clone(),
        operation: request.operation.clone(),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_admission::{AdmissionReview, Phase, compile_document, review_for};
    use serde_json::json;

    fn set() -> PolicySet {
        let policy = json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "require-team"},
            "spec": {"background": false, "rules": [{
                "name": "team", "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
                "validate": {"failureAction": "Audit", "message": "{{ request.userInfo.username }} must set a team",
                    "pattern": {"metadata": {"labels": {"team": "?*"}}}}
            }]}
        });
        PolicySet::new([compile_document("t", 1, &policy).unwrap()])
    }

    fn request(operation: &str, sub: &str, uid: &str) -> AdmissionRequest {
        let review = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "r", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
                "resource": {"group": "", "version": "v1", "resource": "configmaps"},
                "subResource": sub, "name": "c", "namespace": "team", "operation": operation,
                "userInfo": {"username": "alice"},
                "object": {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "c", "namespace": "team", "uid": uid}}
            }
        });
        AdmissionReview::from_slice(&serde_json::to_vec(&review).unwrap()).unwrap()
    }

    #[test]
    fn audit_failures_of_admission_only_policies_are_reported() {
        let set = set();
        let mut req = request("CREATE", "", "u-1");
        let verdict = review_for(&set, &mut req, Phase::Validate, None, &Default::default());
        assert!(verdict.allowed);
        let spec = admission_report(&set, &req, &verdict).unwrap();
        assert_eq!(spec.plural, "configmaps");
        assert_eq!(
            (spec.resource.kind.as_str(), spec.resource.uid.as_str()),
            ("ConfigMap", "u-1")
        );
        assert_eq!(spec.results.len(), 1);
        assert_eq!(
            spec.results[0].message,
            "validation error: alice must set a team. rule team failed at path /metadata/labels/"
        );
        for (op, sub, uid) in [
            ("DELETE", "", "u-1"),
            ("UPDATE", "status", "u-1"),
            ("CREATE", "", ""),
        ] {
            let mut req = request(op, sub, uid);
            let verdict = review_for(&set, &mut req, Phase::Validate, None, &Default::default());
            assert!(
                admission_report(&set, &req, &verdict).is_none(),
                "{op} {sub} {uid}"
            );
        }
    }
}
