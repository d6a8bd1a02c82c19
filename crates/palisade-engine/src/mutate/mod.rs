//! `mutate` rules, as Kyverno's engine applies them (`pkg/engine/mutation.go` and
//! `pkg/engine/handlers/mutation`): `patchStrategicMerge` with anchors, `patchesJson6902`,
//! `foreach`, and mutate-existing `targets`.
//!
//! A policy's rules apply in order, each to the output of the previous one, and each sees the
//! patched resource as `request.object`. A rule that changed the resource passes; one whose
//! preconditions or anchor conditions did not hold, or whose patch changed nothing, is skipped;
//! one that could not be applied is an error with the reason. The response carries the patched
//! resource and the RFC 6902 patch from the original to it, which is what an admission
//! webhook returns.
//!
//! ```
//! use palisade_engine::{Engine, Inputs, NoContext, Request, RuleStatus, compile};
//! use serde_json::json;
//!
//! let policy = compile(serde_json::from_value(json!({
//!     "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "labels"},
//!     "spec": {"rules": [{"name": "team", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
//!         "mutate": {"patchStrategicMerge": {"metadata": {"labels": {"+(team)": "core"}}}}}]}
//! })).unwrap()).unwrap();
//! let request = Request::create(json!({"apiVersion": "v1", "kind": "Pod",
//!     "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}));
//! let mut ctx = request.context();
//! let inputs = Inputs { source: &NoContext, exceptions: &[] };
//! let out = Engine::default().mutate(&policy, &request, &mut ctx, &inputs);
//! assert_eq!(out.response.rules[0].status, RuleStatus::Pass);
//! assert_eq!(out.patched["metadata"]["labels"]["team"], "core");
//! assert_eq!(out.patch.to_value(), json!([
//!     {"op": "add", "path": "/metadata/labels", "value": {"team": "core"}}
//! ]));
//! ```

mod existing;
mod foreach;
pub(crate) mod gate;
pub mod patcher;
#[cfg(test)]
mod tests;

use palisade_api::mutate::Mutation;
use palisade_api::{Rule, RuleType};
use palisade_patch::diff;
use palisade_patch::json6902::Patch;
use serde_json::Value;

use crate::conditions;
use crate::context::EvalContext;
use crate::entries::Loader;
use crate::response::{PolicyResponse, RuleResponse, RuleStatus};
use crate::variables::{Mode, Resolver};
use crate::{CompiledPolicy, Engine, EvalEnv, Inputs, Request};
use gate::{Gate, Subject};
use patcher::Applied;

/// The mutate rules of one policy applied to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct MutateResponse {
    /// Rule responses, in rule order (rules that do not match have none).
    pub response: PolicyResponse,
    /// The resource after every rule.
    pub patched: Value,
    /// The RFC 6902 patch from the request's resource to [`MutateResponse::patched`].
    pub patch: Patch,
    /// Existing objects changed by mutate-existing rules.
    pub targets: Vec<PatchedTarget>,
}

impl MutateResponse {
    /// True when the resource changed.
    pub fn changed(&self) -> bool {
        !self.patch.is_empty()
    }
}

/// An existing object a mutate-existing rule changed.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchedTarget {
    /// The rule that changed it.
    pub rule: String,
    /// The object as it was.
    pub original: Value,
    /// The object as the rule left it.
    pub patched: Value,
}

impl PatchedTarget {
    /// The RFC 6902 patch from the original object to the patched one.
    pub fn patch(&self) -> Patch {
        diff(&self.original, &self.patched)
    }
}

/// What one rule's patches did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The resource changed.
    Changed(Value),
    /// Nothing applied; the message says why.
    Unchanged(String),
    /// A patch or list could not be evaluated.
    Error(String),
}

impl Engine {
    /// Applies the mutate rules of `policy` to the request's resource, offline or in the
    /// background: mutate-existing rules patch their targets (read through
    /// [`crate::ContextSource::list_resources`]) instead of the resource. `ctx` is the request's
    /// context; it is returned unchanged.
    pub fn mutate(
        &self,
        policy: &CompiledPolicy,
        request: &Request,
        ctx: &mut EvalContext,
        inputs: &Inputs<'_>,
    ) -> MutateResponse {
        self.mutate_with(policy, request, ctx, inputs, true)
    }

    /// As [`Engine::mutate`] for an admission request: mutate-existing rules are left to the
    /// background controller, as Kyverno's mutating webhook does.
    pub fn mutate_admission(
        &self,
        policy: &CompiledPolicy,
        request: &Request,
        ctx: &mut EvalContext,
        inputs: &Inputs<'_>,
    ) -> MutateResponse {
        self.mutate_with(policy, request, ctx, inputs, false)
    }

