//! What the policy set says about generate and mutate-existing rules: which kinds they
//! generate, which synchronize, which run for existing triggers, and where their downstream
//! resources come from (Kyverno's `generate.kyverno.io/*` labels).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use palisade_admission::PolicySet;
use palisade_api::Rule;
use palisade_engine::CompiledPolicy;
use palisade_engine::generate::labels;

/// A policy's key: `name` for a ClusterPolicy, `namespace/name` for a Policy (Kyverno's).
pub fn find_policy(set: &PolicySet, key: &str) -> Option<Arc<CompiledPolicy>> {
    set.policies().iter().find(|p| p.name() == key).cloned()
}

/// `(namespace, name)` of a policy key.
pub fn split_key(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

/// The rule of that name.
pub fn rule<'a>(policy: &'a CompiledPolicy, name: &str) -> Option<&'a Rule> {
    policy.rules.iter().find(|r| r.name == name)
}

/// True for a generate rule with `synchronize: true`.
pub fn synchronizes(rule: &Rule) -> bool {
    rule.generate
        .as_ref()
        .and_then(|g| g.synchronize)
        .unwrap_or(false)
}

/// True when the rule's downstream goes with its policy (synchronized, not orphaned).
pub fn deleted_with_policy(rule: &Rule) -> bool {
    synchronizes(rule)
        && !rule
            .generate
            .as_ref()
            .and_then(|g| g.orphan_downstream_on_policy_delete)
            .unwrap_or(false)
}

/// True when the rule generates for triggers that existed before the policy.
pub fn generates_existing(policy: &CompiledPolicy, rule: &Rule) -> bool {
    let Some(g) = &rule.generate else {
        return false;
    };
    let spec = &policy.policy.spec;
    g.generate_existing
        .or(spec.generate_existing)
        .or(spec.generate_existing_on_policy_update)
        .unwrap_or(false)
}

/// True for a mutate-existing rule applied to existing triggers when its policy changes.
pub fn mutates_existing_on_policy_update(policy: &CompiledPolicy, rule: &Rule) -> bool {
    let Some(m) = &rule.mutate else {
        return false;
    };
    m.targets.as_ref().is_some_and(|t| !t.is_empty())
        && m.mutate_existing_on_policy_update
            .or(policy.policy.spec.mutate_existing_on_policy_update)
            .unwrap_or(false)
}

/// The `(apiVersion, kind)` pairs a generate rule creates, where they are written without
/// variables (a variable kind cannot be watched in advance).
pub fn downstream_kinds(rule: &Rule) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let Some(g) = &rule.generate else {
        return out;
    };
    let mut add = |api: Option<&String>, kind: Option<&String>| {
        if let (Some(a), Some(k)) = (api, kind)
            && !a.contains("{{")
            && !k.contains("{{")
            && !k.is_empty()
        {
            out.insert((a.clone(), k.clone()));
        }
    };
    add(g.api_version.as_ref(), g.kind.as_ref());
    for f in g.foreach.iter().flatten() {
        add(f.api_version.as_ref(), f.kind.as_ref());
    }
    let lists = g.clone_list.iter().chain(
        g.foreach
            .iter()
            .flatten()
            .filter_map(|f| f.clone_list.as_ref()),
    );
    for list in lists {
        for k in list.kinds.iter().flatten() {
            if let Some((api, kind)) = k.rsplit_once('/') {
                add(Some(&api.to_string()), Some(&kind.to_string()));
            }
        }
    }
    out
}

/// Who generated a downstream resource, from its labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The policy key.
    pub policy: String,
    /// The rule.
    pub rule: String,
    /// The trigger's API group.
    pub trigger_group: String,
    /// The trigger's version.
    pub trigger_version: String,
    /// The trigger's kind.
    pub trigger_kind: String,
    /// The trigger's namespace.
    pub trigger_namespace: String,
    /// The trigger's UID.
    pub trigger_uid: String,
}

impl Origin {
    /// The origin a downstream resource's labels name; `None` without a policy, rule and
    /// trigger.
    pub fn of(labels: &BTreeMap<String, String>) -> Option<Origin> {
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let name = labels.get(labels::POLICY_NAME)?;
        let namespace = get(labels::POLICY_NAMESPACE);
        let origin = Origin {
            policy: if namespace.is_empty() {
                name.clone()
            } else {
                format!("{namespace}/{name}")
            },
            rule: get(labels::RULE_NAME),
            trigger_group: get(labels::TRIGGER_GROUP),
            trigger_version: get(labels::TRIGGER_VERSION),
            trigger_kind: get(labels::TRIGGER_KIND),
            trigger_namespace: get(labels::TRIGGER_NAMESPACE),
            trigger_uid: get(labels::TRIGGER_UID),
        };
        (!origin.rule.is_empty()
            && !origin.trigger_kind.is_empty()
            && !origin.trigger_uid.is_empty())
        .then_some(origin)
    }

    /// The trigger's apiVersion.
    pub fn trigger_api_version(&self) -> String {
        if self.trigger_group.is_empty() {
            self.trigger_version.clone()
        } else {
            format!("{}/{}", self.trigger_group, self.trigger_version)
        }
    }
}

/// The label selector of a rule's downstream resources (the policy namespace is checked on
/// the results: an empty label value cannot be selected reliably).
pub fn selector(policy_key: &str, rule: &str, trigger_uid: Option<&str>) -> String {
    let (_, name) = split_key(policy_key);
    let mut s = format!(
        "{}={name},{}={rule}",
        labels::POLICY_NAME,
        labels::RULE_NAME
    );
    if let Some(uid) = trigger_uid {
        s.push_str(&format!(",{}={uid}", labels::TRIGGER_UID));
    }
    s
}

