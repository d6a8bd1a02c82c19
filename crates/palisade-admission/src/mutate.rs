//! The mutate phase, as Kyverno's mutating webhook applies it
//! (`pkg/webhooks/resource/mutation`):
//!
//! - Policies apply in order, each to the object the previous ones left; the answer is one
//!   RFC 6902 patch, the concatenation of every policy's patch (each relative to the object it
//!   was given, so applying them in sequence reproduces the final object).
//! - Mutate-existing rules (`targets`) are left to the background controller.
//! - DELETE requests are admitted unchanged (Kyverno does not mutate deletions).
//! - A policy whose rule errors and whose failurePolicy is `Fail` (the default) denies the
//!   request with `mutation policy <p> error: failed to apply policy <p> rules [<rule>: <msg>]`;
//!   under `Ignore` its patches are dropped and the errors become warnings.
//! - MutatingPolicies (`policies.kyverno.io`) apply after the classic policies, in load order,
//!   each to the object the previous ones left (as the API server chains admission
//!   mutations); their patch is the difference between the object before and after. An error
//!   denies under `failurePolicy: Fail` (the default) and is a warning under `Ignore`.
//!   Mutate-existing targets are left to the background controller.

use palisade_api::RuleType;
use palisade_celpolicy::CompiledMutatingPolicy;
use palisade_engine::{CompiledPolicy, Inputs, RuleStatus};
use palisade_patch::json6902::Patch;
use serde_json::Value;

use crate::env::ReviewEnv;
use crate::failure::{FailurePolicy, failure_policy, mutating_policy_failure};
use crate::message;
use crate::request::{Shared, cel_request_for};
use crate::set::PolicySet;
use crate::types::AdmissionRequest;
use crate::validate::admission_enabled;
use crate::verdict::{PolicyKind, RuleResult, Verdict};

pub(crate) fn run(
    set: &PolicySet,
    req: &AdmissionRequest,
    only: Option<FailurePolicy>,
    env: &ReviewEnv,
    shared: &Shared,
    verdict: &mut Verdict,
) {
    if req.operation == "DELETE" {
        return;
    }
    let inputs = Inputs {
        source: env.context.as_ref(),
        exceptions: set.exceptions(),
    };
    let mut current: Option<Value> = None;
    let mut operations = Vec::new();
    let selected = |p: &CompiledPolicy| only.is_none_or(|f| failure_policy(&p.policy) == f);
    for policy in set.policies().iter().filter(|p| mutates(p) && selected(p)) {
        let object = current.as_ref().unwrap_or(&req.object).clone();
        let request = shared.engine_request(req, object);
        let mut ctx = request.context();
        let out = env
            .engine
            .mutate_admission(policy, &request, &mut ctx, &inputs);
        let errors: Vec<String> = out
            .response
            .rules
            .iter()
            .filter(|r| r.status == RuleStatus::Error)
            .map(|r| format!("{}: {}", r.name, r.message))
            .collect();
        let blocked = !errors.is_empty() && failure_policy(&policy.policy) == FailurePolicy::Fail;
        record(policy, &out.response, blocked, verdict);
        if blocked {
            let name = &policy.policy.metadata.name;
            verdict.allowed = false;
            verdict.code = 403;
            verdict.message = format!(
                "mutation policy {name} error: failed to apply policy {name} rules [{}]",
                errors.join(" ")
            );
            verdict.warnings.clear();
            return;
        }
        if errors.is_empty() && out.changed() {
            operations.extend(out.patch.0);
            current = Some(out.patched);
        }
    }
    if !cel(
        set,
        req,
        only,
        env,
        shared,
        &mut current,
        &mut operations,
        verdict,
    ) {
        return;
    }
    if !operations.is_empty() {
        verdict.patch = Some(Patch(operations));
    }
}

