//! Kyverno's autogen for CEL policies: a policy written for Pods also applies to the Pod
//! controllers, with `object.spec` and `object.metadata` read from the Pod template and match
//! conditions guarded by the controller's kind.

use std::collections::BTreeMap;

use crate::api::MatchResources;
use crate::api::admission::{MatchCondition, NamedRuleWithOperations};
use crate::api::kyverno::AutogenConfiguration;

/// A controller autogen can target.
struct Target {
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    cronjob: bool,
}

const TARGETS: &[Target] = &[
    Target {
        group: "apps",
        version: "v1",
        resource: "daemonsets",
        kind: "DaemonSet",
        cronjob: false,
    },
    Target {
        group: "apps",
        version: "v1",
        resource: "deployments",
        kind: "Deployment",
        cronjob: false,
    },
    Target {
        group: "apps",
        version: "v1",
        resource: "replicasets",
        kind: "ReplicaSet",
        cronjob: false,
    },
    Target {
        group: "apps",
        version: "v1",
        resource: "statefulsets",
        kind: "StatefulSet",
        cronjob: false,
    },
    Target {
        group: "batch",
        version: "v1",
        resource: "jobs",
        kind: "Job",
        cronjob: false,
    },
    Target {
        group: "batch",
        version: "v1",
        resource: "cronjobs",
        kind: "CronJob",
        cronjob: true,
    },
];

/// Where the Pod template is in the controllers other than CronJob.
const TEMPLATE: &str = "spec.template";
/// Where it is in a CronJob.
const CRONJOB_TEMPLATE: &str = "spec.jobTemplate.spec.template";

/// One generated variant: its constraints, guarded conditions and how to rewrite expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// `cronjobs` or `defaults`, as Kyverno names the generated policies.
    pub name: &'static str,
    /// The controllers it matches.
    pub match_constraints: MatchResources,
    /// The policy's match conditions, guarded so they apply only to these controllers.
    pub match_conditions: Vec<MatchCondition>,
    /// Where the Pod spec and metadata live in these controllers.
    pub template: &'static str,
}

impl Variant {
    /// Rewrites `object.spec`/`object.metadata` (and `oldObject.…`) to read the template.
    pub fn rewrite(&self, src: &str) -> String {
        rewrite(src, self.template)
    }
}

/// Kyverno's MutatingPolicy autogen for apply configurations: reads of `object.spec` and
/// `Object.spec` move under the template, and a top-level `Object{...}` is wrapped in the
/// controller's template structure.
pub fn apply_configuration(src: &str, cronjob: bool) -> String {
    let template = if cronjob { CRONJOB_TEMPLATE } else { TEMPLATE };
    let expr = read_under(src, template, &["spec"], &["object", "Object"]);
    let trimmed = expr.trim();
    let Some(content) = trimmed.strip_prefix("Object{") else {
        return expr;
    };
    let mut depth = 1usize;
    let mut end = None;
    for (i, c) in content.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(end) = end.filter(|e| *e > 0) else {
        return expr;
    };
    let (inner, rest) = (&content[..end], &content[end + 1..]);
    let (open, close) = if cronjob {
        (
            "Object{spec: Object.spec{jobTemplate: Object.spec.jobTemplate{spec: Object.spec.jobTemplate.spec{template: Object.spec.jobTemplate.spec.template{",
            "}}}}}",
        )
    } else {
        (
            "Object{spec: Object.spec{template: Object.spec.template{",
            "}}}",
        )
    };
    format!("{open}{inner}{close}{rest}")
}

/// Kyverno's textual replacement: `object.spec` → `object.<template>.spec`, then
/// `object.metadata` → `object.<template>.metadata`, for `object` and `oldObject`.
pub fn rewrite(src: &str, template: &str) -> String {
    read_under(
        src,
        template,
        &["spec", "metadata"],
        &["object", "oldObject"],
    )
}

/// Replaces every `root.field` by `root.<template>.field`, field by field and root by root (a
/// later replacement sees what the earlier ones wrote, as Kyverno's chained replacements do).
fn read_under(src: &str, template: &str, fields: &[&str], roots: &[&str]) -> String {
    let mut out = src.to_string();
    for field in fields {
        for root in roots {
            out = out.replace(
                &format!("{root}.{field}"),
                &format!("{root}.{template}.{field}"),
            );
        }
    }
    out
}

/// Kyverno's `CanAutoGen`: exactly one rule for core `v1` `pods`, without names, selectors or
/// exclusions.
pub fn can_autogen(m: Option<&MatchResources>) -> bool {
    let Some(m) = m else { return false };
    let selects = |s: &Option<palisade_api::meta::LabelSelector>| {
        s.as_ref().is_some_and(|s| {
            s.match_labels.as_ref().is_some_and(|l| !l.is_empty())
                || s.match_expressions.as_ref().is_some_and(|e| !e.is_empty())
        })
    };
    if selects(&m.namespace_selector) || selects(&m.object_selector) {
        return false;
    }
    if !m.exclude_resource_rules.is_empty() || m.resource_rules.len() != 1 {
        return false;
    }
    let Some(rule) = m.resource_rules.first() else {
        return false;
    };
    rule.resource_names.is_empty()
        && rule.api_groups == [""]
        && rule.api_versions == ["v1"]
        && rule.resources == ["pods"]
}

