//! AppArmor (baseline): the AppArmor profile fields and the deprecated per-container
//! annotations may only select the runtime default or a localhost profile.

use super::helpers::{
    Violation, Violations, forbidden_profile_types, go_quote, join_quote, pluralize,
};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `appArmorProfile`.
pub(crate) struct AppArmorProfile;

static VERSIONS: [VersionedCheck; 1] = [VersionedCheck::new(0, v1_0)];

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

impl Check for AppArmorProfile {
    fn id(&self) -> &'static str {
        "appArmorProfile"
    }
    fn control(&self) -> &'static str {
        "AppArmor"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Overriding or disabling the default AppArmor profile is forbidden: \
         spec.securityContext.appArmorProfile.type and the containers' appArmorProfile.type \
         must be RuntimeDefault, Localhost or undefined, and the annotations \
         container.apparmor.security.beta.kubernetes.io/* must be runtime/default, \
         localhost/*, empty or undefined."
    }
}

fn allowed_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

fn allowed_annotation(v: &str) -> bool {
    v.is_empty() || v == "runtime/default" || v.starts_with("localhost/")
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    let (mut setters, mut bad_values) = forbidden_profile_types(
        pod,
        "appArmorProfile",
        |sc| sc.app_armor_type,
        |sc| sc.app_armor_type,
        allowed_type,
    );
    let annotations = forbidden_annotations(pod);
    if !annotations.is_empty() {
        bad_values.extend(annotations.data.iter().cloned());
        setters.add(
            pluralize("annotation", "annotations", annotations.len()),
            annotations.errors,
        );
    }
    if setters.is_empty() {
        return None;
    }
    Some(Violation {
        reason: pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            bad_values.len(),
        ),
        detail: format!(
            "{} must not set AppArmor profile type to {}",
            setters.data.join(" and "),
            join_quote(&bad_values)
        ),
        errors: setters.errors,
    })
}

/// The deprecated annotations with a forbidden profile, sorted by key (upstream iterates a Go
/// map, so its error order is random; the data strings are sorted).
fn forbidden_annotations(pod: &Pod<'_>) -> Violations {
    let mut bad: Vec<(&str, &str)> = pod
        .meta
        .annotations
        .iter()
        .filter(|(k, v)| k.starts_with(ANNOTATION_PREFIX) && !allowed_annotation(v))
        .copied()
        .collect();
    bad.sort_unstable();
    let mut out = Violations::default();
    for (key, value) in bad {
        let field = format!("metadata.annotations[{key}]");
        out.add(
            format!("{key}={}", go_quote(value)),
            [FieldError::forbidden(field, BadValue::Str(value.into()))],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn allowed() {
        let cases = [
            (
                json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/test": "runtime/default", "env": "prod"}}),
                json!({}),
            ),
            (
                json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/test": "localhost/sec-profile01"}}),
                json!({}),
            ),
            (json!({"annotations": {"env": "dev"}}), json!({})),
            (
                json!({}),
                json!({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}),
            ),
            (
                json!({}),
                json!({"containers": [{"name": "foo", "securityContext": {"appArmorProfile": {"type": "Localhost"}}}]}),
            ),
        ];
        for (meta, spec) in cases {
            assert!(run(v1_0, meta, spec).is_none());
        }
    }

    #[test]
    fn forbidden() {
        let got = render(&run(
            v1_0,
            json!({}),
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}),
        ));
        assert_eq!(
            got,
            Some((
                "forbidden AppArmor profile".into(),
                r#"pod must not set AppArmor profile type to "Unconfined""#.into(),
                vec!["spec.securityContext.appArmorProfile.type is forbidden, forbidden values found: Unconfined".into()]
            ))
        );
        let got = render(&run(
            v1_0,
            json!({}),
            json!({"initContainers": [{"name": "bar", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]}),
        ))
        .unwrap();
        assert_eq!(
            got.1,
            r#"container "bar" must not set AppArmor profile type to "Unconfined""#
        );
        assert_eq!(
            got.2,
            [
                "spec.initContainers[0].securityContext.appArmorProfile.type is forbidden, forbidden values found: Unconfined"
            ]
        );
    }

    #[test]
    fn annotations() {
        let meta = json!({"annotations": {
            "container.apparmor.security.beta.kubernetes.io/": "bogus",
            "container.apparmor.security.beta.kubernetes.io/a": "",
            "container.apparmor.security.beta.kubernetes.io/b": "runtime/default",
            "container.apparmor.security.beta.kubernetes.io/c": "localhost/",
            "container.apparmor.security.beta.kubernetes.io/d": "localhost/foo",
            "container.apparmor.security.beta.kubernetes.io/e": "unconfined",
            "container.apparmor.security.beta.kubernetes.io/f": "unknown"
        }});
        let got = render(&run(v1_0, meta, json!({}))).unwrap();
        assert_eq!(got.0, "forbidden AppArmor profiles");
        assert_eq!(
            got.1,
            concat!(
                r#"annotations must not set AppArmor profile type to "#,
                r#""container.apparmor.security.beta.kubernetes.io/="bogus"", "#,
                r#""container.apparmor.security.beta.kubernetes.io/e="unconfined"", "#,
                r#""container.apparmor.security.beta.kubernetes.io/f="unknown"""#
            )
        );
        assert_eq!(
            got.2,
            [
                "metadata.annotations[container.apparmor.security.beta.kubernetes.io/] is forbidden, forbidden values found: bogus",
                "metadata.annotations[container.apparmor.security.beta.kubernetes.io/e] is forbidden, forbidden values found: unconfined",
                "metadata.annotations[container.apparmor.security.beta.kubernetes.io/f] is forbidden, forbidden values found: unknown",
            ]
        );
    }

    #[test]
    fn pod_containers_and_annotations_combine() {
        let meta = json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/x": "unconfined"}});
        let spec = json!({
            "securityContext": {"appArmorProfile": {}},
            "containers": [{"name": "x", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]
        });
        let got = render(&run(v1_0, meta, spec)).unwrap();
        assert_eq!(
            got.1,
            r#"pod and container "x" and annotation must not set AppArmor profile type to "", "Unconfined", "container.apparmor.security.beta.kubernetes.io/x="unconfined"""#
        );
        assert_eq!(
            got.2.first().unwrap(),
            "spec.securityContext.appArmorProfile.type: Forbidden"
        );
    }
}