/// Applies the MutatingPolicies; false when one denied the request.
#[allow(clippy::too_many_arguments)]
fn cel(
    set: &PolicySet,
    req: &AdmissionRequest,
    only: Option<FailurePolicy>,
    env: &ReviewEnv,
    shared: &Shared,
    current: &mut Option<Value>,
    operations: &mut Vec<palisade_patch::json6902::Operation>,
    verdict: &mut Verdict,
) -> bool {
    let mut policies = set
        .mutating_policies()
        .iter()
        .filter(|p| {
            let eval = p.policy.spec.evaluation.as_ref();
            eval.and_then(|e| e.admission.as_ref())
                .and_then(|t| t.enabled)
                .unwrap_or(true)
        })
        .filter(|p| only.is_none_or(|f| mutating_policy_failure(p) == f))
        .peekable();
    if policies.peek().is_none() {
        return true;
    }
    let exceptions: Vec<_> = set.cel_exceptions().iter().map(AsRef::as_ref).collect();
    for policy in policies {
        let object = current.as_ref().unwrap_or(&req.object);
        let request = cel_request_for(req, object, shared, env.cluster.as_ref(), &env.cel_data);
        let out = policy.mutate(&request, object, &exceptions);
        let errors: Vec<&str> = out
            .response
            .rules
            .iter()
            .filter(|r| r.status == RuleStatus::Error)
            .map(|r| r.message.as_str())
            .collect();
        let blocked = !errors.is_empty() && mutating_policy_failure(policy) == FailurePolicy::Fail;
        if blocked {
            let name = policy.name();
            verdict.allowed = false;
            verdict.code = 403;
            verdict.message = format!("mutation policy {name} error: {}", errors.join("; "));
            verdict.warnings.clear();
        }
        record_cel(policy, &out.response, blocked, verdict);
        if blocked {
            return false;
        }
        if let Some(patched) = out.patched.filter(|p| p != object) {
            operations.extend(palisade_patch::diff(object, &patched).0);
            *current = Some(patched);
        }
    }
    true
}

fn record_cel(
    policy: &CompiledMutatingPolicy,
    response: &palisade_engine::PolicyResponse,
    blocked: bool,
    verdict: &mut Verdict,
) {
    for rule in &response.rules {
        let failed = matches!(rule.status, RuleStatus::Fail | RuleStatus::Error);
        if failed && !blocked {
            verdict.warnings.push(format!(
                "mutation policy {} error: {}",
                policy.name(),
                rule.message
            ));
        }
        verdict.results.push(RuleResult {
            policy: response.policy.clone(),
            policy_kind: PolicyKind::MutatingPolicy,
            rule: rule.name.clone(),
            rule_type: RuleType::Mutation,
            status: rule.status,
            message: rule.message.to_string(),
            failure_action: None,
            blocking: blocked && rule.status == RuleStatus::Error,
        });
    }
}

fn mutates(policy: &CompiledPolicy) -> bool {
    admission_enabled(policy) && policy.rules.iter().any(|r| r.mutate.is_some())
}

fn record(
    policy: &CompiledPolicy,
    response: &palisade_engine::PolicyResponse,
    blocked: bool,
    verdict: &mut Verdict,
) {
    let bare = &policy.policy.metadata.name;
    let kind = if policy.policy.is_namespaced() {
        PolicyKind::Policy
    } else {
        PolicyKind::ClusterPolicy
    };
    for rule in &response.rules {
        let failed = matches!(rule.status, RuleStatus::Fail | RuleStatus::Error);
        if failed && !blocked {
            verdict
                .warnings
                .push(message::warning(bare, &rule.name, &rule.message));
        }
        verdict.results.push(RuleResult {
            policy: response.policy.clone(),
            policy_kind: kind,
            rule: rule.name.clone(),
            rule_type: RuleType::Mutation,
            status: rule.status,
            message: rule.message.to_string(),
            failure_action: None,
            blocking: blocked && rule.status == RuleStatus::Error,
        });
    }
}
