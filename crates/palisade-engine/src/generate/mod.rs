//! `generate` rules: the downstream resources a trigger calls for (`data`, `clone`,
//! `cloneList`, `foreach`), computed as Kyverno's background controller computes them
//! (`pkg/engine/background.go`, `pkg/background/generate`).
//!
//! The engine does not write anything: it returns the desired resources, labelled as Kyverno
//! labels them, with what the controller has to do for each ([`Action`]), decided from the
//! existing objects it can read through [`crate::ContextSource::get_resource`]. The rule's
//! `synchronize`, `orphanDownstreamOnPolicyDelete` and `generateExisting` settings travel with
//! every resource.

mod build;
pub mod labels;
#[cfg(test)]
mod tests;

use palisade_api::generate::Generation;
use palisade_api::{Rule, RuleType};
use serde_json::Value;

use crate::conditions;
use crate::context::EvalContext;
use crate::entries::Loader;
use crate::matching::rule_matches;
use crate::mutate::gate::{Gate, Subject};
use crate::ports::Lookup;
use crate::response::{PolicyResponse, RuleResponse, RuleStatus};
use crate::validate::{add_element, evaluate_list};
use crate::variables::{Mode, Resolver};
use crate::{CompiledPolicy, Engine, EvalEnv, Inputs, Request};
use labels::{Owner, label_generated};

/// The generate rules of one policy for one trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateResponse {
    /// Rule responses, in rule order (rules that do not match have none).
    pub response: PolicyResponse,
    /// The desired downstream resources, in rule order.
    pub resources: Vec<Generated>,
}

/// What the controller has to do with a desired resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It does not exist yet: create it.
    Create,
    /// It exists, differs, and the rule synchronizes: update it.
    Update,
    /// It exists and is up to date, or the rule does not synchronize: leave it.
    Unchanged,
}

/// One desired downstream resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The rule that asks for it.
    pub rule: String,
    /// The resource, labelled with its policy, rule and trigger.
    pub resource: Value,
    /// What to do with it.
    pub action: Action,
    /// `synchronize`: keep it in line with the rule (and the clone source).
    pub synchronize: bool,
    /// `orphanDownstreamOnPolicyDelete`: keep it when the policy is deleted.
    pub orphan_downstream_on_policy_delete: bool,
    /// `generateExisting`: also generate for triggers that existed before the policy.
    pub generate_existing: bool,
    /// `useServerSideApply` of the policy.
    pub server_side_apply: bool,
}

impl Engine {
    /// Evaluates the generate rules of `policy` for the request's resource (the trigger).
    /// `ctx` is the request's context; it is returned unchanged.
    pub fn generate(
        &self,
        policy: &CompiledPolicy,
        request: &Request,
        ctx: &mut EvalContext,
        inputs: &Inputs<'_>,
    ) -> GenerateResponse {
        let name = policy.name();
        let gvk = request.gvk();
        let trigger = &request.object;
        let subject = Subject::new(self, policy, &name, request, &gvk, inputs.exceptions);
        let mut rules = Vec::new();
        let mut resources = Vec::new();
        for rule in &policy.rules {
            let Some(generation) = &rule.generate else {
                continue;
            };
            let gate = subject.check(rule, RuleType::Generation, trigger, ctx);
            let response = match gate {
                Gate::Excepted(resp) => resp,
                Gate::NotMatched => match old_object_matches(rule, policy, request) {
                    // Kyverno fails the rule so that the controller drops the trigger's work.
                    true => response(rule, RuleStatus::Fail, ""),
                    false => continue,
                },
                Gate::Proceed => {
                    let env = EvalEnv {
                        source: inputs.source,
                        cache: &policy.cache,
                        clock: &self.clock,
                        policy_name: &name,
                        pss_exceptions: &[],
                        pss_exception_names: &[],
                    };
                    let checkpoint = ctx.checkpoint();
                    for (k, v) in inputs.source.rule_values(&name, &rule.name) {
                        ctx.set(&k, v);
                    }
                    let run = RuleRun {
                        rule,
                        generation,
                        policy,
                        trigger,
                    };
                    let (resp, generated) = run.run(&env, ctx);
                    ctx.restore(checkpoint);
                    resources.extend(generated);
                    resp
                }
            };
            let applied = matches!(response.status, RuleStatus::Pass | RuleStatus::Fail);
            rules.push(response);
            if applied && policy.apply_one() {
                break;
            }
        }
        GenerateResponse {
            response: PolicyResponse {
                policy: name.into(),
                rules,
            },
            resources,
        }
    }
}

