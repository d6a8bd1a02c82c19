//! Seccomp (baseline): a seccomp profile, when set, must be the runtime default or a localhost
//! profile. Before v1.19 the (alpha) annotations are checked, from v1.19 the fields.

use std::collections::BTreeMap;

use super::helpers::{
    Violation, Violations, forbidden_profile_types, go_quote, join_quote, pluralize,
    visit_containers,
};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `seccompProfile_baseline`.
pub(crate) struct SeccompProfileBaseline;

static VERSIONS: [VersionedCheck; 2] =
    [VersionedCheck::new(0, v1_0), VersionedCheck::new(19, v1_19)];

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

impl Check for SeccompProfileBaseline {
    fn id(&self) -> &'static str {
        "seccompProfile_baseline"
    }
    fn control(&self) -> &'static str {
        "Seccomp"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "If a seccomp profile is set it must be RuntimeDefault or Localhost \
         (spec.securityContext.seccompProfile.type and the containers'); before v1.19 the \
         seccomp.security.alpha.kubernetes.io annotations must be runtime/default, \
         docker/default or localhost/*."
    }
}

/// Upstream `validSeccomp`.
pub(crate) fn valid_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

fn valid_annotation(v: &str) -> bool {
    v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
}

fn annotation<'a>(pod: &Pod<'a>, key: &str) -> Option<&'a str> {
    pod.meta
        .annotations
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    // Keyed by the forbidden `key="value"` text, so a container listed twice counts once; upstream
    // iterates a Go map, this iterates in key order.
    let mut forbidden: BTreeMap<String, Vec<FieldError>> = BTreeMap::new();
    let mut note = |key: &str, value: &str| {
        let field = format!("metadata.annotations[{key}]");
        forbidden
            .entry(format!("{key}={}", go_quote(value)))
            .or_default()
            .push(FieldError::forbidden(field, BadValue::Str(value.into())));
    };
    if let Some(value) = annotation(pod, POD_ANNOTATION).filter(|v| !valid_annotation(v)) {
        note(POD_ANNOTATION, value);
    }
    visit_containers(&pod.spec, |c, _| {
        let key = format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name);
        if let Some(value) = annotation(pod, &key).filter(|v| !valid_annotation(v)) {
            note(&key, value);
        }
    });
    if forbidden.is_empty() {
        return None;
    }
    let mut setters = Violations::default();
    for (value, errors) in forbidden {
        setters.add(value, errors);
    }
    Some(Violation {
        reason: "seccompProfile",
        detail: format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", setters.len()),
            setters.data.join(", ")
        ),
        errors: setters.errors,
    })
}

fn v1_19(pod: &Pod<'_>) -> Option<Violation> {
    let (setters, bad_values) = forbidden_profile_types(
        pod,
        "seccompProfile",
        |sc| sc.seccomp_type,
        |sc| sc.seccomp_type,
        valid_type,
    );
    if setters.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "seccompProfile",
        detail: format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters.data.join(" and "),
            join_quote(&bad_values)
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
    fn fields_from_1_19() {
        let ok = json!({
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "a", "securityContext": {"seccompProfile": {"type": "Localhost"}}}, {"name": "b"}]
        });
        assert!(run(v1_19, json!({}), ok).is_none());
        let bad = json!({
            "securityContext": {"seccompProfile": {"type": "Unconfined"}},
            "containers": [{"name": "a", "securityContext": {"seccompProfile": {}}}]
        });
        assert_eq!(
            render(&run(v1_19, json!({}), bad)),
            Some((
                "seccompProfile".into(),
                r#"pod and container "a" must not set securityContext.seccompProfile.type to "", "Unconfined""#.into(),
                vec![
                    "spec.securityContext.seccompProfile.type is forbidden, forbidden values found: Unconfined".into(),
                    "spec.containers[0].securityContext.seccompProfile.type: Forbidden".into(),
                ]
            ))
        );
    }

    #[test]
    fn annotations_before_1_19() {
        let meta = json!({"annotations": {
            "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
            "container.seccomp.security.alpha.kubernetes.io/a": "docker/default",
            "container.seccomp.security.alpha.kubernetes.io/b": "bad"
        }});
        let spec = json!({"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "b"}]});
        assert_eq!(
            render(&run(v1_0, meta.clone(), spec.clone())),
            Some((
                "seccompProfile".into(),
                r#"forbidden annotations container.seccomp.security.alpha.kubernetes.io/b="bad", seccomp.security.alpha.kubernetes.io/pod="unconfined""#.into(),
                vec![
                    "metadata.annotations[container.seccomp.security.alpha.kubernetes.io/b] is forbidden, forbidden values found: bad".into(),
                    "metadata.annotations[container.seccomp.security.alpha.kubernetes.io/b] is forbidden, forbidden values found: bad".into(),
                    "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod] is forbidden, forbidden values found: unconfined".into(),
                ]
            ))
        );
        // The fields are not looked at before 1.19, nor the annotations after.
        assert!(run(v1_19, meta, spec).is_none());
        let fields = json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}});
        assert!(run(v1_0, json!({}), fields).is_none());
    }
}
