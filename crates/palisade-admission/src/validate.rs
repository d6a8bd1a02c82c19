//! The validate phase, as Kyverno's validating webhook decides.
//!
//! - Classic validate rules (`pkg/webhooks/resource/validation`): a rule that fails under
//!   `Enforce` blocks the request; one that fails under `Audit`, and every `Warn` result
//!   (unscored policies), admits it with a warning `policy <name>.<rule>: <message>`. Kyverno
//!   evaluates Audit policies after answering and only reports them unless the policy sets
//!   `emitWarning`; Palisade evaluates them in the same pass and always warns, so users see
//!   Audit violations at admission (the results are recorded either way).
//! - A rule error blocks when the rule is `Enforce` and the policy's failurePolicy is `Fail`
//!   (the default), as `BlockRequest` does for errors; otherwise it is a warning. Kyverno
//!   takes the failurePolicy of the webhook that called, which serves only policies of that
//!   failurePolicy; we take the policy's own, which is the same under `/…/fail` and
//!   `/…/ignore` and stays per policy under the plain `/validate` of file mode.
//! - DELETE requests: only `deny` and `foreach` rules apply (see [`applies_on_delete`]).
//! - UPDATE requests: an `Enforce` rule that fails on the new object is skipped when it also
//!   failed on the old one, unless `allowExistingViolations: false` (Kyverno's default lets
//!   existing violations through).
//! - ValidatingPolicies (`pkg/webhooks/resource/vpol`): failures and errors of a policy whose
//!   `validationActions` include `Deny` (the default) block with `Policy <name> failed: <msg>`
//!   (joined by `; `); with `Warn` they become warnings; `Audit` only records. Errors block
//!   only under `failurePolicy: Fail` (the default); under `Ignore` they are warnings.
//! - Denials carry no warnings, as Kyverno's do not.

use std::collections::BTreeMap;

use palisade_api::{FailureAction, RuleType};
use palisade_engine::{
    CompiledPolicy, EvalContext, Inputs, PolicyResponse, PreparedRequest, Request, RuleStatus,
};
use serde_json::Value;

use crate::env::ReviewEnv;
use crate::failure::{FailurePolicy, failure_policy, validating_policy_failure};
use crate::message;
use crate::request::{Shared, cel_request};
use crate::set::PolicySet;
use crate::types::AdmissionRequest;
use crate::verdict::{PolicyKind, RuleResult, Verdict};

/// Rules that failed, by policy then rule, for the denial message.
type Failures = BTreeMap<String, BTreeMap<String, String>>;

pub(crate) fn run(
    set: &PolicySet,
    req: &mut AdmissionRequest,
    only: Option<FailurePolicy>,
    env: &ReviewEnv,
    shared: &Shared,
    verdict: &mut Verdict,
) {
    let mut failures = Failures::new();
    let mut denials = Vec::new();
    classic(set, req, only, env, shared, verdict, &mut failures);
    if !set.validating_policies().is_empty() {
        cel(set, req, only, env, shared, verdict, &mut denials);
    }
    if failures.is_empty() && denials.is_empty() {
        return;
    }
    let mut text = String::new();
    if !failures.is_empty() {
        let (kind, namespace, name) = identity(req);
        text = message::blocked_message(kind, namespace, name, &failures);
    }
    if !denials.is_empty() {
        text.push_str(&denials.join("; "));
    }
    verdict.allowed = false;
    verdict.code = 403;
    verdict.message = text;
    verdict.warnings.clear();
}

fn classic(
    set: &PolicySet,
    req: &mut AdmissionRequest,
    only: Option<FailurePolicy>,
    env: &ReviewEnv,
    shared: &Shared,
    verdict: &mut Verdict,
    failures: &mut Failures,
) {
    let mut policies = set
        .policies()
        .iter()
        .filter(|p| {
            admission_enabled(p)
                && only.is_none_or(|f| failure_policy(&p.policy) == f)
                && p.rules.iter().any(|r| r.validate.is_some())
        })
        .peekable();
    if policies.peek().is_none() {
        return;
    }
    // One prepared request (its context) serves every policy: the engine restores it after
    // each. The request's objects move into the context and back afterwards, so they are
    // neither copied nor freed per review; a CONNECT's object is lent a copy, because the
    // engine's view of it gains the request's namespace.
    let lend = req.operation != "CONNECT";
    let (object, old_object) = if lend {
        (
            std::mem::take(&mut req.object),
            std::mem::take(&mut req.old_object),
        )
    } else {
        (req.object.clone(), req.old_object.clone())
    };
    let mut prepared = PreparedRequest::new(shared.engine_request_with(req, object, old_object));
    let inputs = Inputs {
        source: env.context.as_ref(),
        exceptions: set.exceptions(),
    };
    // Evaluated as a set (the request's per-rule lookups made once), then each response
    // handled in policy order as before.
    let responses = env
        .engine
        .validate_set(policies.clone().map(|p| &**p), &mut prepared, &inputs);
    for (policy, mut response) in policies.zip(responses) {
        if req.operation == "DELETE" {
            response
                .rules
                .retain(|r| applies_on_delete(policy, &r.name));
        }
        if req.operation == "UPDATE" {
            let old = prepared.old_object();
            allow_existing_violations(policy, &mut response, req, old, shared, env, &inputs);
        }
        record(policy, response, verdict, failures);
    }
    if lend {
        (req.object, req.old_object) = prepared.into_objects();
    }
}

/// Kyverno validates a deletion only with `deny` conditions and `foreach` declarations; its
/// pattern, podSecurity, CEL and image handlers return no result for a DELETE.
fn applies_on_delete(policy: &CompiledPolicy, rule: &str) -> bool {
    policy
        .rules
        .iter()
        .find(|r| r.name == rule)
        .and_then(|r| r.validate.as_ref())
        .is_some_and(|v| v.deny.is_some() || v.foreach.is_some())
}

