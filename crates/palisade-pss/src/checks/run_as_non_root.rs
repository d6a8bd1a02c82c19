//! Running as Non-root (restricted): the pod or every container must set `runAsNonRoot: true`.
//! From v1.35 pods in a user namespace (`hostUsers: false`) are exempt.

use super::helpers::{Violation, Violations, containers_phrase, visit_containers};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `runAsNonRoot`.
pub(crate) struct RunAsNonRoot;

static VERSIONS: [VersionedCheck; 2] =
    [VersionedCheck::new(0, v1_0), VersionedCheck::new(35, v1_35)];

impl Check for RunAsNonRoot {
    fn id(&self) -> &'static str {
        "runAsNonRoot"
    }
    fn control(&self) -> &'static str {
        "Running as Non-root"
    }
    fn level(&self) -> Level {
        Level::Restricted
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Containers must run as non-root: spec.securityContext.runAsNonRoot must be true, or \
         every container must set securityContext.runAsNonRoot to true; false is forbidden \
         everywhere. From v1.35 pods with spec.hostUsers: false are exempt."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let mut setters = Violations::default();
    let pod_value = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_non_root);
    if pod_value == Some(false) {
        let field = "spec.securityContext.runAsNonRoot".to_string();
        setters.add("pod", [FieldError::forbidden(field, BadValue::Bool(false))]);
    }
    let pod_non_root = pod_value == Some(true);
    let mut explicit = Vec::new();
    let mut explicit_errors = Vec::new();
    let mut implicit = Violations::default();
    visit_containers(&pod.spec, |c, path| {
        let field = || path.field("securityContext.runAsNonRoot");
        match c
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_non_root)
        {
            Some(true) => {}
            Some(false) => {
                explicit.push(c.name);
                explicit_errors.push(FieldError::forbidden(field(), BadValue::Bool(false)));
            }
            None if pod_non_root => {}
            None => implicit.add(c.name, [FieldError::required(field())]),
        }
    });
    if !explicit.is_empty() {
        setters.add(containers_phrase(&explicit), explicit_errors);
    }
    let mut details = Vec::new();
    if !setters.is_empty() {
        details.push(format!(
            "{} must not set securityContext.runAsNonRoot=false",
            setters.data.join(" and ")
        ));
    }
    if !implicit.is_empty() {
        details.push(format!(
            "pod or {} must set securityContext.runAsNonRoot=true",
            containers_phrase(&implicit.data)
        ));
    }
    if details.is_empty() {
        return None;
    }
    let mut errors = setters.errors;
    errors.extend(implicit.errors);
    Some(Violation {
        reason: "runAsNonRoot != true",
        detail: details.join("\n"),
        errors,
    })
}

fn v1_35(pod: &Pod<'_>) -> Option<Violation> {
    if pod.spec.in_user_namespace() {
        return None;
    }
    v1_0(pod)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn allowed() {
        let cases = [
            json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a"}]}),
            json!({"containers": [{"name": "a", "securityContext": {"runAsNonRoot": true}}]}),
            json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a", "securityContext": {"runAsNonRoot": true}}]}),
        ];
        for spec in cases {
            assert!(run(v1_0, json!({}), spec).is_none());
        }
    }

    #[test]
    fn forbidden() {
        let spec = json!({
            "securityContext": {"runAsNonRoot": false},
            "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {"runAsNonRoot": false}},
                {"name": "c", "securityContext": {"runAsNonRoot": true}},
                {"name": "d", "securityContext": {}}
            ]
        });
        assert_eq!(
            render(&run(v1_0, json!({}), spec)),
            Some((
                "runAsNonRoot != true".into(),
                "pod and container \"b\" must not set securityContext.runAsNonRoot=false\npod or containers \"a\", \"d\" must set securityContext.runAsNonRoot=true".into(),
                vec![
                    "spec.securityContext.runAsNonRoot is forbidden, forbidden values found: false".into(),
                    "spec.containers[1].securityContext.runAsNonRoot is forbidden, forbidden values found: false".into(),
                    "spec.containers[0].securityContext.runAsNonRoot: Required value".into(),
                    "spec.containers[3].securityContext.runAsNonRoot: Required value".into(),
                ]
            ))
        );
        // Pod-level true does not excuse an explicit container false.
        let spec = json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a", "securityContext": {"runAsNonRoot": false}}]});
        assert_eq!(
            render(&run(v1_0, json!({}), spec)).unwrap().1,
            r#"container "a" must not set securityContext.runAsNonRoot=false"#
        );
    }

    #[test]
    fn user_namespaces_exempt_from_1_35() {
        let spec = json!({"hostUsers": false, "containers": [{"name": "a", "securityContext": {"runAsNonRoot": false}}]});
        assert!(run(v1_0, json!({}), spec.clone()).is_some());
        assert!(run(v1_35, json!({}), spec).is_none());
        let host = json!({"hostUsers": true, "containers": [{"name": "a"}]});
        assert!(run(v1_35, json!({}), host).is_some());
    }
}