/// True when a listed object's policy-namespace label is the key's.
pub fn same_policy_namespace(policy_key: &str, labels: &BTreeMap<String, String>) -> bool {
    let (namespace, _) = split_key(policy_key);
    labels
        .get(labels::POLICY_NAMESPACE)
        .map(String::as_str)
        .unwrap_or_default()
        == namespace
}

/// `(policy key, rule)` pairs of `old` whose downstream must go because the rule is gone from
/// `new` (policy deleted, or rule removed) and it synchronizes without orphaning.
pub fn removed_rules(
    old: &PolicySet,
    new: &PolicySet,
) -> Vec<(String, Arc<CompiledPolicy>, String)> {
    let mut out = Vec::new();
    for p in old.policies() {
        let key = p.name();
        let now = find_policy(new, &key);
        for r in p.rules.iter().filter(|r| deleted_with_policy(r)) {
            let kept = now
                .as_ref()
                .is_some_and(|n| rule(n, &r.name).is_some_and(|nr| nr.generate.is_some()));
            if !kept {
                out.push((key.clone(), p.clone(), r.name.clone()));
            }
        }
    }
    out
}

/// Policies of `new` that are new or whose spec changed since `old`.
pub fn changed_policies(old: &PolicySet, new: &PolicySet) -> Vec<Arc<CompiledPolicy>> {
    new.policies()
        .iter()
        .filter(|p| find_policy(old, &p.name()).is_none_or(|o| o.policy.spec != p.policy.spec))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_admission::compile_document;
    use serde_json::{Value, json};

    fn policy(name: &str, rules: Value) -> Value {
        json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": name}, "spec": {"rules": rules}})
    }

    fn gen_rule(name: &str, sync: bool, orphan: bool) -> Value {
        json!({"name": name, "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
            "generate": {"apiVersion": "v1", "kind": "ConfigMap", "name": "c",
                "namespace": "{{ request.object.metadata.name }}",
                "synchronize": sync, "orphanDownstreamOnPolicyDelete": orphan,
                "data": {"data": {"a": "b"}}}})
    }

    fn set(docs: &[Value]) -> PolicySet {
        PolicySet::new(docs.iter().map(|d| compile_document("t", 1, d).unwrap()))
    }

    #[test]
    fn removed_synchronized_rules_lose_their_downstream_unless_orphaned() {
        let old = set(&[
            policy(
                "a",
                json!([
                    gen_rule("sync", true, false),
                    gen_rule("once", false, false)
                ]),
            ),
            policy("b", json!([gen_rule("orphan", true, true)])),
            policy(
                "c",
                json!([
                    gen_rule("kept", true, false),
                    gen_rule("dropped", true, false)
                ]),
            ),
        ]);
        let new = set(&[policy("c", json!([gen_rule("kept", true, false)]))]);
        let got: Vec<(String, String)> = removed_rules(&old, &new)
            .into_iter()
            .map(|(k, _, r)| (k, r))
            .collect();
        assert_eq!(
            got,
            [("a".into(), "sync".into()), ("c".into(), "dropped".into())]
        );
        assert!(removed_rules(&old, &old).is_empty());
        let changed = changed_policies(&new, &old);
        let names: Vec<String> = changed.iter().map(|p| p.name()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(changed_policies(&old, &old).is_empty());
    }

    #[test]
    fn downstream_kinds_skip_variables() {
        let s = set(&[policy(
            "k",
            json!([{
                "name": "r", "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
                "generate": {"namespace": "{{ request.object.metadata.name }}",
                    "cloneList": {"namespace": "default", "kinds": ["v1/Secret", "v1/ConfigMap"]}}
            }, gen_rule("data", true, false), {
                "name": "var", "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
                "generate": {"apiVersion": "v1", "kind": "{{ request.object.kind }}", "name": "x",
                    "namespace": "n", "data": {}}
            }]),
        )]);
        let p = &s.policies()[0];
        let kinds = |r: &str| downstream_kinds(rule(p, r).unwrap());
        assert_eq!(
            kinds("r"),
            [
                ("v1".to_string(), "ConfigMap".to_string()),
                ("v1".into(), "Secret".into())
            ]
            .into()
        );
        assert_eq!(
            kinds("data"),
            [("v1".to_string(), "ConfigMap".to_string())].into()
        );
        assert!(kinds("var").is_empty());
    }

    #[test]
    fn origins_come_from_kyvernos_labels() {
        let mut l: BTreeMap<String, String> = [
            (labels::POLICY_NAME, "p"),
            (labels::POLICY_NAMESPACE, "team"),
            (labels::RULE_NAME, "r"),
            (labels::TRIGGER_GROUP, "apps"),
            (labels::TRIGGER_VERSION, "v1"),
            (labels::TRIGGER_KIND, "Deployment"),
            (labels::TRIGGER_NAMESPACE, "team"),
            (labels::TRIGGER_UID, "u"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let o = Origin::of(&l).unwrap();
        assert_eq!(o.policy, "team/p");
        assert_eq!(o.trigger_api_version(), "apps/v1");
        assert!(same_policy_namespace("team/p", &l));
        assert!(!same_policy_namespace("p", &l));
        assert_eq!(
            selector("team/p", "r", Some("u")),
            "generate.kyverno.io/policy-name=p,generate.kyverno.io/rule-name=r,generate.kyverno.io/trigger-uid=u"
        );
        l.remove(labels::TRIGGER_UID);
        assert_eq!(Origin::of(&l), None);
    }
}