    /// The mutate-existing rules (`mutate.targets`) of `policy` that the request triggers:
    /// those whose match and exclude blocks select it and that no exception exempts. Their
    /// preconditions and targets are left to the background controller, which reads the
    /// cluster (Kyverno's webhook records such a trigger in an UpdateRequest).
    pub fn mutate_existing_rules(
        &self,
        policy: &CompiledPolicy,
        request: &Request,
        ctx: &mut EvalContext,
        inputs: &Inputs<'_>,
    ) -> Vec<String> {
        let name = policy.name();
        let gvk = request.gvk();
        let subject = Subject::new(self, policy, &name, request, &gvk, inputs.exceptions);
        let resource = request.resource();
        let mut out = Vec::new();
        for rule in &policy.rules {
            let has_targets = rule
                .mutate
                .as_ref()
                .and_then(|m| m.targets.as_ref())
                .is_some_and(|t| !t.is_empty());
            if !has_targets {
                continue;
            }
            let gate = subject.check(rule, RuleType::Mutation, resource, ctx);
            if matches!(gate, Gate::Proceed) {
                out.push(rule.name.clone());
            }
        }
        out
    }

    fn mutate_with(
        &self,
        policy: &CompiledPolicy,
        request: &Request,
        ctx: &mut EvalContext,
        inputs: &Inputs<'_>,
        with_targets: bool,
    ) -> MutateResponse {
        let name = policy.name();
        let original = request.resource();
        // The resource is copied only when a rule changes it, and the context learns of a
        // change only when another rule is about to run: a webhook's hot path.
        let mut patched: Option<Value> = None;
        // The prepared patch of the only rule that changed the resource, when its merge changed
        // only what the patch names: the diff then compares only that.
        let mut guide: Option<&palisade_patch::anchors::Plan> = None;
        let mut context_stale = false;
        let gvk = request.gvk();
        let subject = Subject::new(self, policy, &name, request, &gvk, inputs.exceptions);
        let checkpoint = ctx.checkpoint();
        let mut rules = Vec::new();
        let mut targets = Vec::new();
        for rule in &policy.rules {
            let Some(mutation) = &rule.mutate else {
                continue;
            };
            let has_targets = mutation.targets.as_ref().is_some_and(|t| !t.is_empty());
            if has_targets && !with_targets {
                continue;
            }
            let current = patched.as_ref().unwrap_or(original);
            if context_stale && request.operation != "DELETE" {
                // Later rules see the patched resource as request.object (Kyverno's AddResource).
                ctx.set("request.object", current.clone());
                context_stale = false;
            }
            let gate = subject.check(rule, RuleType::Mutation, current, ctx);
            let env = EvalEnv {
                source: inputs.source,
                cache: &policy.cache,
                clock: &self.clock,
                policy_name: &name,
                pss_exceptions: &[],
                pss_exception_names: &[],
            };
            let responses = match gate {
                Gate::NotMatched => continue,
                Gate::Excepted(resp) => vec![resp],
                Gate::Proceed => {
                    let rule_checkpoint = ctx.checkpoint();
                    for (k, v) in inputs.source.rule_values(&name, &rule.name) {
                        ctx.set(&k, v);
                    }
                    let run = RuleRun {
                        rule,
                        mutation,
                        policy_namespace: policy.namespace(),
                        with_targets: has_targets,
                    };
                    let (responses, changed, patched_targets, plan) = run.run(&env, ctx, current);
                    ctx.restore(rule_checkpoint);
                    if let Some(p) = changed {
                        guide = if patched.is_none() { plan } else { None };
                        patched = Some(p);
                        context_stale = true;
                    }
                    targets.extend(patched_targets);
                    responses
                }
            };
            let mut applied = false;
            for mut resp in responses {
                resp.properties = rule
                    .report_properties
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                applied |= matches!(resp.status, RuleStatus::Pass | RuleStatus::Fail);
                rules.push(resp);
            }
            if applied && policy.apply_one() {
                break;
            }
        }
        ctx.restore(checkpoint);
        let (patched, patch) = match patched {
            Some(p) => {
                let patch = match guide {
                    Some(plan) => palisade_patch::diff_guided(original, &p, plan),
                    None => diff(original, &p),
                };
                (p, patch)
            }
            None => (original.clone(), Patch::default()),
        };
        MutateResponse {
            response: PolicyResponse {
                policy: name.into(),
                rules,
            },
            patched,
            patch,
            targets,
        }
    }
}

/// One matched mutate rule.
struct RuleRun<'a> {
    rule: &'a Rule,
    mutation: &'a Mutation,
    policy_namespace: Option<&'a str>,
    with_targets: bool,
}

