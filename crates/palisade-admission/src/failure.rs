//! A policy's failure policy, which decides both which webhook serves it and whether its
//! evaluation errors block a request. One definition serves the webhook configurations
//! (palisade-kube) and the review, so a policy is always evaluated behind the webhook whose
//! failurePolicy it has.

use palisade_api::Policy;
use palisade_celpolicy::api::admission::FailurePolicy as CelFailure;
use palisade_celpolicy::{CompiledMutatingPolicy, CompiledValidatingPolicy};

/// What the API server does when the webhook cannot answer, and what a policy's evaluation
/// error does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailurePolicy {
    /// Reject the request (fail closed). The default.
    Fail,
    /// Admit the request unchecked.
    Ignore,
}

impl FailurePolicy {
    /// The name in webhook configurations.
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Fail => "Fail",
            FailurePolicy::Ignore => "Ignore",
        }
    }
}

/// A classic policy's failure policy: `webhookConfiguration.failurePolicy`, else the
/// deprecated `spec.failurePolicy`; Fail unless it says Ignore.
pub fn failure_policy(policy: &Policy) -> FailurePolicy {
    let spec = &policy.spec;
    let value = spec
        .webhook_configuration
        .as_ref()
        .and_then(|w| w.failure_policy.as_deref())
        .or(spec.failure_policy.as_deref());
    if value == Some("Ignore") {
        FailurePolicy::Ignore
    } else {
        FailurePolicy::Fail
    }
}

fn cel(value: Option<&CelFailure>) -> FailurePolicy {
    match value {
        Some(CelFailure::Ignore) => FailurePolicy::Ignore,
        _ => FailurePolicy::Fail,
    }
}

/// A ValidatingPolicy's `spec.failurePolicy` (default Fail).
pub fn validating_policy_failure(policy: &CompiledValidatingPolicy) -> FailurePolicy {
    cel(policy.policy.spec.failure_policy.as_ref())
}

/// A MutatingPolicy's `spec.failurePolicy` (default Fail).
pub fn mutating_policy_failure(policy: &CompiledMutatingPolicy) -> FailurePolicy {
    cel(policy.policy.spec.failure_policy.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_nested_setting_wins_and_fail_is_the_default() {
        let cases = [
            (json!({}), FailurePolicy::Fail),
            (json!({"failurePolicy": "Ignore"}), FailurePolicy::Ignore),
            (json!({"failurePolicy": "Fail"}), FailurePolicy::Fail),
            (
                json!({"failurePolicy": "Ignore", "webhookConfiguration": {"failurePolicy": "Fail"}}),
                FailurePolicy::Fail,
            ),
            (
                json!({"webhookConfiguration": {"failurePolicy": "Ignore"}}),
                FailurePolicy::Ignore,
            ),
        ];
        for (mut spec, want) in cases {
            spec["rules"] = json!([]);
            let policy: Policy = serde_json::from_value(json!({
                "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
                "metadata": {"name": "p"}, "spec": spec.clone()
            }))
            .unwrap();
            assert_eq!(failure_policy(&policy), want, "{spec}");
        }
    }
}
