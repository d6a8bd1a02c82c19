//! Running as Non-root user (restricted): `runAsUser` must not be 0. From v1.35 pods in a user
//! namespace (`hostUsers: false`) are exempt.

use super::helpers::{Violation, Violations, containers_phrase, visit_containers};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `runAsUser`.
pub(crate) struct RunAsUser;

static VERSIONS: [VersionedCheck; 2] = [
    VersionedCheck::new(23, v1_23),
    VersionedCheck::new(35, v1_35),
];

impl Check for RunAsUser {
    fn id(&self) -> &'static str {
        "runAsUser"
    }
    fn control(&self) -> &'static str {
        "Running as Non-root user"
    }
    fn level(&self) -> Level {
        Level::Restricted
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Containers must not set runAsUser to 0: spec.securityContext.runAsUser and every \
         container's securityContext.runAsUser must be non-zero or undefined. From v1.35 \
         pods with spec.hostUsers: false are exempt."
    }
}

fn v1_23(pod: &Pod<'_>) -> Option<Violation> {
    let mut setters = Violations::default();
    if pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_user)
        == Some(0)
    {
        let field = "spec.securityContext.runAsUser".to_string();
        setters.add("pod", [FieldError::forbidden(field, BadValue::Int(0))]);
    }
    let mut containers = Vec::new();
    let mut errors = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        if c.security_context.as_ref().and_then(|sc| sc.run_as_user) == Some(0) {
            containers.push(c.name);
            let field = path.field("securityContext.runAsUser");
            errors.push(FieldError::forbidden(field, BadValue::Int(0)));
        }
    });
    if !containers.is_empty() {
        setters.add(containers_phrase(&containers), errors);
    }
    if setters.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "runAsUser=0",
        detail: format!("{} must not set runAsUser=0", setters.data.join(" and ")),
        errors: setters.errors,
    })
}

fn v1_35(pod: &Pod<'_>) -> Option<Violation> {
    if pod.spec.in_user_namespace() {
        return None;
    }
    v1_23(pod)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn table() {
        let ok = json!({"securityContext": {"runAsUser": 1000}, "containers": [{"name": "a", "securityContext": {"runAsUser": 1}}, {"name": "b"}]});
        assert!(run(v1_23, json!({}), ok).is_none());
        let bad = json!({
            "securityContext": {"runAsUser": 0},
            "containers": [
                {"name": "a", "securityContext": {"runAsUser": 0}},
                {"name": "b", "securityContext": {"runAsUser": 1000}},
                {"name": "c", "securityContext": {"runAsUser": 0}}
            ]
        });
        assert_eq!(
            render(&run(v1_23, json!({}), bad)),
            Some((
                "runAsUser=0".into(),
                r#"pod and containers "a", "c" must not set runAsUser=0"#.into(),
                vec![
                    "spec.securityContext.runAsUser is forbidden, forbidden values found: 0".into(),
                    "spec.containers[0].securityContext.runAsUser is forbidden, forbidden values found: 0".into(),
                    "spec.containers[2].securityContext.runAsUser is forbidden, forbidden values found: 0".into(),
                ]
            ))
        );
    }

    #[test]
    fn user_namespaces_exempt_from_1_35() {
        let spec = json!({"hostUsers": false, "securityContext": {"runAsUser": 0}});
        assert!(run(v1_23, json!({}), spec.clone()).is_some());
        assert!(run(v1_35, json!({}), spec).is_none());
    }
}
