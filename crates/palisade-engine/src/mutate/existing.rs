//! mutate-existing (`mutate.targets`): the rule patches other objects of the cluster, each
//! visible to the rule as the `target` variable (Kyverno's `mutateExistingHandler`).

use palisade_api::mutate::Target;
use palisade_api::{Rule, RuleType};
use palisade_primitives::wildcard;
use serde_json::Value;

use super::{Outcome, PatchedTarget, patch_resource, success_message};
use crate::EvalEnv;
use crate::conditions;
use crate::context::EvalContext;
use crate::entries::Loader;
use crate::matching::{labels_of, name_of, namespace_of, selector_matches};
use crate::ports::Lookup;
use crate::response::{RuleResponse, RuleStatus};
use crate::variables::{Mode, Resolver, substitute_all};

/// Where one target spec points, after variable substitution.
struct Spec {
    api_version: String,
    kind: String,
    namespace: String,
    name: String,
}

fn error(rule: &Rule, message: String) -> RuleResponse {
    RuleResponse::new(&rule.name, RuleType::Mutation, RuleStatus::Error, message)
}

/// Mutates every target of the rule; one response per target (and per target spec that could
/// not be resolved).
pub(super) fn run(
    rule: &Rule,
    targets: &[Target],
    policy_namespace: Option<&str>,
    env: &EvalEnv<'_>,
    ctx: &mut EvalContext,
) -> (Vec<RuleResponse>, Vec<PatchedTarget>) {
    let mut responses = Vec::new();
    let mut patched = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let objects = match resolve(i, target, env, ctx)
            .and_then(|spec| load(&spec, target, policy_namespace, env))
        {
            Ok(o) => o,
            Err(e) => {
                responses.push(error(rule, e));
                continue;
            }
        };
        for object in objects {
            let checkpoint = ctx.checkpoint();
            ctx.set("target", object.clone());
            let (resp, result) = mutate_target(rule, target, &object, env, ctx);
            ctx.restore(checkpoint);
            responses.push(resp);
            if let Some(p) = result {
                patched.push(PatchedTarget {
                    rule: rule.name.clone(),
                    original: object,
                    patched: p,
                });
            }
        }
    }
    (responses, patched)
}

fn resolve(i: usize, t: &Target, env: &EvalEnv<'_>, ctx: &EvalContext) -> Result<Spec, String> {
    let r = Resolver {
        ctx,
        cache: env.cache,
        clock: env.clock,
        mode: Mode::Strict,
    };
    let field = |name: &str, value: Option<&String>| -> Result<String, String> {
        let raw = Value::String(value.cloned().unwrap_or_default());
        match substitute_all(&raw, &r) {
            Ok(v) => Ok(match v.as_ref() {
                Value::String(s) => s.clone(),
                other => crate::value::go_sprint(other),
            }),
            Err(e) => Err(format!(
                "failed to substitute variables in target[{i}].{name}: {e}"
            )),
        }
    };
    Ok(Spec {
        api_version: field("APIVersion", t.api_version.as_ref())?,
        kind: field("Kind", t.kind.as_ref())?,
        namespace: field("Namespace", t.namespace.as_ref())?,
        name: field("Name", t.name.as_ref())?,
    })
}

/// The objects a target spec selects: namespace and name may be wildcards; a namespaced
/// policy only reaches its own namespace.
fn load(
    spec: &Spec,
    target: &Target,
    policy_namespace: Option<&str>,
    env: &EvalEnv<'_>,
) -> Result<Vec<Value>, String> {
    let namespace = policy_namespace.unwrap_or(&spec.namespace);
    let listed = match env.source.list_resources(&spec.api_version, &spec.kind, "") {
        Lookup::Found(Value::Array(items)) => items,
        Lookup::Found(_) | Lookup::Unavailable => Vec::new(),
        Lookup::Failed(e) => {
            return Err(format!(
                "failed to get targets {}/{} {namespace}/{}: {e}",
                spec.api_version, spec.kind, spec.name
            ));
        }
    };
    Ok(listed
        .into_iter()
        .filter(|o| namespace.is_empty() || wildcard::matches(namespace, namespace_of(o)))
        .filter(|o| spec.name.is_empty() || wildcard::matches(&spec.name, name_of(o)))
        .filter(|o| {
            target
                .selector
                .as_ref()
                .is_none_or(|s| selector_matches(s, &labels_of(o)))
        })
        .collect())
}

fn mutate_target(
    rule: &Rule,
    target: &Target,
    object: &Value,
    env: &EvalEnv<'_>,
    ctx: &mut EvalContext,
) -> (RuleResponse, Option<Value>) {
    let loader = Loader {
        source: env.source,
        cache: env.cache,
        clock: env.clock,
    };
    if let Err(e) = loader.load(ctx, target.context.as_deref().unwrap_or_default()) {
        return (error(rule, format!("failed to load context: {e}")), None);
    }
    if let Some(pre) = &target.preconditions {
        let r = Resolver {
            ctx,
            cache: env.cache,
            clock: env.clock,
            mode: Mode::Lenient,
        };
        match conditions::evaluate(&pre.to_any_all(), &r) {
            Err(e) => {
                return (
                    error(rule, format!("failed to evaluate preconditions: {e}")),
                    None,
                );
            }
            Ok((false, msg)) => {
                let text = if msg.is_empty() {
                    "preconditions not met".to_string()
                } else {
                    format!("preconditions not met; {msg}")
                };
                let resp =
                    RuleResponse::new(&rule.name, RuleType::Mutation, RuleStatus::Skip, text);
                return (resp, None);
            }
            Ok((true, _)) => {}
        }
    }
    match patch_resource(rule, object, env, ctx) {
        Outcome::Changed(patched) => {
            let msg = success_message(&patched);
            let resp = RuleResponse::new(&rule.name, RuleType::Mutation, RuleStatus::Pass, msg);
            (resp, Some(patched))
        }
        Outcome::Unchanged(msg) => (
            RuleResponse::new(&rule.name, RuleType::Mutation, RuleStatus::Skip, msg),
            None,
        ),
        Outcome::Error(e) => (error(rule, e), None),
    }
}
