//! The text Kyverno shows for a `podSecurity` rule (validate_pss.go, `FormatChecksPrint`).

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

use crate::extract::report_field;
use crate::field::FieldError;
use crate::result::CheckResult;

/// Kyverno's `FormatChecksPrint` after `convertChecks`: for each check
/// `(Forbidden reason: <reason>, field error list: [<error>, <error>])`, concatenated, with field
/// paths made relative to a resource of `kind` (see [`report_field`]).
pub fn format_checks(kind: &str, checks: &[CheckResult]) -> String {
    let mut out = String::new();
    for check in checks {
        let _ = write!(
            out,
            "(Forbidden reason: {}, field error list: [",
            check.forbidden_reason
        );
        for (i, error) in check.errors.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let reported = FieldError {
                field: report_field(kind, &error.field),
                ..error.clone()
            };
            let _ = write!(out, "{reported}");
        }
        out.push_str("])");
    }
    out
}

/// The pre-field-error format of older Kyverno releases: one
/// `({Allowed:false ForbiddenReason:<reason> ForbiddenDetail:<detail>})` line per check.
pub fn format_checks_legacy(checks: &[CheckResult]) -> String {
    checks
        .iter()
        .map(|c| {
            format!(
                "({{Allowed:{} ForbiddenReason:{} ForbiddenDetail:{}}})\n",
                c.allowed, c.forbidden_reason, c.forbidden_detail
            )
        })
        .collect()
}

/// The rule message of a failing rule: `level` and `version` are the rule's own text, as
/// Kyverno prints them (an omitted version prints as empty).
pub fn failure_message(rule_name: &str, level: &str, version: &str, checks_text: &str) -> String {
    format!(
        "Validation rule '{rule_name}' failed. It violates PodSecurity \"{level}:{version}\": {checks_text}"
    )
}

/// The rule message of a passing rule.
pub fn pass_message(rule_name: &str) -> String {
    format!("Validation rule '{rule_name}' passed.")
}

static CONTAINER_NAMES: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"container(?:s)?\s*(.*?)\s*must").ok());

impl CheckResult {
    /// The container names Kyverno extracts from the detail to attach images to a report
    /// (`addImages`): the text between the first `container(s)` and `must`, unquoted, split on
    /// commas. Empty when the detail names no container.
    pub fn container_names(&self) -> Vec<String> {
        let Some(re) = CONTAINER_NAMES.as_ref() else {
            return Vec::new();
        };
        let Some(list) = re.captures(&self.forbidden_detail).and_then(|c| c.get(1)) else {
            return Vec::new();
        };
        list.as_str()
            .replace(['"', ' '], "")
            .split(',')
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::BadValue;

    fn check(reason: &'static str, detail: &str, errors: Vec<FieldError>) -> CheckResult {
        CheckResult {
            id: "x",
            control: "X",
            allowed: false,
            forbidden_reason: reason,
            forbidden_detail: detail.into(),
            errors,
        }
    }

    #[test]
    fn format_matches_kyverno() {
        let checks = [
            check(
                "allowPrivilegeEscalation != false",
                "",
                vec![FieldError::forbidden(
                    "spec.containers[0].securityContext.allowPrivilegeEscalation".into(),
                    BadValue::Str("nil".into()),
                )],
            ),
            check(
                "hostPath volumes",
                "",
                vec![
                    FieldError::forbidden(
                        "spec.volumes[1].hostPath".into(),
                        BadValue::Str("/run/xtables.lock".into()),
                    ),
                    FieldError::forbidden(
                        "spec.volumes[2].hostPath".into(),
                        BadValue::Str("/lib/modules".into()),
                    ),
                ],
            ),
        ];
        assert_eq!(
            format_checks("Pod", &checks),
            "(Forbidden reason: allowPrivilegeEscalation != false, field error list: [spec.containers[0].securityContext.allowPrivilegeEscalation is forbidden, forbidden values found: nil])(Forbidden reason: hostPath volumes, field error list: [spec.volumes[1].hostPath is forbidden, forbidden values found: /run/xtables.lock, spec.volumes[2].hostPath is forbidden, forbidden values found: /lib/modules])"
        );
        let deployment = [check(
            "privileged",
            "",
            vec![FieldError::forbidden(
                "spec.containers[0].securityContext.privileged".into(),
                BadValue::Bool(true),
            )],
        )];
        let text = format_checks("Deployment", &deployment);
        assert_eq!(
            failure_message("baseline", "baseline", "latest", &text),
            "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": (Forbidden reason: privileged, field error list: [spec.template.spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true])"
        );
        assert_eq!(pass_message("r"), "Validation rule 'r' passed.");
    }

    #[test]
    fn legacy_format() {
        let c = check("host namespaces", "hostIPC=true", vec![]);
        assert_eq!(
            format_checks_legacy(&[c]),
            "({Allowed:false ForbiddenReason:host namespaces ForbiddenDetail:hostIPC=true})\n"
        );
    }

    #[test]
    fn container_names_follow_add_images() {
        let table = [
            (
                r#"containers "nginx", "busybox" must set securityContext.allowPrivilegeEscalation=false"#,
                vec!["nginx", "busybox"],
            ),
            (
                r#"pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
                vec!["nginx"],
            ),
            ("hostNetwork=true", vec![]),
            (
                r#"annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/a=\"x\"""#,
                vec![],
            ),
        ];
        for (detail, want) in table {
            assert_eq!(
                check("r", detail, vec![]).container_names(),
                want,
                "{detail}"
            );
        }
    }
}
