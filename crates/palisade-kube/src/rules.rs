//! What each loaded policy needs from the webhook configurations: which kinds, which
//! operations, validating or mutating, Fail or Ignore, and the timeout.

use std::collections::BTreeSet;

use palisade_api::matching::{MatchResources, ResourceDescription};
use palisade_api::{Policy, Rule};
use palisade_engine::CompiledPolicy;

use crate::kinds::KindSelector;

// The server evaluates behind each webhook exactly the policies of its failure policy, so
// both sides read it through the same function.
pub use palisade_admission::{FailurePolicy, failure_policy};

/// An admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// CREATE.
    Create,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
    /// CONNECT.
    Connect,
}

impl Operation {
    /// All four, in the order the API server lists them.
    pub const ALL: [Operation; 4] = [
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Connect,
    ];

    /// The name in webhook rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }

    /// Parses `CREATE`, ...; `None` for anything else.
    pub fn parse(s: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// Which webhook a rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// The validating webhook (validate and generate rules, image verification checks).
    Validate,
    /// The mutating webhook (mutate rules, image digest mutation).
    Mutate,
}

/// Default `timeoutSeconds` (Kyverno's and the API server's default).
pub const DEFAULT_TIMEOUT: i32 = 10;

/// One policy rule's needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRule {
    /// Validating or mutating webhook.
    pub phase: Phase,
    /// From the policy's `failurePolicy`.
    pub failure: FailurePolicy,
    /// From the policy's `webhookTimeoutSeconds`, within 1..=30.
    pub timeout: i32,
    /// The kinds matched (classic policies).
    pub kinds: BTreeSet<KindSelector>,
    /// Resources named directly, as `(group, version, resource[/subresource])` (CEL policies'
    /// `matchConstraints.resourceRules`; `*` allowed as the API server allows it).
    pub resources: BTreeSet<(String, String, String)>,
    /// The operations matched.
    pub operations: BTreeSet<Operation>,
}

/// The policy's webhook timeout, clamped to what the API server accepts (1 to 30 s).
pub fn timeout(policy: &Policy) -> i32 {
    let spec = &policy.spec;
    spec.webhook_configuration
        .as_ref()
        .and_then(|w| w.timeout_seconds)
        .or(spec.webhook_timeout_seconds)
        .unwrap_or(DEFAULT_TIMEOUT)
        .clamp(1, 30)
}

/// The needs of every rule of a compiled policy (autogen rules included); nothing when the
/// policy is not applied in admission (`admission: false`).
pub fn hook_rules(policy: &CompiledPolicy) -> Vec<HookRule> {
    if policy.policy.spec.admission == Some(false) {
        return Vec::new();
    }
    let failure = failure_policy(&policy.policy);
    let timeout = timeout(&policy.policy);
    let mut out = Vec::new();
    for rule in &policy.rules {
        let kinds = kinds(&rule.match_);
        if kinds.is_empty() {
            continue;
        }
        for phase in phases(rule) {
            out.push(HookRule {
                phase,
                failure,
                timeout,
                kinds: kinds.clone(),
                resources: BTreeSet::new(),
                operations: operations(rule, phase),
            });
        }
    }
    out
}

/// Mutate-existing rules (`mutate.targets`) patch other objects, after the trigger is admitted:
/// as generate rules, they are recorded by the validating webhook, which sees the final object.
fn mutates_existing(rule: &Rule) -> bool {
    rule.mutate
        .as_ref()
        .and_then(|m| m.targets.as_ref())
        .is_some_and(|t| !t.is_empty())
}

fn phases(rule: &Rule) -> Vec<Phase> {
    let mut out = Vec::new();
    let existing = mutates_existing(rule);
    if (rule.mutate.is_some() && !existing) || rule.verify_images.is_some() {
        out.push(Phase::Mutate);
    }
    if rule.validate.is_some()
        || rule.generate.is_some()
        || rule.verify_images.is_some()
        || existing
    {
        out.push(Phase::Validate);
    }
    out
}

fn descriptions(m: &MatchResources) -> Vec<&ResourceDescription> {
    let mut out: Vec<&ResourceDescription> = Vec::new();
    for list in [&m.any, &m.all].into_iter().flatten() {
        out.extend(list.iter().map(|f| &f.resources));
    }
    out.extend(m.resources.as_ref());
    out
}

