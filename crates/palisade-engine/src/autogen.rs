//! Autogen: rules written for Pods also apply to the Pod controllers, as Kyverno generates
//! them (`autogen-<rule>` for Deployment, DaemonSet, ..., `autogen-cronjob-<rule>` for CronJob).

use palisade_api::matching::{MatchResources, ResourceDescription};
use palisade_api::{Policy, Rule};
use serde_json::{Value, json};

/// The annotation that selects the controllers.
pub const ANNOTATION: &str = "pod-policies.kyverno.io/autogen-controllers";

const DEFAULT_CONTROLLERS: &[&str] = &[
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
];

/// The controllers autogen applies to for this policy, CronJob included when selected.
pub fn controllers(policy: &Policy) -> Vec<String> {
    if !can_autogen(policy) {
        return Vec::new();
    }
    match policy
        .metadata
        .annotations
        .get(ANNOTATION)
        .map(String::as_str)
    {
        None | Some("all") => {
            let mut all: Vec<String> = DEFAULT_CONTROLLERS.iter().map(|s| s.to_string()).collect();
            all.push("CronJob".to_string());
            all
        }
        Some("none") | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

/// Kyverno's `CanAutoGen`: no generate rules or JSON patches, no name/selector/annotation
/// filters, Pod not mixed with other kinds, and at least one rule matching Pods.
fn can_autogen(policy: &Policy) -> bool {
    let mut needed = false;
    for rule in &policy.spec.rules {
        if rule.generate.is_some() {
            return false;
        }
        if let Some(m) = &rule.mutate {
            let json_patch = m.patches_json6902.as_ref().is_some_and(|p| !p.is_empty())
                || m.foreach
                    .iter()
                    .flatten()
                    .any(|f| f.patches_json6902.as_ref().is_some_and(|p| !p.is_empty()));
            if json_patch {
                return false;
            }
        }
        for block in std::iter::once(&rule.match_).chain(rule.exclude.as_ref()) {
            for d in descriptions(block) {
                if d.name.as_ref().is_some_and(|n| !n.is_empty())
                    || d.names.as_ref().is_some_and(|n| !n.is_empty())
                    || d.selector.is_some()
                    || d.annotations.as_ref().is_some_and(|a| !a.is_empty())
                {
                    return false;
                }
                let kinds = d.kinds.as_deref().unwrap_or_default();
                if kinds.len() > 1 && kinds.iter().any(|k| k == "Pod") {
                    return false;
                }
                needed |= kinds.iter().any(|k| k == "Pod");
            }
        }
    }
    needed
}

fn descriptions(m: &MatchResources) -> Vec<&ResourceDescription> {
    let mut out: Vec<&ResourceDescription> = m.resources.iter().collect();
    out.extend(m.any.iter().flatten().map(|f| &f.resources));
    out.extend(m.all.iter().flatten().map(|f| &f.resources));
    out
}

fn kinds_of(m: &MatchResources) -> Vec<String> {
    descriptions(m)
        .into_iter()
        .flat_map(|d| d.kinds.clone().unwrap_or_default())
        .collect()
}

/// The rules autogen adds for `rule`, given the selected controllers.
pub fn generate(rule: &Rule, controllers: &[String]) -> Vec<Rule> {
    if rule.name.starts_with("autogen-") || controllers.is_empty() {
        return Vec::new();
    }
    let match_kinds = kinds_of(&rule.match_);
    let exclude_kinds = rule.exclude.as_ref().map(kinds_of).unwrap_or_default();
    if !match_kinds.iter().any(|k| k == "Pod")
        || (!exclude_kinds.is_empty() && !exclude_kinds.iter().any(|k| k == "Pod"))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    let plain: Vec<String> = controllers
        .iter()
        .filter(|c| *c != "CronJob")
        .cloned()
        .collect();
    if !plain.is_empty()
        && let Some(r) = transform(
            rule,
            &format!("autogen-{}", rule.name),
            &plain,
            Target::Template,
        )
    {
        out.push(r);
    }
    if controllers.iter().any(|c| c == "CronJob")
        && let Some(r) = transform(
            rule,
            &format!("autogen-cronjob-{}", rule.name),
            &["CronJob".to_string()],
            Target::CronJob,
        )
    {
        out.push(r);
    }
    out
}

#[derive(Clone, Copy)]
enum Target {
    Template,
    CronJob,
}

impl Target {
    fn wrap(self, pattern: &Value) -> Value {
        match self {
            Target::Template => json!({"spec": {"template": pattern}}),
            Target::CronJob => json!({"spec": {"jobTemplate": {"spec": {"template": pattern}}}}),
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Target::Template => "spec.template",
            Target::CronJob => "spec.jobTemplate.spec.template",
        }
    }
}

fn transform(rule: &Rule, name: &str, kinds: &[String], target: Target) -> Option<Rule> {
    let mut new = rule.clone();
    new.name = name.to_string();
    replace_pod_kinds(&mut new.match_, kinds);
    if let Some(e) = new.exclude.as_mut() {
        replace_pod_kinds(e, kinds);
    }
    if let Some(v) = new.validate.as_mut() {
        if let Some(p) = v.pattern.as_ref() {
            v.pattern = Some(target.wrap(p));
        }
        if let Some(Value::Array(items)) = v.any_pattern.as_ref() {
            v.any_pattern = Some(Value::Array(items.iter().map(|p| target.wrap(p)).collect()));
        }
    }
    if let Some(m) = new.mutate.as_mut() {
        wrap_mutation(m, target);
    }
    // Variables that read the Pod read the template instead (Kyverno rewrites the rule's JSON).
    let mut value = serde_json::to_value(&new).ok()?;
    rewrite_strings(&mut value, target.prefix());
    let mut rewritten: Rule = serde_json::from_value(value).ok()?;
    // Patterns were wrapped already; restore them so their text is not rewritten twice.
    if let (Some(v), Some(orig)) = (rewritten.validate.as_mut(), new.validate.as_ref()) {
        v.pattern = orig.pattern.clone();
        v.any_pattern = orig.any_pattern.clone();
        v.pod_security = orig.pod_security.clone();
    }
    rewritten.match_ = new.match_;
    rewritten.exclude = new.exclude;
    Some(rewritten)
}

/// Moves a mutation's patches under the Pod template. As in Kyverno, a foreach block keeps only
/// its list, context and preconditions besides the wrapped patch (`order` and nested blocks are
/// dropped; autogen is off for JSON patches).
fn wrap_mutation(m: &mut palisade_api::mutate::Mutation, target: Target) {
    if let Some(p) = m.patch_strategic_merge.as_ref() {
        *m = palisade_api::mutate::Mutation {
            patch_strategic_merge: Some(target.wrap(p)),
            ..Default::default()
        };
        return;
    }
    if let Some(blocks) = m.foreach.as_ref().filter(|b| !b.is_empty()) {
        let wrapped = blocks
            .iter()
            .map(|f| palisade_api::mutate::ForEachMutation {
                list: f.list.clone(),
                context: f.context.clone(),
                preconditions: f.preconditions.clone(),
                patch_strategic_merge: Some(
                    target.wrap(f.patch_strategic_merge.as_ref().unwrap_or(&Value::Null)),
                ),
                ..Default::default()
            })
            .collect();
        *m = palisade_api::mutate::Mutation {
            foreach: Some(wrapped),
            ..Default::default()
        };
    }
}

fn replace_pod_kinds(m: &mut MatchResources, kinds: &[String]) {
    let fix = |d: &mut ResourceDescription| {
        if d.kinds
            .as_ref()
            .is_some_and(|k| k.iter().any(|k| k == "Pod"))
        {
            d.kinds = Some(kinds.to_vec());
        }
    };
    if let Some(d) = m.resources.as_mut() {
        fix(d);
    }
    for f in m.any.iter_mut().flatten() {
        fix(&mut f.resources);
    }
    for f in m.all.iter_mut().flatten() {
        fix(&mut f.resources);
    }
}

fn rewrite_strings(v: &mut Value, prefix: &str) {
    match v {
        Value::String(s) if s.contains("request.object") || s.contains("request.oldObject") => {
            *s = rewrite(s, prefix);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_strings(i, prefix)),
        Value::Object(map) => map.values_mut().for_each(|i| rewrite_strings(i, prefix)),
        _ => {}
    }
}

fn rewrite(s: &str, prefix: &str) -> String {
    let mut out = s.to_string();
    for obj in ["request.object", "request.oldObject"] {
        for field in ["spec", "metadata"] {
            let from = format!("{obj}.{field}");
            let to = format!("{obj}.{prefix}.{field}");
            out = replace_token(&out, &from, &to);
        }
    }
    out
}

/// Replaces `from` where it is not followed by an identifier character, so that
/// `request.object.specs` is left alone.
fn replace_token(s: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(from) {
        let after = &rest[i + from.len()..];
        out.push_str(&rest[..i]);
        if after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml_json: Value) -> Policy {
        serde_json::from_value(yaml_json).unwrap()
    }

    fn pod_policy(annotations: Value) -> Policy {
        policy(json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "p", "annotations": annotations},
            "spec": {"rules": [{
                "name": "check",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "preconditions": {"all": [{"key": "{{ request.object.metadata.name }}", "operator": "Equals", "value": "x"}]},
                "validate": {"message": "m", "pattern": {"spec": {"hostPID": "false"}}}
            }]}
        }))
    }

    #[test]
    fn default_controllers_generate_two_rules() {
        let p = pod_policy(json!({}));
        let c = controllers(&p);
        let rules = generate(&p.spec.rules[0], &c);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].name, "autogen-check");
        assert_eq!(rules[1].name, "autogen-cronjob-check");
        let v = rules[0].validate.as_ref().unwrap();
        assert_eq!(
            v.pattern,
            Some(json!({"spec": {"template": {"spec": {"hostPID": "false"}}}}))
        );
        let pre = serde_json::to_string(&rules[1].preconditions).unwrap();
        assert!(
            pre.contains("request.object.spec.jobTemplate.spec.template.metadata.name"),
            "{pre}"
        );
        let kinds = rules[1].match_.any.as_ref().unwrap()[0]
            .resources
            .kinds
            .clone()
            .unwrap();
        assert_eq!(kinds, vec!["CronJob"]);
    }

    #[test]
    fn annotation_narrows_or_disables() {
        assert!(controllers(&pod_policy(json!({ANNOTATION: "none"}))).is_empty());
        let p = pod_policy(json!({ANNOTATION: "Deployment"}));
        let rules = generate(&p.spec.rules[0], &controllers(&p));
        assert_eq!(rules.len(), 1);
        assert_eq!(
            rules[0].match_.any.as_ref().unwrap()[0]
                .resources
                .kinds
                .clone()
                .unwrap(),
            vec!["Deployment"]
        );
    }

    #[test]
    fn name_filters_disable_autogen() {
        let mut p = pod_policy(json!({}));
        p.spec.rules[0].match_.any.as_mut().unwrap()[0]
            .resources
            .names = Some(vec!["x".into()]);
        assert!(controllers(&p).is_empty());
    }

    #[test]
    fn token_replacement_respects_boundaries() {
        assert_eq!(
            rewrite("request.object.spec.containers", "spec.template"),
            "request.object.spec.template.spec.containers"
        );
        assert_eq!(
            rewrite("request.object.specs", "spec.template"),
            "request.object.specs"
        );
    }
}
