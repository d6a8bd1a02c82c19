//! `matchConstraints` as the API server evaluates them: namespace and object selectors, then
//! excluded and matched resource rules (operations, groups, versions, resources with
//! subresources, scope, names).

use std::collections::BTreeMap;

use palisade_api::meta::LabelSelector;
use serde_json::Value;

use crate::api::{MatchResources, NamedRuleWithOperations};

/// What matching looks at in a request.
#[derive(Debug, Clone, Default)]
pub struct MatchAttributes {
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: String,
    /// API group of the resource.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource.
    pub resource: String,
    /// Subresource or "".
    pub sub_resource: String,
    /// Object name.
    pub name: String,
    /// Namespace ("" for cluster-scoped resources).
    pub namespace: String,
    /// True when the kind is namespaced.
    pub namespaced: bool,
    /// Labels of the new object (absent for DELETE).
    pub object_labels: Option<BTreeMap<String, String>>,
    /// Labels of the old object (absent for CREATE).
    pub old_object_labels: Option<BTreeMap<String, String>>,
    /// Labels of the request's namespace (for a Namespace request, the object's own).
    pub namespace_labels: BTreeMap<String, String>,
}

/// Labels of an object as a map (non-string values are ignored); `None` when there is no
/// object (null).
pub fn labels_of(object: &Value) -> Option<BTreeMap<String, String>> {
    (!object.is_null()).then(|| palisade_engine::matching::labels_of(object))
}

/// Kubernetes label-selector semantics (no wildcards); an empty selector matches everything.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    by_label
        && selector.match_expressions.iter().flatten().all(|req| {
            let present = labels.get(&req.key);
            match req.operator.as_str() {
                "In" => present.is_some_and(|v| req.values.contains(v)),
                "NotIn" => present.is_none_or(|v| !req.values.contains(v)),
                "Exists" => present.is_some(),
                "DoesNotExist" => present.is_none(),
                _ => false,
            }
        })
}

fn selector_is_empty(s: &LabelSelector) -> bool {
    s.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && s.match_expressions.as_ref().is_none_or(|m| m.is_empty())
}

fn namespace_selected(m: &MatchResources, a: &MatchAttributes) -> bool {
    let Some(sel) = m
        .namespace_selector
        .as_ref()
        .filter(|s| !selector_is_empty(s))
    else {
        return true;
    };
    // Cluster-scoped resources other than namespaces are never exempted.
    if a.namespace.is_empty() && a.resource != "namespaces" {
        return true;
    }
    selector_matches(sel, &a.namespace_labels)
}

fn object_selected(m: &MatchResources, a: &MatchAttributes) -> bool {
    let Some(sel) = m.object_selector.as_ref().filter(|s| !selector_is_empty(s)) else {
        return true;
    };
    let check =
        |l: &Option<BTreeMap<String, String>>| l.as_ref().is_some_and(|l| selector_matches(sel, l));
    check(&a.object_labels) || check(&a.old_object_labels)
}

fn contains_or_star(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == "*" || x == value)
}

fn resource_matches(patterns: &[String], resource: &str, sub: &str) -> bool {
    patterns.iter().any(|p| match p.split_once('/') {
        None => (p == "*" || p == resource) && sub.is_empty(),
        Some(("*", "*")) => true,
        Some(("*", s)) => s == sub,
        // `pods/*` means every subresource of pods, not pods itself.
        Some((r, "*")) => r == resource && !sub.is_empty(),
        Some((r, s)) => r == resource && s == sub,
    })
}

fn scope_matches(scope: Option<&str>, namespaced: bool) -> bool {
    match scope.unwrap_or("*") {
        "Cluster" => !namespaced,
        "Namespaced" => namespaced,
        _ => true,
    }
}

/// Whether one resource rule matches (names included).
pub fn rule_matches(rule: &NamedRuleWithOperations, a: &MatchAttributes) -> bool {
    // The group rejects most rules (autogen's controller variants) and costs the least; the
    // resources, which need splitting, go after the plain comparisons.
    contains_or_star(&rule.api_groups, &a.group)
        && contains_or_star(&rule.api_versions, &a.version)
        && contains_or_star(&rule.operations, &a.operation)
        && resource_matches(&rule.resources, &a.resource, &a.sub_resource)
        && scope_matches(rule.scope.as_deref(), a.namespaced)
        && (rule.resource_names.is_empty() || rule.resource_names.contains(&a.name))
}

/// Whether a request falls under `m`.
pub fn matches(m: &MatchResources, a: &MatchAttributes) -> bool {
    // Rules first: they reject most requests, and more cheaply than selectors.
    let ruled = m.resource_rules.is_empty() || m.resource_rules.iter().any(|r| rule_matches(r, a));
    ruled
        && !m.exclude_resource_rules.iter().any(|r| rule_matches(r, a))
        && namespace_selected(m, a)
        && object_selected(m, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(v: Value) -> MatchResources {
        serde_json::from_value(v).unwrap()
    }

    fn pod() -> MatchAttributes {
        MatchAttributes {
            operation: "CREATE".into(),
            version: "v1".into(),
            resource: "pods".into(),
            name: "web".into(),
            namespace: "prod".into(),
            namespaced: true,
            object_labels: Some([("app".to_string(), "web".to_string())].into()),
            namespace_labels: [("env".to_string(), "prod".to_string())].into(),
            ..MatchAttributes::default()
        }
    }

    #[test]
    fn resource_rules() {
        let cases = [
            (
                json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]}),
                true,
            ),
            (
                json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["pods"]}]}),
                false,
            ),
            (
                json!({"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"]}]}),
                true,
            ),
            (
                json!({"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["pods"]}]}),
                false,
            ),
            (
                json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": ["pods/status"]}]}),
                false,
            ),
            (
                json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": ["pods"], "scope": "Cluster"}]}),
                false,
            ),
            (
                json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": ["pods"], "resourceNames": ["db"]}]}),
                false,
            ),
            (
                json!({"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"]}],
                    "excludeResourceRules": [{"apiGroups": [""], "apiVersions": ["*"], "operations": ["*"], "resources": ["pods"]}]}),
                false,
            ),
            (
                json!({"namespaceSelector": {"matchLabels": {"env": "prod"}}}),
                true,
            ),
            (
                json!({"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}}),
                false,
            ),
            (
                json!({"objectSelector": {"matchLabels": {"app": "db"}}}),
                false,
            ),
        ];
        for (m, want) in cases {
            assert_eq!(matches(&rules(m.clone()), &pod()), want, "{m}");
        }
    }

    #[test]
    fn subresource_patterns() {
        let p = |s: &str| vec![s.to_string()];
        assert!(resource_matches(&p("*/*"), "pods", "status"));
        assert!(resource_matches(&p("pods/*"), "pods", "status"));
        assert!(!resource_matches(&p("pods/*"), "pods", ""));
        assert!(resource_matches(&p("*/*"), "pods", ""));
        assert!(resource_matches(&p("*/status"), "pods", "status"));
        assert!(!resource_matches(&p("*"), "pods", "status"));
        assert!(resource_matches(&p("*"), "pods", ""));
    }

    #[test]
    fn cluster_scoped_resources_ignore_namespace_selectors() {
        let m = rules(json!({"namespaceSelector": {"matchLabels": {"env": "x"}}}));
        let node = MatchAttributes {
            resource: "nodes".into(),
            ..MatchAttributes::default()
        };
        assert!(matches(&m, &node));
    }
}