fn kinds(m: &MatchResources) -> BTreeSet<KindSelector> {
    descriptions(m)
        .into_iter()
        .flat_map(|d| d.kinds.iter().flatten())
        .filter_map(|k| KindSelector::parse(k))
        .collect()
}

/// The operations a rule matches: those its match blocks list, else the phase's default
/// (all four for validation and generation, as Kyverno; CREATE and UPDATE for mutation,
/// mutate-existing included). An exclude block
/// that names only operations removes them; any other exclude is decided per request, so the
/// webhook still receives those requests.
fn operations(rule: &Rule, phase: Phase) -> BTreeSet<Operation> {
    let listed: BTreeSet<Operation> = descriptions(&rule.match_)
        .into_iter()
        .flat_map(|d| d.operations.iter().flatten())
        .filter_map(|o| Operation::parse(o))
        .collect();
    let mut ops = if !listed.is_empty() {
        listed
    } else if phase == Phase::Mutate || mutates_existing(rule) {
        BTreeSet::from([Operation::Create, Operation::Update])
    } else {
        Operation::ALL.into_iter().collect()
    };
    if let Some(exclude) = &rule.exclude {
        let only_ops = exclude.subjects.is_none()
            && exclude.roles.is_none()
            && exclude.cluster_roles.is_none();
        for d in descriptions(exclude) {
            if only_ops && only_operations(d) {
                for o in d.operations.iter().flatten() {
                    if let Some(op) = Operation::parse(o) {
                        ops.remove(&op);
                    }
                }
            }
        }
    }
    ops
}