fn response(rule: &Rule, status: RuleStatus, message: impl Into<String>) -> RuleResponse {
    RuleResponse::new(&rule.name, RuleType::Generation, status, message)
}

fn old_object_matches(rule: &Rule, policy: &CompiledPolicy, request: &Request) -> bool {
    if request.old_object.is_null() {
        return false;
    }
    let gvk = crate::matching::Gvk::of(&request.old_object);
    let input = crate::match_input(request, &gvk, &request.old_object);
    rule_matches(
        &rule.match_,
        rule.exclude.as_ref(),
        policy.namespace(),
        &input,
    )
    .is_ok()
}

/// One matched generate rule.
struct RuleRun<'a> {
    rule: &'a Rule,
    generation: &'a Generation,
    policy: &'a CompiledPolicy,
    trigger: &'a Value,
}

impl RuleRun<'_> {
    fn run(&self, env: &EvalEnv<'_>, ctx: &mut EvalContext) -> (RuleResponse, Vec<Generated>) {
        let rule = self.rule;
        if let Err(e) = load(env, ctx, rule.context.as_deref()) {
            return (response(rule, RuleStatus::Error, e), Vec::new());
        }
        match preconditions(env, ctx, rule.preconditions.as_ref()) {
            Err(e) => return (response(rule, RuleStatus::Error, e), Vec::new()),
            Ok(Some(msg)) => return (response(rule, RuleStatus::Skip, msg), Vec::new()),
            Ok(None) => {}
        }
        let desired = match self.generation.foreach.as_deref() {
            Some(blocks) => self.foreach(blocks, env, ctx),
            None => build::desired(&pattern_value(self.generation), env, ctx),
        };
        match desired {
            Err(e) => (response(rule, RuleStatus::Error, e), Vec::new()),
            Ok(list) => {
                let generated: Vec<Generated> =
                    list.into_iter().map(|r| self.finish(r, env)).collect();
                let message = summary(&generated);
                (response(rule, RuleStatus::Pass, message), generated)
            }
        }
    }

    /// Each block's elements generate with their own context and preconditions; errors are
    /// collected, as Kyverno does, and reported together.
    fn foreach(
        &self,
        blocks: &[palisade_api::generate::ForEachGeneration],
        env: &EvalEnv<'_>,
        ctx: &mut EvalContext,
    ) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            let elements = match evaluate_list(&block.list, env, ctx) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(format!("failed to evaluate {i} foreach list: {e}"));
                    continue;
                }
            };
            let checkpoint = ctx.checkpoint();
            for (index, element) in elements.iter().enumerate() {
                if element.is_null() {
                    continue;
                }
                ctx.restore(checkpoint);
                add_element(ctx, element, index, 0);
                match self.element(block, env, ctx) {
                    Ok(list) => out.extend(list),
                    Err(e) => errors.push(format!("failed to process {index} element: {e}")),
                }
            }
            ctx.restore(checkpoint);
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors.join("; "))
        }
    }

    fn element(
        &self,
        block: &palisade_api::generate::ForEachGeneration,
        env: &EvalEnv<'_>,
        ctx: &mut EvalContext,
    ) -> Result<Vec<Value>, String> {
        load(env, ctx, block.context.as_deref())?;
        if preconditions(env, ctx, block.preconditions.as_ref())?.is_some() {
            return Ok(Vec::new());
        }
        let raw = serde_json::json!({
            "apiVersion": block.api_version, "kind": block.kind,
            "namespace": block.namespace, "name": block.name,
            "data": block.data, "clone": block.clone, "cloneList": block.clone_list,
        });
        build::desired(&raw, env, ctx)
    }

    /// Labels a desired resource and decides what the controller does with it.
    fn finish(&self, mut resource: Value, env: &EvalEnv<'_>) -> Generated {
        let policy = &self.policy.policy;
        let policy_namespace = if policy.is_namespaced() {
            policy.metadata.namespace.as_deref().unwrap_or_default()
        } else {
            ""
        };
        label_generated(
            &mut resource,
            &Owner {
                policy: &policy.metadata.name,
                policy_namespace,
                rule: &self.rule.name,
                trigger: self.trigger,
            },
        );
        let g = self.generation;
        let synchronize = g.synchronize.unwrap_or(false);
        let action = action(&resource, synchronize, env);
        Generated {
            rule: self.rule.name.clone(),
            resource,
            action,
            synchronize,
            orphan_downstream_on_policy_delete: g
                .orphan_downstream_on_policy_delete
                .unwrap_or(false),
            generate_existing: g
                .generate_existing
                .or(policy.spec.generate_existing)
                .or(policy.spec.generate_existing_on_policy_update)
                .unwrap_or(false),
            server_side_apply: policy.spec.use_server_side_apply.unwrap_or(false),
        }
    }
}