/// The variants autogen adds for a policy, in Kyverno's order (`cronjobs`, then `defaults`).
pub fn variants(
    m: Option<&MatchResources>,
    conditions: &[MatchCondition],
    config: Option<&AutogenConfiguration>,
) -> Vec<Variant> {
    if !can_autogen(m) {
        return Vec::new();
    }
    let operations = m
        .and_then(|m| m.resource_rules.first())
        .map(|r| r.operations.clone())
        .unwrap_or_default();
    let selected: Option<&Vec<String>> = config
        .and_then(|c| c.pod_controllers.as_ref())
        .and_then(|p| p.controllers.as_ref());
    let chosen: Vec<&Target> = TARGETS
        .iter()
        .filter(|t| selected.is_none_or(|s| s.iter().any(|c| c == t.resource)))
        .collect();
    let mut out = Vec::new();
    for (name, cronjob, template) in [
        ("cronjobs", true, CRONJOB_TEMPLATE),
        ("defaults", false, TEMPLATE),
    ] {
        let targets: Vec<&Target> = chosen
            .iter()
            .copied()
            .filter(|t| t.cronjob == cronjob)
            .collect();
        if targets.is_empty() || operations.is_empty() {
            continue;
        }
        out.push(Variant {
            name,
            match_constraints: constraints(&targets, &operations),
            match_conditions: guard(name, &targets, conditions),
            template,
        });
    }
    out
}

/// One resource rule per group/version, sorted, as Kyverno builds them.
fn constraints(targets: &[&Target], operations: &[String]) -> MatchResources {
    let mut by_gv: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for t in targets {
        by_gv
            .entry((t.group, t.version))
            .or_default()
            .push(t.resource.to_string());
    }
    let resource_rules = by_gv
        .into_iter()
        .map(|((g, v), mut resources)| {
            resources.sort();
            NamedRuleWithOperations {
                operations: operations.to_vec(),
                api_groups: vec![g.to_string()],
                api_versions: vec![v.to_string()],
                resources,
                ..NamedRuleWithOperations::default()
            }
        })
        .collect();
    MatchResources {
        resource_rules,
        ..MatchResources::default()
    }
}

/// `!(<is one of the targets>) || (<condition>)`, named `autogen[-cronjobs]-<name>`.
fn guard(name: &str, targets: &[&Target], conditions: &[MatchCondition]) -> Vec<MatchCondition> {
    let mut kinds: Vec<String> = targets
        .iter()
        .map(|t| {
            format!(
                "(object.apiVersion == '{}/{}' && object.kind =='{}')",
                t.group, t.version, t.kind
            )
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    let precondition = kinds.join(" || ");
    let prefix = if name.is_empty() {
        "autogen".to_string()
    } else {
        format!("autogen-{name}")
    };
    conditions
        .iter()
        .map(|c| MatchCondition {
            name: format!("{prefix}-{}", c.name),
            expression: format!("!({precondition}) || ({})", c.expression),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pods() -> MatchResources {
        serde_json::from_value(
            json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]}),
        )
        .unwrap()
    }

    #[test]
    fn pod_policies_get_two_variants() {
        let conds = [MatchCondition {
            name: "c".into(),
            expression: "object.metadata.name != 'x'".into(),
        }];
        let v = variants(Some(&pods()), &conds, None);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, "cronjobs");
        assert_eq!(
            v[0].match_constraints.resource_rules[0].resources,
            ["cronjobs"]
        );
        assert_eq!(v[1].match_constraints.resource_rules.len(), 2);
        assert_eq!(
            v[1].match_constraints.resource_rules[0].resources,
            ["daemonsets", "deployments", "replicasets", "statefulsets"]
        );
        assert_eq!(v[1].match_conditions[0].name, "autogen-defaults-c");
        assert!(
            v[1].match_conditions[0]
                .expression
                .starts_with("!((object.apiVersion == 'apps/v1'")
        );
        assert_eq!(
            v[0].rewrite("object.spec.containers + oldObject.metadata.labels"),
            "object.spec.jobTemplate.spec.template.spec.containers + oldObject.spec.jobTemplate.spec.template.metadata.labels"
        );
    }

    #[test]
    fn apply_configurations_wrap_the_template() {
        let src = "Object{metadata: Object.metadata{labels: {'a': 'b'}}, spec: Object.spec{hostNetwork: object.spec.hostNetwork}}";
        assert_eq!(
            apply_configuration(src, false),
            "Object{spec: Object.spec{template: Object.spec.template{metadata: Object.metadata{labels: {'a': 'b'}}, spec: Object.spec.template.spec{hostNetwork: object.spec.template.spec.hostNetwork}}}}"
        );
        assert!(
            apply_configuration(src, true).starts_with("Object{spec: Object.spec{jobTemplate:")
        );
        assert_eq!(apply_configuration("[1]", false), "[1]");
    }

    #[test]
    fn autogen_is_limited() {
        let mut m = pods();
        m.resource_rules[0].resources.push("services".into());
        assert!(!can_autogen(Some(&m)));
        assert!(!can_autogen(None));
        let cfg: AutogenConfiguration =
            serde_json::from_value(json!({"podControllers": {"controllers": ["deployments"]}}))
                .unwrap();
        let v = variants(Some(&pods()), &[], Some(&cfg));
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].match_constraints.resource_rules[0].resources,
            ["deployments"]
        );
        let none: AutogenConfiguration =
            serde_json::from_value(json!({"podControllers": {"controllers": []}})).unwrap();
        assert!(variants(Some(&pods()), &[], Some(&none)).is_empty());
    }
}