impl RuleRun<'_> {
    fn response(&self, status: RuleStatus, message: impl Into<String>) -> Vec<RuleResponse> {
        vec![RuleResponse::new(
            &self.rule.name,
            RuleType::Mutation,
            status,
            message,
        )]
    }

    /// Context, preconditions, then the patches: the responses, the patched resource when it
    /// changed, and the targets mutate-existing changed.
    /// With a changed resource, its rule's prepared patch when the diff may be guided by it.
    fn run<'e>(&self, env: &EvalEnv<'e>, ctx: &mut EvalContext, resource: &Value) -> RunOutput<'e> {
        let loader = Loader {
            source: env.source,
            cache: env.cache,
            clock: env.clock,
        };
        if let Err(e) = loader.load(ctx, self.rule.context.as_deref().unwrap_or_default()) {
            let msg = format!("failed to load context: {e}");
            return (
                self.response(RuleStatus::Error, msg),
                None,
                Vec::new(),
                None,
            );
        }
        if let Some(pre) = &self.rule.preconditions {
            let r = Resolver {
                ctx,
                cache: env.cache,
                clock: env.clock,
                mode: Mode::Lenient,
            };
            match conditions::evaluate(&pre.to_any_all(), &r) {
                Err(e) => {
                    let msg = format!("failed to evaluate preconditions: {e}");
                    return (
                        self.response(RuleStatus::Error, msg),
                        None,
                        Vec::new(),
                        None,
                    );
                }
                Ok((false, msg)) => {
                    let text = if msg.is_empty() {
                        "preconditions not met".to_string()
                    } else {
                        format!("preconditions not met; {msg}")
                    };
                    return (
                        self.response(RuleStatus::Skip, text),
                        None,
                        Vec::new(),
                        None,
                    );
                }
                Ok((true, _)) => {}
            }
        }
        if self.with_targets {
            let targets = self.mutation.targets.as_deref().unwrap_or_default();
            let (responses, patched) =
                existing::run(self.rule, targets, self.policy_namespace, env, ctx);
            return (responses, None, patched, None);
        }
        let (outcome, plan) = patch_resource_traced(self.rule, resource, env, ctx);
        match outcome {
            Outcome::Changed(v) => {
                let msg = success_message(&v);
                (
                    self.response(RuleStatus::Pass, msg),
                    Some(v),
                    Vec::new(),
                    plan,
                )
            }
            Outcome::Unchanged(m) => (self.response(RuleStatus::Skip, m), None, Vec::new(), None),
            Outcome::Error(e) => (self.response(RuleStatus::Error, e), None, Vec::new(), None),
        }
    }
}

/// What one matched rule did: its responses, the patched resource when it changed, the targets
/// mutate-existing changed, and the prepared patch that may guide the diff.
type RunOutput<'e> = (
    Vec<RuleResponse>,
    Option<Value>,
    Vec<PatchedTarget>,
    Option<&'e palisade_patch::anchors::Plan>,
);

/// Applies the rule's foreach blocks or its patch to `resource`.
pub(crate) fn patch_resource(
    rule: &Rule,
    resource: &Value,
    env: &EvalEnv<'_>,
    ctx: &mut EvalContext,
) -> Outcome {
    patch_resource_traced(rule, resource, env, ctx).0
}

/// As [`patch_resource`], with the rule's prepared patch when the result differs from
/// `resource` only under its keys.
fn patch_resource_traced<'e>(
    rule: &Rule,
    resource: &Value,
    env: &EvalEnv<'e>,
    ctx: &mut EvalContext,
) -> (Outcome, Option<&'e palisade_patch::anchors::Plan>) {
    let Some(m) = &rule.mutate else {
        return (Outcome::Error("empty mutate rule".to_string()), None);
    };
    if let Some(blocks) = m.foreach.as_deref() {
        return (
            foreach::mutate(blocks, resource, env, &rule.name, ctx, 0),
            None,
        );
    }
    let r = Resolver {
        ctx,
        cache: env.cache,
        clock: env.clock,
        mode: Mode::Strict,
    };
    let plan = || {
        m.patch_strategic_merge
            .as_ref()
            .and_then(|p| env.cache.plain_patch(p))
            .flatten()
    };
    match patcher::apply_traced(
        resource,
        m.patch_strategic_merge.as_ref(),
        m.patches_json6902.as_deref(),
        &r,
    ) {
        Ok((Applied::Changed(v), guided)) => {
            (Outcome::Changed(v), if guided { plan() } else { None })
        }
        Ok((Applied::Unchanged(msg), _)) => (Outcome::Unchanged(msg), None),
        Err(e) => (Outcome::Error(e), None),
    }
}

/// Kyverno's message for a rule that changed a resource.
pub(crate) fn success_message(r: &Value) -> String {
    let kind = r.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = crate::matching::name_of(r);
    let ns = crate::matching::namespace_of(r);
    // Built by hand: `format!` costs more than the rest of the rule's bookkeeping.
    let mut out = String::with_capacity(30 + kind.len() + name.len() + ns.len());
    out.push_str("mutated ");
    out.push_str(kind);
    out.push('/');
    out.push_str(name);
    if !ns.is_empty() {
        out.push_str(" in namespace ");
        out.push_str(ns);
    }
    out
}
