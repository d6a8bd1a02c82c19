//! Webhook needs of CEL ValidatingPolicies and MutatingPolicies: their
//! `matchConstraints.resourceRules` (and those autogen adds for Pod controllers) name resources
//! directly.

use std::collections::BTreeSet;

use palisade_celpolicy::api::admission::{MatchCondition, MatchResources};
use palisade_celpolicy::api::kyverno::{AutogenConfiguration, WebhookConfiguration};
use palisade_celpolicy::autogen;
use palisade_celpolicy::{CompiledMutatingPolicy, CompiledValidatingPolicy};

use crate::rules::{DEFAULT_TIMEOUT, FailurePolicy, HookRule, Operation, Phase};

/// The needs of one ValidatingPolicy; nothing when it is not evaluated in admission or not
/// in `Kubernetes` mode.
pub fn validating_policy_hooks(policy: &CompiledValidatingPolicy) -> Vec<HookRule> {
    let spec = &policy.policy.spec;
    if !spec.admission() || spec.mode() != "Kubernetes" {
        return Vec::new();
    }
    let failure = palisade_admission::validating_policy_failure(policy);
    let constraints = Constraints {
        matched: spec.match_constraints.as_ref(),
        conditions: &spec.match_conditions,
        autogen: spec.autogen.as_ref(),
    };
    all_hooks(
        constraints,
        Phase::Validate,
        failure,
        spec.webhook_configuration.as_ref(),
    )
}

/// The needs of one MutatingPolicy, in the mutate phase; nothing when admission evaluation is
/// disabled.
pub fn mutating_policy_hooks(policy: &CompiledMutatingPolicy) -> Vec<HookRule> {
    let spec = &policy.policy.spec;
    let admission = spec
        .evaluation
        .as_ref()
        .and_then(|e| e.admission.as_ref())
        .and_then(|t| t.enabled)
        .unwrap_or(true);
    if !admission {
        return Vec::new();
    }
    let failure = palisade_admission::mutating_policy_failure(policy);
    // The compiled policy derives its autogen variants without match conditions; the webhook
    // must cover the same variants.
    let constraints = Constraints {
        matched: spec.match_constraints.as_ref(),
        conditions: &[],
        autogen: spec.autogen.as_ref(),
    };
    all_hooks(
        constraints,
        Phase::Mutate,
        failure,
        spec.webhook_configuration.as_ref(),
    )
}

struct Constraints<'a> {
    matched: Option<&'a MatchResources>,
    conditions: &'a [MatchCondition],
    autogen: Option<&'a AutogenConfiguration>,
}

fn all_hooks(
    c: Constraints<'_>,
    phase: Phase,
    failure: FailurePolicy,
    webhook: Option<&WebhookConfiguration>,
) -> Vec<HookRule> {
    let timeout = webhook
        .and_then(|w| w.timeout_seconds)
        .unwrap_or(DEFAULT_TIMEOUT)
        .clamp(1, 30);
    let variants = autogen::variants(c.matched, c.conditions, c.autogen);
    c.matched
        .into_iter()
        .chain(variants.iter().map(|v| &v.match_constraints))
        .flat_map(|m| hooks(m, phase, failure, timeout))
        .collect()
}

fn hooks(m: &MatchResources, phase: Phase, failure: FailurePolicy, timeout: i32) -> Vec<HookRule> {
    m.resource_rules
        .iter()
        .map(|rule| {
            let operations: BTreeSet<Operation> =
                if rule.operations.is_empty() || rule.operations.iter().any(|o| o == "*") {
                    Operation::ALL.into_iter().collect()
                } else {
                    rule.operations
                        .iter()
                        .filter_map(|o| Operation::parse(o))
                        .collect()
                };
            let mut resources = BTreeSet::new();
            for g in &rule.api_groups {
                for v in &rule.api_versions {
                    for r in &rule.resources {
                        resources.insert((g.clone(), v.clone(), r.clone()));
                    }
                }
            }
            HookRule {
                phase,
                failure,
                timeout,
                kinds: BTreeSet::new(),
                resources,
                operations,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_admission::{CelEntry, Entry, compile_document};
    use serde_json::json;

    fn compile(spec: serde_json::Value) -> std::sync::Arc<CompiledValidatingPolicy> {
        let doc = json!({
            "apiVersion": "policies.kyverno.io/v1",
            "kind": "ValidatingPolicy",
            "metadata": {"name": "v"},
            "spec": spec,
        });
        match compile_document("test", 0, &doc).unwrap() {
            Entry::Cel(CelEntry::Validating(p)) => p,
            other => panic!("not a ValidatingPolicy: {other:?}"),
        }
    }

    #[test]
    fn pods_with_autogen_and_settings() {
        let p = compile(json!({
            "failurePolicy": "Ignore",
            "webhookConfiguration": {"timeoutSeconds": 4},
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["pods"]
            }]},
            "validations": [{"expression": "true"}]
        }));
        let hooks = validating_policy_hooks(&p);
        assert!(hooks.len() >= 2, "{hooks:?}");
        assert!(
            hooks
                .iter()
                .all(|h| h.failure == FailurePolicy::Ignore && h.timeout == 4)
        );
        let all: BTreeSet<String> = hooks
            .iter()
            .flat_map(|h| h.resources.iter().map(|(_, _, r)| r.clone()))
            .collect();
        for r in ["pods", "deployments", "cronjobs"] {
            assert!(all.contains(r), "{r} in {all:?}");
        }
        assert_eq!(
            hooks[0].operations,
            BTreeSet::from([Operation::Create, Operation::Update])
        );
    }

    #[test]
    fn wildcard_operations_and_admission_off() {
        let p = compile(json!({
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["*"], "resources": ["deployments", "statefulsets"]
            }]},
            "validations": [{"expression": "true"}]
        }));
        let hooks = validating_policy_hooks(&p);
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].failure, FailurePolicy::Fail);
        assert_eq!(hooks[0].operations.len(), 4);
        assert_eq!(hooks[0].resources.len(), 2);
        let off = compile(json!({
            "evaluation": {"admission": {"enabled": false}},
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]
            }]},
            "validations": [{"expression": "true"}]
        }));
        assert!(validating_policy_hooks(&off).is_empty());
    }

    #[test]
    fn mutating_policy_hooks_are_in_the_mutate_phase() {
        let doc = json!({
            "apiVersion": "policies.kyverno.io/v1alpha1",
            "kind": "MutatingPolicy",
            "metadata": {"name": "m"},
            "spec": {
                "failurePolicy": "Ignore",
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["pods"]
                }]},
                "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                    "expression": "Object{metadata: Object.metadata{labels: {'a': 'b'}}}"
                }}]
            }
        });
        let p = match compile_document("test", 0, &doc).unwrap() {
            Entry::Cel(CelEntry::Mutating(p)) => p,
            other => panic!("not a MutatingPolicy: {other:?}"),
        };
        let hooks = mutating_policy_hooks(&p);
        assert!(hooks.len() >= 2, "{hooks:?}");
        assert!(hooks.iter().all(|h| h.phase == Phase::Mutate
            && h.failure == FailurePolicy::Ignore
            && h.timeout == DEFAULT_TIMEOUT));
        assert_eq!(hooks[0].operations, BTreeSet::from([Operation::Create]));
        assert_eq!(
            hooks[0].resources,
            BTreeSet::from([("".to_string(), "v1".to_string(), "pods".to_string())])
        );
    }
}
