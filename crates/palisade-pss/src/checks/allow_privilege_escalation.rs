//! Privilege Escalation (restricted): `allowPrivilegeEscalation` must be `false`.

use super::helpers::{Violation, Violations, containers_phrase, visit_containers};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::Pod;

/// Upstream `allowPrivilegeEscalation`.
pub(crate) struct AllowPrivilegeEscalation;

static VERSIONS: [VersionedCheck; 2] = [
    VersionedCheck::new(8, v1_8),
    // From 1.25 windows pods are exempt: the API rejects the field on them.
    VersionedCheck::new(25, v1_25),
];

impl Check for AllowPrivilegeEscalation {
    fn id(&self) -> &'static str {
        "allowPrivilegeEscalation"
    }
    fn control(&self) -> &'static str {
        "Privilege Escalation"
    }
    fn level(&self) -> Level {
        Level::Restricted
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Privilege escalation (such as via set-user-ID or set-group-ID file mode) must not be \
         allowed: spec.{initContainers,containers,ephemeralContainers}[*].securityContext.\
         allowPrivilegeEscalation must be false. Windows pods are exempt from v1.25."
    }
}

fn v1_8(pod: &Pod<'_>) -> Option<Violation> {
    let mut bad = Violations::default();
    visit_containers(&pod.spec, |c, path| {
        let field = path.field("securityContext.allowPrivilegeEscalation");
        let error = match &c.security_context {
            None => FieldError::required(field),
            Some(sc) => match sc.allow_privilege_escalation {
                None => FieldError::forbidden(field, BadValue::Str("nil".into())),
                Some(true) => FieldError::forbidden(field, BadValue::Bool(true)),
                Some(false) => return,
            },
        };
        bad.add(c.name, [error]);
    });
    if bad.is_empty() {
        return None;
    }
    Some(Violation {
        reason: "allowPrivilegeEscalation != false",
        detail: format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_phrase(&bad.data)
        ),
        errors: bad.errors,
    })
}

fn v1_25(pod: &Pod<'_>) -> Option<Violation> {
    if pod.spec.is_windows() {
        return None;
    }
    v1_8(pod)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::test_support::{render, run};

    #[test]
    fn table() {
        let multi = json!({"containers": [
            {"name": "a"},
            {"name": "b", "securityContext": {}},
            {"name": "c", "securityContext": {"allowPrivilegeEscalation": true}},
            {"name": "d", "securityContext": {"allowPrivilegeEscalation": false}}
        ]});
        let detail =
            r#"containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false"#;
        let errors = vec![
            "spec.containers[0].securityContext.allowPrivilegeEscalation: Required value".to_string(),
            "spec.containers[1].securityContext.allowPrivilegeEscalation is forbidden, forbidden values found: nil".into(),
            "spec.containers[2].securityContext.allowPrivilegeEscalation is forbidden, forbidden values found: true".into(),
        ];
        for f in [v1_8, v1_25] {
            let got = render(&run(f, json!({}), multi.clone()));
            assert_eq!(
                got,
                Some((
                    "allowPrivilegeEscalation != false".into(),
                    detail.into(),
                    errors.clone()
                ))
            );
        }
        let windows = json!({"os": {"name": "windows"}, "containers": [{"name": "a"}]});
        assert!(run(v1_8, json!({}), windows.clone()).is_some());
        assert!(run(v1_25, json!({}), windows).is_none());
        let linux = json!({"os": {"name": "linux"}, "initContainers": [{"name": "i"}]});
        let got = render(&run(v1_25, json!({}), linux)).unwrap();
        assert_eq!(
            got.1,
            r#"container "i" must set securityContext.allowPrivilegeEscalation=false"#
        );
        assert_eq!(
            got.2,
            ["spec.initContainers[0].securityContext.allowPrivilegeEscalation: Required value"]
        );
    }
}
