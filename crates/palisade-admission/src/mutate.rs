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

use palisade_api::RuleType;
use palisade_engine::{CompiledPolicy, Inputs, RuleStatus};
use palisade_patch::json6902::Patch;
use serde_json::Value;

use crate::env::ReviewEnv;
use crate::message;
use crate::request::Shared;
use crate::set::PolicySet;
use crate::types::AdmissionRequest;
use crate::validate::{admission_enabled, failure_policy_fail};
use crate::verdict::{PolicyKind, RuleResult, Verdict};

pub(crate) fn run(
    set: &PolicySet,
    req: &AdmissionRequest,
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
    for policy in set.policies().iter().filter(|p| mutates(p)) {
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
        let blocked = !errors.is_empty() && failure_policy_fail(policy);
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
    if !operations.is_empty() {
        verdict.patch = Some(Patch(operations));
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
            message: rule.message.clone(),
            failure_action: None,
            blocking: blocked && rule.status == RuleStatus::Error,
        });
    }
}