/// The rule's own pattern fields as one JSON document, for substitution.
fn pattern_value(g: &Generation) -> Value {
    serde_json::json!({
        "apiVersion": g.api_version, "kind": g.kind,
        "namespace": g.namespace, "name": g.name,
        "data": g.data, "clone": g.clone, "cloneList": g.clone_list,
    })
}

fn load(
    env: &EvalEnv<'_>,
    ctx: &mut EvalContext,
    entries: Option<&[palisade_api::context::ContextEntry]>,
) -> Result<(), String> {
    let loader = Loader {
        source: env.source,
        cache: env.cache,
        clock: env.clock,
    };
    loader
        .load(ctx, entries.unwrap_or_default())
        .map_err(|e| format!("failed to load context: {e}"))
}

/// `Ok(None)` when the preconditions hold, `Ok(Some(message))` when they do not.
fn preconditions(
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
    pre: Option<&palisade_api::Conditions>,
) -> Result<Option<String>, String> {
    let Some(pre) = pre else {
        return Ok(None);
    };
    let r = Resolver {
        ctx,
        cache: env.cache,
        clock: env.clock,
        mode: Mode::Lenient,
    };
    match conditions::evaluate(&pre.to_any_all(), &r) {
        Err(e) => Err(format!("failed to evaluate preconditions: {e}")),
        Ok((true, _)) => Ok(None),
        Ok((false, msg)) if msg.is_empty() => Ok(Some("preconditions not met".to_string())),
        Ok((false, msg)) => Ok(Some(format!("preconditions not met; {msg}"))),
    }
}

/// Create when the object does not exist; update only when the rule synchronizes and the
/// object lacks some of the desired fields.
fn action(desired: &Value, synchronize: bool, env: &EvalEnv<'_>) -> Action {
    let api_version = desired
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = desired
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = crate::matching::namespace_of(desired);
    let name = crate::matching::name_of(desired);
    match env.source.get_resource(api_version, kind, namespace, name) {
        Lookup::Found(existing) if !synchronize || contains(&existing, desired) => {
            Action::Unchanged
        }
        Lookup::Found(_) => Action::Update,
        Lookup::Failed(_) | Lookup::Unavailable => Action::Create,
    }
}

/// True when every field of `part` is in `whole` with the same value.
fn contains(whole: &Value, part: &Value) -> bool {
    match (whole, part) {
        (Value::Object(w), Value::Object(p)) => p
            .iter()
            .all(|(k, v)| w.get(k).is_some_and(|wv| contains(wv, v))),
        _ => whole == part,
    }
}

fn summary(generated: &[Generated]) -> String {
    if generated.is_empty() {
        return "no resources to generate".to_string();
    }
    let names: Vec<String> = generated
        .iter()
        .map(|g| {
            let r = &g.resource;
            let kind = r.get("kind").and_then(Value::as_str).unwrap_or_default();
            match crate::matching::namespace_of(r) {
                "" => format!("{kind}/{}", crate::matching::name_of(r)),
                ns => format!("{kind}/{ns}/{}", crate::matching::name_of(r)),
            }
        })
        .collect();
    format!("generated {}", names.join(", "))
}
