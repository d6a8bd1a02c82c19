//! The Kyverno-compatible evaluation core of Palisade: pure, synchronous and deterministic.
//!
//! Newcomers should start with [`Engine::validate`]: compile a policy once with
//! [`policy::compile`], build a [`Request`] for each resource, and read the
//! [`PolicyResponse`]. Rule outcomes are data ([`RuleStatus`]); only loading can fail.
//! Cluster data reaches the engine through the [`ports::ContextSource`] trait.

pub mod anchor;
pub mod autogen;
pub mod conditions;
pub mod context;
pub mod entries;
pub mod exceptions;
pub mod generate;
pub mod jp;
pub mod matching;
pub mod mutate;
pub mod operators;
pub mod pattern;
pub mod policy;
pub mod ports;
mod pss;
pub mod request;
pub mod response;
pub mod validate;
pub mod value;
pub mod variables;

use palisade_api::policy::FailureActionOverride;
use palisade_api::validate::PodSecurityExclude;
use palisade_api::{FailureAction, RuleType};
use serde_json::Value;

pub use context::{EvalContext, ExprCache};
pub use exceptions::Exception;
pub use generate::{Action, GenerateResponse, Generated};
pub use mutate::{MutateResponse, PatchedTarget};
pub use policy::{CompileError, CompiledPolicy, compile};
pub use ports::{ContextSource, Lookup, NoContext};
pub use request::Request;
pub use response::{PolicyResponse, RuleResponse, RuleStatus};

use matching::{MatchInput, rule_matches};

/// What one rule evaluation can see besides the context.
pub struct EvalEnv<'a> {
    /// Cluster data.
    pub source: &'a dyn ContextSource,
    /// Compiled expressions of the policy.
    pub cache: &'a ExprCache,
    /// Clock for time functions.
    pub clock: &'a jp::Clock,
    /// The policy's report name.
    pub policy_name: &'a str,
    /// podSecurity exemptions from matching exceptions.
    pub pss_exceptions: &'a [PodSecurityExclude],
    /// Names of those exceptions.
    pub pss_exception_names: &'a [String],
}

/// Evaluation settings and the data shared by every evaluation.
#[derive(Default)]
pub struct Engine {
    /// The clock `time_now` and friends read.
    pub clock: jp::Clock,
}

/// Per-call inputs besides the policy and request.
pub struct Inputs<'a> {
    /// Cluster data for context entries.
    pub source: &'a dyn ContextSource,
    /// Loaded policy exceptions.
    pub exceptions: &'a [Exception],
}

impl Engine {
    /// Evaluates the validate rules of `policy` on `request`. `ctx` is the request's context
    /// ([`Request::context`]); it is returned unchanged, so one context serves many policies.
    pub fn validate(
        &self,
        policy: &CompiledPolicy,
        request: &Request,
        ctx: &mut EvalContext,
        inputs: &Inputs<'_>,
    ) -> PolicyResponse {
        let name = policy.name();
        let gvk = request.gvk();
        let input = MatchInput {
            resource: request.resource(),
            gvk: &gvk,
            subresource: &request.subresource,
            operation: &request.operation,
            namespace_labels: request.namespace_labels.as_ref(),
            request: &request.user,
        };
        let mut rules = Vec::new();
        for rule in &policy.rules {
            let Some(validation) = &rule.validate else {
                continue;
            };
            if rule_matches(
                &rule.match_,
                rule.exclude.as_ref(),
                policy.namespace(),
                &input,
            )
            .is_err()
            {
                continue;
            }
            let checkpoint = ctx.checkpoint();
            for (k, v) in inputs.source.rule_values(&name, &rule.name) {
                ctx.set(&k, v);
            }
            let r = variables::Resolver {
                ctx,
                cache: &policy.cache,
                clock: &self.clock,
                mode: variables::Mode::Lenient,
            };
            let matched: Vec<&Exception> = inputs
                .exceptions
                .iter()
                .filter(|e| e.covers(&name, &rule.name) && e.applies(&input, &r))
                .collect();
            let all_pss = !matched.is_empty()
                && validation.pod_security.is_some()
                && matched.iter().all(|e| e.has_pod_security());
            let mut response = if !matched.is_empty() && !all_pss {
                let keys: Vec<String> = matched.iter().map(|e| e.key()).collect();
                let mut resp = RuleResponse::new(
                    &rule.name,
                    RuleType::Validation,
                    RuleStatus::Skip,
                    format!(
                        "rule is skipped due to policy exceptions {}",
                        keys.join(", ")
                    ),
                );
                resp.exceptions = keys;
                resp
            } else {
                let pss_exceptions: Vec<PodSecurityExclude> = matched
                    .iter()
                    .flat_map(|e| e.exception.spec.pod_security.clone().unwrap_or_default())
                    .collect();
                let pss_names: Vec<String> = matched.iter().map(|e| e.key()).collect();
                let env = EvalEnv {
                    source: inputs.source,
                    cache: &policy.cache,
                    clock: &self.clock,
                    policy_name: &name,
                    pss_exceptions: &pss_exceptions,
                    pss_exception_names: &pss_names,
                };
                validate::validate_rule(rule, validation, &env, ctx)
            };
            ctx.restore(checkpoint);
            // An unscored policy (`policies.kyverno.io/scored: "false"`) reports failures as warnings.
            if response.status == RuleStatus::Fail && !policy.scored() {
                response.status = RuleStatus::Warn;
            }
            response.failure_action = Some(failure_action(policy, rule, request));
            response.properties = rule
                .report_properties
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect();
            let applied = matches!(response.status, RuleStatus::Pass | RuleStatus::Fail);
            rules.push(response);
            if applied && policy.apply_one() {
                break;
            }
        }
        PolicyResponse {
            policy: name,
            rules,
        }
    }
}

/// The failure action for `rule` on this request's namespace, after overrides.
fn failure_action(
    policy: &CompiledPolicy,
    rule: &palisade_api::Rule,
    request: &Request,
) -> FailureAction {
    let base = policy.failure_action(rule);
    let overrides = rule
        .validate
        .as_ref()
        .and_then(|v| v.failure_action_overrides.as_ref())
        .or(policy
            .policy
            .spec
            .validation_failure_action_overrides
            .as_ref());
    let ns = matching::namespace_of(request.resource());
    for o in overrides.into_iter().flatten() {
        if override_applies(o, ns, request) {
            return o.action;
        }
    }
    base
}

fn override_applies(o: &FailureActionOverride, ns: &str, request: &Request) -> bool {
    let by_name = o.namespaces.as_ref().is_some_and(|list| {
        list.iter()
            .any(|p| palisade_primitives::wildcard::matches(p, ns))
    });
    let by_label = o.namespace_selector.as_ref().is_some_and(|sel| {
        request
            .namespace_labels
            .as_ref()
            .is_some_and(|labels| matching::selector_matches(sel, labels))
    });
    by_name || by_label
}

/// A convenience for tests and simple callers: evaluates `policy` on one resource as a CREATE.
pub fn validate_resource(policy: &CompiledPolicy, resource: Value) -> PolicyResponse {
    let engine = Engine::default();
    let request = Request::create(resource);
    let mut ctx = request.context();
    engine.validate(
        policy,
        &request,
        &mut ctx,
        &Inputs {
            source: &NoContext,
            exceptions: &[],
        },
    )
}
