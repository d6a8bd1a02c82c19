//! HostProcess (baseline): Windows HostProcess containers are forbidden.

use super::helpers::{Violation, Violations, containers_phrase, visit_containers};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `windowsHostProcess`.
pub(crate) struct WindowsHostProcess;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(0, v1_0)];

impl Check for WindowsHostProcess {
    fn id(&self) -> &'static str {
        "windowsHostProcess"
    }
    fn control(&self) -> &'static str {
        "HostProcess"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Windows pods offer the ability to run HostProcess containers, which must be \
         disallowed: securityContext.windowsOptions.hostProcess (pod and containers) must be \
         false or undefined."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let mut containers = Vec::new();
    let mut errors = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        if c.security_context.as_ref().and_then(|sc| sc.host_process) == Some(true) {
            containers.push(c.name);
            let field = path.field("securityContext.windowsOptions.hostProcess");
            errors.push(FieldError::forbidden(field, BadValue::Bool(true)));
        }
    });
    let mut setters = Violations::default();
    if pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.host_process)
        == Some(true)
    {
        let field = "spec.securityContext.windowsOptions.hostProcess".to_string();
        setters.add("pod", [FieldError::forbidden(field, BadValue::Bool(true))]);
    }
    if !containers.is_empty() {
        setters.add(containers_phrase(&containers), errors);
    }
    if setters.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "hostProcess",
        detail: format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters.data.join(" and ")
        ),
        errors: setters.errors,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn table() {
        let ok = json!({
            "securityContext": {"windowsOptions": {"hostProcess": false}},
            "containers": [{"name": "a", "securityContext": {"windowsOptions": {}}}]
        });
        assert!(run(v1_0, json!({}), ok).is_none());
        let bad = json!({
            "securityContext": {"windowsOptions": {"hostProcess": true}},
            "containers": [
                {"name": "a", "securityContext": {"windowsOptions": {"hostProcess": true}}},
                {"name": "b", "securityContext": {"windowsOptions": {"hostProcess": false}}}
            ]
        });
        assert_eq!(
            render(&run(v1_0, json!({}), bad)),
            Some((
                "hostProcess".into(),
                r#"pod and container "a" must not set securityContext.windowsOptions.hostProcess=true"#.into(),
                vec![
                    "spec.securityContext.windowsOptions.hostProcess is forbidden, forbidden values found: true".into(),
                    "spec.containers[0].securityContext.windowsOptions.hostProcess is forbidden, forbidden values found: true".into(),
                ]
            ))
        );
    }
}
