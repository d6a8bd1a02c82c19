//! Running the checks on a pod (Kyverno `evaluatePSS`).

use crate::checks::checks;
use crate::level::{Level, Version};
use crate::model::Pod;
use crate::result::CheckResult;

/// The failing checks for `pod` at `level` and `version`, in registry order.
///
/// Like Kyverno, every check whose level `level` runs (see [`Level::runs`]) is evaluated once,
/// with the revision [`crate::Check::select`] picks; restricted checks do not replace the
/// baseline checks they override upstream, so both can fail.
pub(crate) fn evaluate_pod(level: Level, version: Version, pod: &Pod<'_>) -> Vec<CheckResult> {
    checks()
        .iter()
        .filter(|check| level.runs(check.level()))
        .filter_map(|check| {
            let violation = check.select(version)?.run(pod)?;
            Some(CheckResult {
                id: check.id(),
                control: check.control(),
                allowed: false,
                forbidden_reason: violation.reason,
                forbidden_detail: violation.detail,
                errors: violation.errors,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::decode_pod;

    fn ids(level: Level, version: Version, spec: serde_json::Value) -> Vec<&'static str> {
        let meta = json!({});
        let pod = decode_pod(&meta, &spec, "metadata", "spec").unwrap();
        evaluate_pod(level, version, &pod)
            .iter()
            .map(|c| c.id)
            .collect()
    }

    #[test]
    fn levels_select_checks() {
        let spec = json!({"hostPID": true, "containers": [{"name": "a"}]});
        assert_eq!(
            ids(Level::Baseline, Version::Latest, spec.clone()),
            ["hostNamespaces"]
        );
        let restricted = [
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "hostNamespaces",
            "runAsNonRoot",
            "seccompProfile_restricted",
        ];
        assert_eq!(
            ids(Level::Restricted, Version::Latest, spec.clone()),
            restricted
        );
        // Kyverno only narrows the checks for baseline.
        assert_eq!(ids(Level::Privileged, Version::Latest, spec), restricted);
    }

    #[test]
    fn pinned_versions_pick_one_revision() {
        let sysctl =
            json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_keepalive_time"}]}});
        assert_eq!(
            ids(Level::Baseline, Version::V1(29), sysctl.clone()),
            Vec::<&str>::new()
        );
        assert_eq!(ids(Level::Baseline, Version::V1(28), sysctl), ["sysctls"]);
        let probe =
            json!({"containers": [{"name": "a", "livenessProbe": {"httpGet": {"host": "x"}}}]});
        // Checks newer than the pinned version still run (Kyverno behaviour).
        assert_eq!(
            ids(Level::Baseline, Version::V1(29), probe),
            ["hostProbesAndHostLifecycle"]
        );
    }
}
