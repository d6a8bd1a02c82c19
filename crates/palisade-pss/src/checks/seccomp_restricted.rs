//! Seccomp (restricted): the pod or every container must set a RuntimeDefault or Localhost
//! seccomp profile. From v1.25 windows pods are exempt.

use super::helpers::{
    Violation, Violations, containers_phrase, insert_sorted, join_quote, visit_containers,
};
use super::seccomp_baseline::valid_type;
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `seccompProfile_restricted`.
pub(crate) struct SeccompProfileRestricted;

static VERSIONS: [VersionedCheck; 2] = [
    VersionedCheck::new(19, v1_19),
    VersionedCheck::new(25, v1_25),
];

impl Check for SeccompProfileRestricted {
    fn id(&self) -> &'static str {
        "seccompProfile_restricted"
    }
    fn control(&self) -> &'static str {
        "Seccomp"
    }
    fn level(&self) -> Level {
        Level::Restricted
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "A seccomp profile must be set explicitly to RuntimeDefault or Localhost: \
         spec.securityContext.seccompProfile.type, or every container's \
         securityContext.seccompProfile.type. Windows pods are exempt from v1.25."
    }
}

fn v1_19(pod: &Pod<'_>) -> Option<Violation> {
    let mut setters = Violations::default();
    let mut bad_values = Vec::new();
    let mut pod_set = false;
    if let Some(t) = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_type)
    {
        if valid_type(t) {
            pod_set = true;
        } else {
            let field = "spec.securityContext.seccompProfile.type".to_string();
            setters.add(
                "pod",
                [FieldError::forbidden(field, BadValue::Str(t.into()))],
            );
            insert_sorted(&mut bad_values, t);
        }
    }
    let mut explicit = Vec::new();
    let mut explicit_errors = Vec::new();
    let mut implicit = Violations::default();
    visit_containers(&pod.spec, |c, path| {
        let field = || path.field("securityContext.seccompProfile.type");
        match c.security_context.as_ref().and_then(|sc| sc.seccomp_type) {
            Some(t) if valid_type(t) => {}
            Some(t) => {
                explicit.push(c.name);
                explicit_errors.push(FieldError::forbidden(field(), BadValue::Str(t.into())));
                insert_sorted(&mut bad_values, t);
            }
            None if pod_set => {}
            None => implicit.add(c.name, [FieldError::required(field())]),
        }
    });
    if !explicit.is_empty() {
        setters.add(containers_phrase(&explicit), explicit_errors);
    }
    if !setters.is_empty() {
        // Explicitly bad values are reported alone, even when some containers are also unset.
        return Some(Violation {
            reason: "seccompProfile",
            detail: format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters.data.join(" and "),
                join_quote(&bad_values)
            ),
            errors: setters.errors,
        });
    }
    if implicit.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "seccompProfile",
        detail: format!(
            r#"pod or {} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
            containers_phrase(&implicit.data)
        ),
        errors: implicit.errors,
    })
}

fn v1_25(pod: &Pod<'_>) -> Option<Violation> {
    if pod.spec.is_windows() {
        return None;
    }
    v1_19(pod)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn allowed() {
        let cases = [
            json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "a"}]}),
            json!({"containers": [{"name": "a", "securityContext": {"seccompProfile": {"type": "Localhost"}}}]}),
        ];
        for spec in cases {
            assert!(run(v1_25, json!({}), spec).is_none());
        }
    }

    #[test]
    fn implicit_and_explicit() {
        let unset = json!({"containers": [{"name": "a"}, {"name": "b", "securityContext": {}}]});
        assert_eq!(
            render(&run(v1_25, json!({}), unset)),
            Some((
                "seccompProfile".into(),
                r#"pod or containers "a", "b" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#.into(),
                vec![
                    "spec.containers[0].securityContext.seccompProfile.type: Required value".into(),
                    "spec.containers[1].securityContext.seccompProfile.type: Required value".into(),
                ]
            ))
        );
        let explicit = json!({
            "securityContext": {"seccompProfile": {"type": "Unconfined"}},
            "containers": [{"name": "a"}, {"name": "b", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]
        });
        assert_eq!(
            render(&run(v1_25, json!({}), explicit)),
            Some((
                "seccompProfile".into(),
                r#"pod and container "b" must not set securityContext.seccompProfile.type to "Unconfined""#.into(),
                vec![
                    "spec.securityContext.seccompProfile.type is forbidden, forbidden values found: Unconfined".into(),
                    "spec.containers[1].securityContext.seccompProfile.type is forbidden, forbidden values found: Unconfined".into(),
                ]
            ))
        );
    }

    #[test]
    fn windows_exempt_from_1_25() {
        let spec = json!({"os": {"name": "windows"}, "containers": [{"name": "a"}]});
        assert!(run(v1_19, json!({}), spec.clone()).is_some());
        assert!(run(v1_25, json!({}), spec).is_none());
    }
}
