//! SELinux (baseline): the SELinux type is limited to container types, and custom users or
//! roles are forbidden.

use super::helpers::{
    Violation, Violations, containers_phrase, insert_sorted, join_quote, pluralize,
    visit_containers,
};
use super::{Check, VersionedCheck};
use crate::field::{BadValue, FieldError};
use crate::level::Level;
use crate::model::{Pod, SeLinuxOptions as Options};

/// Upstream `seLinuxOptions`.
pub(crate) struct SeLinuxOptions;

static VERSIONS: [VersionedCheck; 2] = [
    VersionedCheck::new(0, v1_0),
    // 1.31 allows container_engine_t.
    VersionedCheck::new(31, v1_31),
];

const TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

impl Check for SeLinuxOptions {
    fn id(&self) -> &'static str {
        "seLinuxOptions"
    }
    fn control(&self) -> &'static str {
        "SELinux"
    }
    fn level(&self) -> Level {
        Level::Baseline
    }
    fn versions(&self) -> &'static [VersionedCheck] {
        &VERSIONS
    }
    fn doc(&self) -> &'static str {
        "Setting the SELinux type is restricted and a custom SELinux user or role is forbidden: \
         seLinuxOptions.type (pod and containers) must be empty, container_t, \
         container_init_t, container_kvm_t or (from v1.31) container_engine_t; \
         seLinuxOptions.user and .role must be empty."
    }
}

fn v1_0(pod: &Pod<'_>) -> Option<Violation> {
    check(pod, TYPES_1_0)
}

fn v1_31(pod: &Pod<'_>) -> Option<Violation> {
    check(pod, TYPES_1_31)
}

/// What is wrong with one `seLinuxOptions`.
#[derive(Default)]
struct Findings {
    types: Vec<String>,
    set_user: bool,
    set_role: bool,
}

/// Field errors for `options` under `prefix` (`spec.securityContext` or a container's).
fn validate(
    options: &Options<'_>,
    prefix: &str,
    allowed: &[&str],
    findings: &mut Findings,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut forbid = |name: &str, value: &str| {
        let field = format!("{prefix}.seLinuxOptions.{name}");
        errors.push(FieldError::forbidden(field, BadValue::Str(value.into())));
    };
    if !allowed.contains(&options.type_) {
        insert_sorted(&mut findings.types, options.type_);
        forbid("type", options.type_);
    }
    if !options.user.is_empty() {
        findings.set_user = true;
        forbid("user", options.user);
    }
    if !options.role.is_empty() {
        findings.set_role = true;
        forbid("role", options.role);
    }
    errors
}

fn check(pod: &Pod<'_>, allowed: &[&str]) -> Option<Violation> {
    let mut findings = Findings::default();
    let mut setters = Violations::default();
    if let Some(options) = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.se_linux.as_ref())
    {
        let errors = validate(options, "spec.securityContext", allowed, &mut findings);
        if !errors.is_empty() {
            setters.add("pod", errors);
        }
    }
    let mut containers = Vec::new();
    let mut container_errors = Vec::new();
    visit_containers(&pod.spec, |c, path| {
        if let Some(options) = c
            .security_context
            .as_ref()
            .and_then(|sc| sc.se_linux.as_ref())
        {
            let prefix = path.field("securityContext");
            let errors = validate(options, &prefix, allowed, &mut findings);
            if !errors.is_empty() {
                containers.push(c.name);
                container_errors.extend(errors);
            }
        }
    });
    if !containers.is_empty() {
        setters.add(containers_phrase(&containers), container_errors);
    }
    if setters.is_empty() {
        return None;
    }
    let mut bad_data = Vec::new();
    if !findings.types.is_empty() {
        bad_data.push(format!(
            "{} {}",
            pluralize("type", "types", findings.types.len()),
            join_quote(&findings.types)
        ));
    }
    if findings.set_user {
        bad_data.push("user may not be set".to_string());
    }
    if findings.set_role {
        bad_data.push("role may not be set".to_string());
    }
    Some(Violation {
        reason: "seLinuxOptions",
        detail: format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters.data.join(" and "),
            bad_data.join("; ")
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
    fn allowed() {
        for t in ["", "container_t", "container_init_t", "container_kvm_t"] {
            let spec =
                json!({"securityContext": {"seLinuxOptions": {"type": t, "level": "s0:c1"}}});
            assert!(run(v1_0, json!({}), spec).is_none(), "{t}");
        }
        let engine = json!({"containers": [{"name": "a", "securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}]});
        assert!(run(v1_0, json!({}), engine.clone()).is_some());
        assert!(run(v1_31, json!({}), engine).is_none());
    }

    #[test]
    fn forbidden() {
        let spec = json!({
            "securityContext": {"seLinuxOptions": {"type": "foo", "user": "u"}},
            "containers": [
                {"name": "a", "securityContext": {"seLinuxOptions": {"role": "r"}}},
                {"name": "b", "securityContext": {"seLinuxOptions": {"type": "bar"}}}
            ]
        });
        assert_eq!(
            render(&run(v1_31, json!({}), spec)),
            Some((
                "seLinuxOptions".into(),
                r#"pod and containers "a", "b" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; user may not be set; role may not be set"#.into(),
                vec![
                    "spec.securityContext.seLinuxOptions.type is forbidden, forbidden values found: foo".into(),
                    "spec.securityContext.seLinuxOptions.user is forbidden, forbidden values found: u".into(),
                    "spec.containers[0].securityContext.seLinuxOptions.role is forbidden, forbidden values found: r".into(),
                    "spec.containers[1].securityContext.seLinuxOptions.type is forbidden, forbidden values found: bar".into(),
                ]
            ))
        );
    }
}