/// Skips `Enforce` failures the old object already had (Kyverno's `allowExistingViolations`).
fn allow_existing_violations(
    policy: &CompiledPolicy,
    response: &mut PolicyResponse,
    req: &AdmissionRequest,
    old_object: &Value,
    shared: &Shared,
    env: &ReviewEnv,
    inputs: &Inputs<'_>,
) {
    let allowed = |name: &str| {
        policy
            .rules
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.validate.as_ref())
            .is_none_or(|v| v.allow_existing_violations != Some(false))
    };
    let candidates = |r: &palisade_engine::RuleResponse| {
        r.status == RuleStatus::Fail
            && r.failure_action == Some(FailureAction::Enforce)
            && allowed(&r.name)
    };
    if !old_object.is_object() || !response.rules.iter().any(candidates) {
        return;
    }
    let old: Request = shared.engine_request(req, old_object.clone());
    let mut old_ctx: EvalContext = old.context();
    let prior = env.engine.validate(policy, &old, &mut old_ctx, inputs);
    for rule in response.rules.iter_mut() {
        let failed_before = prior
            .rules
            .iter()
            .any(|p| p.name == rule.name && p.status == RuleStatus::Fail);
        if candidates(rule) && failed_before {
            rule.status = RuleStatus::Skip;
            rule.message =
                "skipping the rule evaluation as pre-existing violations are allowed".into();
        }
    }
}

fn record(
    policy: &CompiledPolicy,
    response: PolicyResponse,
    verdict: &mut Verdict,
    failures: &mut Failures,
) {
    let bare = &policy.policy.metadata.name;
    let fail_closed = failure_policy(&policy.policy) == FailurePolicy::Fail;
    let kind = if policy.policy.is_namespaced() {
        PolicyKind::Policy
    } else {
        PolicyKind::ClusterPolicy
    };
    for rule in response.rules {
        let enforce = rule.failure_action == Some(FailureAction::Enforce);
        let blocking = match rule.status {
            RuleStatus::Fail => enforce,
            RuleStatus::Error => enforce && fail_closed,
            _ => false,
        };
        let noteworthy = matches!(
            rule.status,
            RuleStatus::Fail | RuleStatus::Error | RuleStatus::Warn
        );
        if blocking {
            failures
                .entry(bare.clone())
                .or_default()
                .insert(rule.name.to_string(), rule.message.to_string());
        } else if noteworthy {
            verdict
                .warnings
                .push(message::warning(bare, &rule.name, &rule.message));
        }
        verdict.results.push(RuleResult {
            policy: response.policy.clone(),
            policy_kind: kind,
            rule: rule.name,
            rule_type: RuleType::Validation,
            status: rule.status,
            message: rule.message.into(),
            failure_action: rule.failure_action,
            blocking,
        });
    }
}

fn cel(
    set: &PolicySet,
    req: &AdmissionRequest,
    only: Option<FailurePolicy>,
    env: &ReviewEnv,
    shared: &Shared,
    verdict: &mut Verdict,
    denials: &mut Vec<String>,
) {
    let mut policies = set
        .validating_policies()
        .iter()
        .filter(|p| only.is_none_or(|f| validating_policy_failure(p) == f))
        .peekable();
    if policies.peek().is_none() {
        return;
    }
    let request = cel_request(req, shared, env.cluster.as_ref(), &env.cel_data);
    let exceptions: Vec<_> = set.cel_exceptions().iter().map(AsRef::as_ref).collect();
    for policy in policies {
        let response = policy.validate(&request, &exceptions);
        let actions = &policy.policy.spec.validation_actions;
        let has = |a: &str| actions.iter().any(|x| x == a);
        let deny = actions.is_empty() || has("Deny");
        let fail_closed = validating_policy_failure(policy) == FailurePolicy::Fail;
        let name = &policy.policy.metadata.name;
        for rule in response.rules {
            let (text, blocks) = match rule.status {
                RuleStatus::Fail => (
                    Some(format!("Policy {name} failed: {}", rule.message)),
                    deny,
                ),
                RuleStatus::Error => (
                    Some(format!("Policy {name} error: {}", rule.message)),
                    deny && fail_closed,
                ),
                _ => (None, false),
            };
            if let Some(text) = &text {
                if blocks {
                    denials.push(text.clone());
                } else if has("Warn") || deny {
                    // A Deny policy's error under Ignore is worth a warning, not a denial.
                    verdict.warnings.push(text.clone());
                }
            }
            verdict.results.push(RuleResult {
                policy: response.policy.clone(),
                policy_kind: PolicyKind::ValidatingPolicy,
                rule: rule.name,
                rule_type: RuleType::Validation,
                status: rule.status,
                message: rule.message.into(),
                failure_action: rule.failure_action,
                blocking: blocks,
            });
        }
    }
}

/// `spec.admission` (default true): policies that opt out apply only in background scans.
pub(crate) fn admission_enabled(policy: &CompiledPolicy) -> bool {
    policy.policy.spec.admission != Some(false)
}

/// Kind, namespace and name for the denial message, from the object with the request's
/// fields as fallback (a CREATE with generateName has no name yet).
fn identity(req: &AdmissionRequest) -> (&str, &str, &str) {
    let r = req.resource();
    let field = |ptr: &str| {
        r.pointer(ptr)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    (
        field("/kind").unwrap_or(&req.kind.kind),
        field("/metadata/namespace").unwrap_or(&req.namespace),
        field("/metadata/name").unwrap_or(&req.name),
    )
}
