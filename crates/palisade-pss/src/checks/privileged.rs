//! Privileged Containers (baseline): `securityContext.privileged` must not be `true`.

use super::helpers::{Violation, Violations, containers_phrase, visit_containers};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `privileged`.
pub(crate) struct Privileged;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(0, v1_0)];

impl Check for Privileged {
    fn id(&self) -> &'static str {
        "privileged"
    }
    fn control(&self) -> &'static str {
        "Privileged Containers"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Privileged Pods disable most security mechanisms and must be disallowed: \
         spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged \
         must be false or undefined."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let mut bad = Violations::default();
    visit_containers(&pod.spec, |c, path| {
        let privileged = c.security_context.as_ref().and_then(|sc| sc.privileged);
        if privileged == Some(true) {
            let field = path.field("securityContext.privileged");
            bad.add(c.name, [FieldError::forbidden(field, BadValue::Bool(true))]);
        }
    });
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "privileged",
        detail: format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&bad.data)
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
        let allowed = [
            json!({"containers": [{"name": "a"}]}),
            json!({"containers": [{"name": "a", "securityContext": {"privileged": false}}]}),
            json!({"containers": [{"name": "a", "securityContext": {}}]}),
        ];
        for spec in allowed {
            assert!(run(v1_0, json!({}), spec).is_none());
        }
        let spec = json!({
            "containers": [{"name": "a", "securityContext": {"privileged": true}}, {"name": "b"}],
            "initContainers": [{"name": "i", "securityContext": {"privileged": true}}],
            "ephemeralContainers": [{"name": "e", "securityContext": {"privileged": true}}]
        });
        assert_eq!(
            render(&run(v1_0, json!({}), spec)),
            Some((
                "privileged".into(),
                r#"containers "i", "a", "e" must not set securityContext.privileged=true"#.into(),
                vec![
                    "spec.initContainers[0].securityContext.privileged is forbidden, forbidden values found: true".into(),
                    "spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true".into(),
                    "spec.ephemeralContainers[0].securityContext.privileged is forbidden, forbidden values found: true".into(),
                ]
            ))
        );
    }
}
