//! /proc Mount Type: `securityContext.procMount` must be `Default` or undefined. Baseline
//! relaxes this for user-namespace pods from v1.35, and restricted keeps the strict form.

use super::helpers::{
    Violation, Violations, containers_phrase, insert_sorted, join_quote, visit_containers,
};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `procMount` (baseline).
pub(crate) struct ProcMount;

/// Upstream `procMount_restricted`.
pub(crate) struct ProcMountRestricted;

static BASELINE_VERSIONS: [VersionedCheck; 2] = [
    VersionedCheck::new(0, strict),
    VersionedCheck::new(35, relaxed_for_user_namespaces),
];

static RESTRICTED_VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(35, strict)];

impl Check for ProcMount {
    fn id(&self) -> &'static str {
        "procMount"
    }
    fn control(&self) -> &'static str {
        "/proc Mount Type"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &BASELINE_VERSIONS
    }
    fn doc(&self) -> &'static str {
        "The default /proc masks must be kept: securityContext.procMount must be Default or \
         undefined. From v1.35 pods with spec.hostUsers: false may set any value."
    }
}

impl Check for ProcMountRestricted {
    fn id(&self) -> &'static str {
        "procMount_restricted"
    }
    fn control(&self) -> &'static str {
        "/proc Mount Type"
    }
    fn level(&self) -> Level {
        Level::Restricted
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &RESTRICTED_VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Restricted keeps the default /proc masks even in user namespaces: \
         securityContext.procMount must be Default or undefined."
    }
}

fn strict(pod: &Pod<'_>) -> Option<Violation> {
    let mut bad = Violations::default();
    let mut types = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        let Some(proc_mount) = c.security_context.as_ref().and_then(|sc| sc.proc_mount) else {
            return;
        };
        if proc_mount != "Default" {
            let field = path.field("securityContext.procMount");
            bad.add(
                c.name,
                [FieldError::forbidden(
                    field,
                    BadValue::Str(proc_mount.into()),
                )],
            );
            insert_sorted(&mut types, proc_mount);
        }
    });
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "procMount",
        detail: format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&bad.data),
            join_quote(&types)
        ),
        errors: bad.errors,
    })
}

fn relaxed_for_user_namespaces(pod: &Pod<'_>) -> Option<Violation> {
    if pod.spec.in_user_namespace() {
        return None;
    }
    strict(pod)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn table() {
        let ok = json!({"containers": [
            {"name": "a", "securityContext": {"procMount": "Default"}},
            {"name": "b", "securityContext": {}}
        ]});
        assert!(run(strict, json!({}), ok).is_none());
        let bad = json!({"containers": [
            {"name": "a", "securityContext": {"procMount": "Unmasked"}},
            {"name": "b", "securityContext": {"procMount": "Other"}}
        ]});
        assert_eq!(
            render(&run(strict, json!({}), bad)),
            Some((
                "procMount".into(),
                r#"containers "a", "b" must not set securityContext.procMount to "Other", "Unmasked""#.into(),
                vec![
                    "spec.containers[0].securityContext.procMount is forbidden, forbidden values found: Unmasked".into(),
                    "spec.containers[1].securityContext.procMount is forbidden, forbidden values found: Other".into(),
                ]
            ))
        );
    }

    #[test]
    fn user_namespaces_relax_only_the_1_35_baseline() {
        let spec = |host_users: serde_json::Value| json!({"hostUsers": host_users, "containers": [{"name": "a", "securityContext": {"procMount": "Unmasked"}}]});
        assert!(run(relaxed_for_user_namespaces, json!({}), spec(json!(false))).is_none());
        assert!(run(relaxed_for_user_namespaces, json!({}), spec(json!(true))).is_some());
        assert!(run(relaxed_for_user_namespaces, json!({}), spec(json!(null))).is_some());
        assert!(run(strict, json!({}), spec(json!(false))).is_some());
    }
}
