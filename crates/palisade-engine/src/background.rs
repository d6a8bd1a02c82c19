//! Kyverno's load-time check for policies that run in background scans.
//!
//! A background scan has no admission request, so it knows no requester. Kyverno therefore
//! refuses a policy with `background: true` (the default) whose rules match or exclude by
//! `roles`, `clusterRoles` or `subjects`, or whose variables read `request.userInfo`,
//! `request.roles`, `request.clusterRoles`, `serviceAccountName` or `serviceAccountNamespace`;
//! its message tells the author to set `spec.background: false`. Rules that mutate existing
//! resources are exempt from the variable check, as in Kyverno.

use std::sync::LazyLock;

use palisade_api::matching::{MatchResources, ResourceFilter};
use palisade_api::{Policy, Rule};
use regex::Regex;
use serde_json::Value;

use crate::policy::CompileError;

const PREFIX: &str = "only select variables are allowed in background mode. \
Set spec.background=false to disable background mode for this policy rule";

/// `{{ ... }}` occurrences that are not escaped with a backslash (Kyverno's variable regex).
static VARIABLE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})").ok());

/// What a background scan cannot answer. The character before must not be a dot, so that
/// `request.object.spec.serviceAccountName` stays allowed.
static FORBIDDEN: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"[^.]serviceAccountName\b",
        r"[^.]serviceAccountNamespace\b",
        r"[^.]request.userInfo\b",
        r"[^.]request.roles\b",
        r"[^.]request.clusterRoles\b",
    ]
    .into_iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// Checks `policy` (with its autogen `rules`) for what a background scan cannot evaluate.
/// Policies with `background: false` always pass.
pub fn check(policy: &Policy, rules: &[Rule]) -> Result<(), CompileError> {
    if policy.spec.background == Some(false) {
        return Ok(());
    }
    for (i, rule) in rules.iter().enumerate() {
        user_filters(&rule.match_, &format!("spec.rules[{i}].match"))?;
        if let Some(e) = &rule.exclude {
            user_filters(e, &format!("spec.rules[{i}].exclude"))?;
        }
    }
    if policy.spec.rules.iter().any(|r| {
        r.mutate
            .as_ref()
            .and_then(|m| m.targets.as_ref())
            .is_some_and(|t| !t.is_empty())
    }) {
        return Ok(());
    }
    let Ok(mut doc) = serde_json::to_value(policy) else {
        return Ok(());
    };
    // Neither the last applied configuration nor the status is part of what runs.
    if let Some(o) = doc.as_object_mut() {
        o.remove("status");
    }
    if let Some(a) = doc
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    let mut found = None;
    walk(&doc, &mut String::new(), &mut found);
    match found {
        Some((path, var)) => Err(CompileError {
            path,
            message: format!("{PREFIX}: variable {var} is not allowed"),
        }),
        None => Ok(()),
    }
}

fn user_filters(m: &MatchResources, path: &str) -> Result<(), CompileError> {
    let legacy = user_field(
        m.roles.as_deref(),
        m.cluster_roles.as_deref(),
        m.subjects.as_ref().is_some_and(|s| !s.is_empty()),
    );
    if let Some(field) = legacy {
        return Err(forbidden_filter(format!("{path}.{field}")));
    }
    for (list, name) in [(&m.any, "any"), (&m.all, "all")] {
        for (j, f) in list.iter().flatten().enumerate() {
            if let Some(field) = filter_field(f) {
                return Err(forbidden_filter(format!("{path}.{name}[{j}].{field}")));
            }
        }
    }
    Ok(())
}

fn filter_field(f: &ResourceFilter) -> Option<&'static str> {
    user_field(
        f.roles.as_deref(),
        f.cluster_roles.as_deref(),
        f.subjects.as_ref().is_some_and(|s| !s.is_empty()),
    )
}

/// Kyverno names the first of roles, clusterRoles and subjects that is set.
fn user_field(
    roles: Option<&[String]>,
    cluster_roles: Option<&[String]>,
    subjects: bool,
) -> Option<&'static str> {
    if roles.is_some_and(|r| !r.is_empty()) {
        Some("roles")
    } else if cluster_roles.is_some_and(|r| !r.is_empty()) {
        Some("clusterRoles")
    } else if subjects {
        Some("subjects")
    } else {
        None
    }
}

