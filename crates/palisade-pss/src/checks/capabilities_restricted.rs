//! Capabilities (restricted): containers must drop `ALL` and may only add `NET_BIND_SERVICE`.

use super::helpers::{
    Violation, Violations, containers_phrase, insert_sorted, join_quote, visit_containers,
};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `capabilities_restricted`.
pub(crate) struct CapabilitiesRestricted;

static VERSIONS: [VersionedCheck; 2] = [
    VersionedCheck::new(22, v1_22),
    // From 1.25 windows pods are exempt: the API rejects capabilities on them.
    VersionedCheck::new(25, v1_25),
];

impl Check for CapabilitiesRestricted {
    fn id(&self) -> &'static str {
        "capabilities_restricted"
    }
    fn control(&self) -> &'static str {
        "Capabilities"
    }
    fn level(&self) -> Level {
        Level::Restricted
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Containers must drop ALL capabilities (securityContext.capabilities.drop must include \
         ALL) and may only add back NET_BIND_SERVICE. Windows pods are exempt from v1.25."
    }
}

fn v1_22(pod: &Pod<'_>) -> Option<Violation> {
    let mut missing_drop_all = Violations::default();
    let mut adding_forbidden = Violations::default();
    let mut forbidden_caps = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        let drop_field = || path.field("securityContext.capabilities.drop");
        let Some(caps) = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.capabilities.as_ref())
        else {
            missing_drop_all.add(c.name, [FieldError::required(drop_field())]);
            return;
        };
        if !caps.drop.contains(&"ALL") {
            let error = if caps.drop.is_empty() {
                FieldError::required(drop_field())
            } else {
                let mut dropped = Vec::new();
                caps.drop
                    .iter()
                    .for_each(|d| insert_sorted(&mut dropped, d));
                FieldError::forbidden(drop_field(), BadValue::List(dropped))
            };
            missing_drop_all.add(c.name, [error]);
        }
        let mut added = Vec::new();
        for cap in caps.add.iter().filter(|cap| **cap != "NET_BIND_SERVICE") {
            insert_sorted(&mut added, cap);
            insert_sorted(&mut forbidden_caps, cap);
        }
        if !added.is_empty() {
            let field = path.field("securityContext.capabilities.add");
            adding_forbidden.add(
                c.name,
                [FieldError::forbidden(field, BadValue::List(added))],
            );
        }
    });
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(format!(
            r#"{} must set securityContext.capabilities.drop=["ALL"]"#,
            containers_phrase(&missing_drop_all.data)
        ));
    }
    if !adding_forbidden.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding_forbidden.data),
            join_quote(&forbidden_caps)
        ));
    }
    if details.is_empty() {
        return None;
    }
    let mut errors = missing_drop_all.errors;
    errors.extend(adding_forbidden.errors);
    Some(Violation {
        reason: "unrestricted capabilities",
        detail: details.join("; "),
        errors,
    })
}

fn v1_25(pod: &Pod<'_>) -> Option<Violation> {
    if pod.spec.is_windows() {
        return None;
    }
    v1_22(pod)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn table() {
        let ok = json!({"containers": [
            {"name": "a", "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}
        ]});
        assert!(run(v1_25, json!({}), ok).is_none());
        let spec = json!({"containers": [
            {"name": "a"},
            {"name": "b", "securityContext": {"capabilities": {}}},
            {"name": "c", "securityContext": {"capabilities": {"drop": ["NET_RAW", "all"]}}},
            {"name": "d", "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "CHOWN", "NET_BIND_SERVICE"]}}},
            {"name": "e", "securityContext": {"capabilities": {"drop": ["ALL"]}}}
        ]});
        assert_eq!(
            render(&run(v1_25, json!({}), spec)),
            Some((
                "unrestricted capabilities".into(),
                concat!(
                    r#"containers "a", "b", "c" must set securityContext.capabilities.drop=["ALL"]; "#,
                    r#"container "d" must not include "CHOWN", "NET_ADMIN" in securityContext.capabilities.add"#
                )
                .into(),
                vec![
                    "spec.containers[0].securityContext.capabilities.drop: Required value".into(),
                    "spec.containers[1].securityContext.capabilities.drop: Required value".into(),
                    "spec.containers[2].securityContext.capabilities.drop is forbidden, forbidden values found: [NET_RAW all]".into(),
                    "spec.containers[3].securityContext.capabilities.add is forbidden, forbidden values found: [CHOWN NET_ADMIN]".into(),
                ]
            ))
        );
    }

    #[test]
    fn windows_exempt_from_1_25() {
        let spec = json!({"os": {"name": "windows"}, "containers": [{"name": "a"}]});
        assert!(run(v1_22, json!({}), spec.clone()).is_some());
        assert!(run(v1_25, json!({}), spec).is_none());
    }
}
