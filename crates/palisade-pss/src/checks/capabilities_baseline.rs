//! Capabilities (baseline): containers may only add capabilities from the default set.

use super::helpers::{
    Violation, Violations, containers_phrase, insert_sorted, join_quote, visit_containers,
};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `capabilities_baseline`.
pub(crate) struct CapabilitiesBaseline;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(0, v1_0)];

/// The capabilities a container may add under baseline.
pub(crate) const ALLOWED: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

impl Check for CapabilitiesBaseline {
    fn id(&self) -> &'static str {
        "capabilities_baseline"
    }
    fn control(&self) -> &'static str {
        "Capabilities"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Adding capabilities beyond the default set must be disallowed: \
         securityContext.capabilities.add may only hold AUDIT_WRITE, CHOWN, DAC_OVERRIDE, \
         FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and \
         SYS_CHROOT."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let mut bad = Violations::default();
    let mut all_forbidden = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        let Some(caps) = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref())
        else {
            return;
        };
        let mut forbidden = Vec::new();
        for cap in caps.add.iter().filter(|cap| !ALLOWED.contains(cap)) {
            insert_sorted(&mut forbidden, cap);
            insert_sorted(&mut all_forbidden, cap);
        }
        if !forbidden.is_empty() {
            let field = path.field("securityContext.capabilities.add");
            bad.add(
                c.name,
                [FieldError::forbidden(field, BadValue::List(forbidden))],
            );
        }
    });
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "non-default capabilities",
        detail: format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad.data),
            join_quote(&all_forbidden)
        ),
        errors: bad.errors,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn table() {
        let ok = json!({"containers": [
            {"name": "a", "securityContext": {"capabilities": {"add": ["KILL", "CHOWN"], "drop": ["ALL"]}}},
            {"name": "b"}
        ]});
        assert!(run(v1_0, json!({}), ok).is_none());
        let bad = json!({
            "containers": [
                {"name": "a", "securityContext": {"capabilities": {"add": ["NET_RAW", "KILL", "NET_ADMIN", "NET_RAW"]}}},
                {"name": "b", "securityContext": {"capabilities": {"add": ["SYS_TIME"]}}}
            ]
        });
        assert_eq!(
            render(&run(v1_0, json!({}), bad)),
            Some((
                "non-default capabilities".into(),
                r#"containers "a", "b" must not include "NET_ADMIN", "NET_RAW", "SYS_TIME" in securityContext.capabilities.add"#.into(),
                vec![
                    "spec.containers[0].securityContext.capabilities.add is forbidden, forbidden values found: [NET_ADMIN NET_RAW]".into(),
                    "spec.containers[1].securityContext.capabilities.add is forbidden, forbidden values found: [SYS_TIME]".into(),
                ]
            ))
        );
    }
}