fn forbidden_filter(path: String) -> CompileError {
    let slashes = path.replace('.', "/");
    CompileError {
        message: format!("{PREFIX}: invalid variable used at path: {slashes}"),
        path,
    }
}

/// Finds the first forbidden variable in document order, with the field path of its string.
fn walk(v: &Value, path: &mut String, found: &mut Option<(String, String)>) {
    if found.is_some() {
        return;
    }
    match v {
        Value::String(s) => {
            if let Some(var) = forbidden_variable(s) {
                *found = Some((path.clone(), var));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, found);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if let Some(var) = forbidden_variable(k) {
                    *found = Some((path.clone(), var));
                    return;
                }
                walk(item, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn forbidden_variable(s: &str) -> Option<String> {
    if !s.contains("{{") {
        return None;
    }
    let re = VARIABLE.as_ref()?;
    re.captures_iter(s)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str())
        .find(|var| FORBIDDEN.iter().any(|f| f.is_match(var)))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(background: Option<bool>, rule: Value) -> (Policy, Vec<Rule>) {
        let mut doc = serde_json::json!({
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": {"name": "p"},
            "spec": {"rules": [rule]}
        });
        if let Some(b) = background {
            doc["spec"]["background"] = Value::Bool(b);
        }
        let p: Policy = serde_json::from_value(doc).unwrap();
        let rules = p.spec.rules.clone();
        (p, rules)
    }

    fn rule(matcher: Value, message: &str) -> Value {
        serde_json::json!({
            "name": "r",
            "match": matcher,
            "validate": {"message": message, "pattern": {"metadata": {"name": "?*"}}}
        })
    }

    fn pods() -> Value {
        serde_json::json!({"any": [{"resources": {"kinds": ["Pod"]}}]})
    }

    #[test]
    fn forbidden_variables_are_found_with_their_path() {
        for (message, bad) in [
            (
                "by {{request.userInfo.username}}",
                Some("{{request.userInfo.username}}"),
            ),
            (
                "sa {{ serviceAccountName }}",
                Some("{{ serviceAccountName }}"),
            ),
            (
                "{{ to_string(request.roles) }}",
                Some("{{ to_string(request.roles) }}"),
            ),
            ("ok {{request.object.spec.serviceAccountName}}", None),
            ("escaped \\{{request.userInfo}}", None),
            ("plain request.userInfo", None),
        ] {
            let (p, rules) = policy(None, rule(pods(), message));
            let got = check(&p, &rules);
            match bad {
                Some(var) => {
                    let e = got.expect_err(message);
                    assert_eq!(e.path, "spec.rules[0].validate.message");
                    assert!(
                        e.message
                            .ends_with(&format!("variable {var} is not allowed")),
                        "{}",
                        e.message
                    );
                    assert!(
                        e.message
                            .starts_with("only select variables are allowed in background mode")
                    );
                }
                None => assert!(got.is_ok(), "{message}: {got:?}"),
            }
        }
    }

    #[test]
    fn background_false_allows_everything() {
        let (p, rules) = policy(Some(false), rule(pods(), "{{request.userInfo.username}}"));
        assert!(check(&p, &rules).is_ok());
    }

    #[test]
    fn user_filters_in_match_or_exclude_are_refused() {
        let m = serde_json::json!({"any": [
            {"resources": {"kinds": ["Pod"]}},
            {"resources": {"kinds": ["Pod"]}, "clusterRoles": ["admin"]}
        ]});
        let (p, rules) = policy(Some(true), rule(m, "m"));
        let e = check(&p, &rules).unwrap_err();
        assert_eq!(e.path, "spec.rules[0].match.any[1].clusterRoles");
        assert!(
            e.message.ends_with(
                "invalid variable used at path: spec/rules[0]/match/any[1]/clusterRoles"
            )
        );
        let legacy = serde_json::json!({"resources": {"kinds": ["Pod"]}, "subjects": [{"kind": "User", "name": "x"}]});
        let (p, rules) = policy(None, rule(legacy, "m"));
        assert_eq!(
            check(&p, &rules).unwrap_err().path,
            "spec.rules[0].match.subjects"
        );
    }
}