fn only_operations(d: &ResourceDescription) -> bool {
    let plain = ResourceDescription {
        operations: d.operations.clone(),
        ..ResourceDescription::default()
    };
    *d == plain
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled(spec: serde_json::Value) -> CompiledPolicy {
        let doc = json!({
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": {"name": "p"},
            "spec": spec,
        });
        let policy: Policy = serde_json::from_value(doc).unwrap();
        palisade_engine::compile(policy).unwrap()
    }

    fn validate_rule(match_: serde_json::Value) -> serde_json::Value {
        json!({"name": "r", "match": match_, "validate": {"message": "m", "pattern": {"metadata": {"name": "?*"}}}})
    }

    fn ops(list: &[Operation]) -> BTreeSet<Operation> {
        list.iter().copied().collect()
    }

    #[test]
    fn validate_defaults_and_autogen() {
        let p = compiled(
            json!({"rules": [validate_rule(json!({"any": [{"resources": {"kinds": ["Pod"]}}]}))]}),
        );
        let hooks = hook_rules(&p);
        // The Pod rule plus autogen's two (controllers, CronJob).
        assert_eq!(hooks.len(), 3);
        assert!(hooks.iter().all(|h| h.phase == Phase::Validate
            && h.failure == FailurePolicy::Fail
            && h.timeout == DEFAULT_TIMEOUT
            && h.operations == ops(&Operation::ALL)));
        let all: BTreeSet<String> = hooks
            .iter()
            .flat_map(|h| h.kinds.iter().map(|k| k.kind.clone()))
            .collect();
        for k in [
            "Pod",
            "Deployment",
            "DaemonSet",
            "StatefulSet",
            "Job",
            "ReplicaSet",
            "ReplicationController",
            "CronJob",
        ] {
            assert!(all.contains(k), "{k} in {all:?}");
        }
    }

    #[test]
    fn failure_policy_timeout_and_admission() {
        let p = compiled(json!({
            "failurePolicy": "Ignore",
            "webhookTimeoutSeconds": 45,
            "rules": [validate_rule(json!({"resources": {"kinds": ["ConfigMap"], "operations": ["CREATE"]}}))]
        }));
        let hooks = hook_rules(&p);
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].failure, FailurePolicy::Ignore);
        assert_eq!(hooks[0].timeout, 30);
        assert_eq!(hooks[0].operations, ops(&[Operation::Create]));
        let off = compiled(json!({
            "admission": false,
            "rules": [validate_rule(json!({"resources": {"kinds": ["ConfigMap"]}}))]
        }));
        assert!(hook_rules(&off).is_empty());
        let nested = compiled(json!({
            "failurePolicy": "Ignore",
            "webhookConfiguration": {"failurePolicy": "Fail", "timeoutSeconds": 3},
            "rules": [validate_rule(json!({"resources": {"kinds": ["ConfigMap"]}}))]
        }));
        assert_eq!(hook_rules(&nested)[0].failure, FailurePolicy::Fail);
        assert_eq!(hook_rules(&nested)[0].timeout, 3);
    }

    #[test]
    fn mutate_defaults_and_excluded_operations() {
        let p = compiled(json!({"rules": [{
            "name": "m",
            "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
            "mutate": {"patchStrategicMerge": {"metadata": {"labels": {"a": "b"}}}}
        }, {
            "name": "v",
            "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
            "exclude": {"any": [{"resources": {"operations": ["DELETE", "CONNECT"]}}]},
            "validate": {"message": "m", "pattern": {"metadata": {"name": "?*"}}}
        }, {
            "name": "w",
            "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
            "exclude": {"any": [{"resources": {"operations": ["DELETE"], "namespaces": ["x"]}}]},
            "validate": {"message": "m", "pattern": {"metadata": {"name": "?*"}}}
        }]}));
        let hooks = hook_rules(&p);
        assert_eq!(hooks.len(), 3);
        assert_eq!(hooks[0].phase, Phase::Mutate);
        assert_eq!(
            hooks[0].operations,
            ops(&[Operation::Create, Operation::Update])
        );
        assert_eq!(
            hooks[1].operations,
            ops(&[Operation::Create, Operation::Update])
        );
        assert_eq!(hooks[2].operations, ops(&Operation::ALL));
    }

    #[test]
    fn generate_and_mutate_existing_rules_go_to_the_validating_webhook() {
        let p = compiled(json!({"rules": [{
            "name": "g",
            "match": {"any": [{"resources": {"kinds": ["Namespace"], "operations": ["CREATE"]}}]},
            "generate": {"apiVersion": "v1", "kind": "ConfigMap", "name": "c",
                "namespace": "{{ request.object.metadata.name }}", "data": {"data": {"a": "b"}}}
        }, {
            "name": "sync",
            "match": {"any": [{"resources": {"kinds": ["Secret"]}}]},
            "generate": {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "synchronize": true,
                "namespace": "{{ request.object.metadata.namespace }}", "data": {"data": {"a": "b"}}}
        }, {
            "name": "existing",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "mutate": {"targets": [{"apiVersion": "v1", "kind": "Secret", "namespace": "x"}],
                "patchStrategicMerge": {"metadata": {"labels": {"a": "b"}}}}
        }]}));
        let hooks = hook_rules(&p);
        assert_eq!(hooks.len(), 3);
        assert!(
            hooks.iter().all(|h| h.phase == Phase::Validate),
            "{hooks:?}"
        );
        assert_eq!(hooks[0].operations, ops(&[Operation::Create]));
        // Updates and deletions of a trigger reach the controller (synchronize).
        assert_eq!(hooks[1].operations, ops(&Operation::ALL));
        assert_eq!(
            hooks[2].operations,
            ops(&[Operation::Create, Operation::Update])
        );
    }

    #[test]
    fn subresource_kinds_are_kept() {
        let p = compiled(
            json!({"rules": [validate_rule(json!({"any": [{"resources": {"kinds": ["Pod/ephemeralcontainers"]}}]}))]}),
        );
        let hooks = hook_rules(&p);
        assert_eq!(hooks.len(), 1);
        let k = hooks[0].kinds.iter().next().unwrap();
        assert_eq!(
            (k.kind.as_str(), k.subresource.as_str()),
            ("Pod", "ephemeralcontainers")
        );
    }

    #[test]
    fn a_pod_exec_rule_needs_connect_on_the_subresource() {
        let p = compiled(json!({"rules": [validate_rule(
            json!({"any": [{"resources": {"kinds": ["Pod/exec"], "operations": ["CONNECT"]}}]})
        )]}));
        let hooks = hook_rules(&p);
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].operations, ops(&[Operation::Connect]));
        let k = hooks[0].kinds.iter().next().unwrap();
        assert_eq!((k.kind.as_str(), k.subresource.as_str()), ("Pod", "exec"));
    }
}
