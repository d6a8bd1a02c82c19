//! `mutate.foreach`: per-element mutations, nested blocks, `order`, per-element context and
//! preconditions (Kyverno's `forEachMutator`).
//!
//! Each block evaluates its list against the context as it stands before the block; every
//! element's patch applies to the output of the previous element. A strategic merge patch walks
//! the list backwards unless `order` says otherwise, so that index-based patches stay valid.

use palisade_api::mutate::ForEachMutation;
use serde_json::Value;

use super::Outcome;
use super::patcher::{self, Applied};
use crate::EvalEnv;
use crate::conditions;
use crate::context::EvalContext;
use crate::entries::Loader;
use crate::validate::{add_element, evaluate_list};
use crate::variables::{Mode, Resolver};

/// Bound on foreach nesting; policies never need more, hostile ones cannot recurse forever.
const MAX_NESTING: usize = 16;

/// Runs the blocks in order on `resource`.
pub(super) fn mutate(
    blocks: &[ForEachMutation],
    resource: &Value,
    env: &EvalEnv<'_>,
    rule_name: &str,
    ctx: &mut EvalContext,
    nesting: usize,
) -> Outcome {
    if nesting > MAX_NESTING {
        return Outcome::Error(format!("foreach nested deeper than {MAX_NESTING} levels"));
    }
    let mut current = resource.clone();
    let mut applied = 0;
    for block in blocks {
        let elements = match evaluate_list(&block.list, env, ctx) {
            Ok(e) => e,
            Err(e) => {
                return Outcome::Error(format!("failed to evaluate list {}: {e}", block.list));
            }
        };
        match mutate_elements(block, &elements, &current, env, rule_name, ctx, nesting) {
            Outcome::Error(e) => return Outcome::Error(format!("failed to mutate elements: {e}")),
            Outcome::Unchanged(_) => {}
            Outcome::Changed(patched) => {
                applied += 1;
                current = patched;
                // Later blocks see the patched resource (Kyverno's AddResource).
                ctx.set("request.object", current.clone());
            }
        }
    }
    if applied == 0 {
        return Outcome::Unchanged(format!("{applied} elements processed"));
    }
    Outcome::Changed(current)
}

fn reverse_order(block: &ForEachMutation) -> bool {
    match block.order.as_deref() {
        Some(order) => order == "Descending",
        None => block.patch_strategic_merge.is_some(),
    }
}

fn mutate_elements(
    block: &ForEachMutation,
    elements: &[Value],
    resource: &Value,
    env: &EvalEnv<'_>,
    rule_name: &str,
    ctx: &mut EvalContext,
    nesting: usize,
) -> Outcome {
    let checkpoint = ctx.checkpoint();
    let mut patched = resource.clone();
    let mut order: Vec<usize> = (0..elements.len()).collect();
    if reverse_order(block) {
        order.reverse();
    }
    for index in order {
        let Some(element) = elements.get(index).filter(|e| !e.is_null()) else {
            continue;
        };
        ctx.restore(checkpoint);
        let result = mutate_element(
            block, element, index, &patched, env, rule_name, ctx, nesting,
        );
        match result {
            Outcome::Error(e) => {
                ctx.restore(checkpoint);
                return Outcome::Error(e);
            }
            Outcome::Changed(v) => patched = v,
            Outcome::Unchanged(_) => {}
        }
    }
    ctx.restore(checkpoint);
    if patched == *resource {
        Outcome::Unchanged("no patches applied".to_string())
    } else {
        Outcome::Changed(patched)
    }
}

#[allow(clippy::too_many_arguments)]
fn mutate_element(
    block: &ForEachMutation,
    element: &Value,
    index: usize,
    resource: &Value,
    env: &EvalEnv<'_>,
    rule_name: &str,
    ctx: &mut EvalContext,
    nesting: usize,
) -> Outcome {
    add_element(ctx, element, index, nesting);
    for (k, v) in env.source.foreach_values(env.policy_name, rule_name, index) {
        ctx.set(&k, v);
    }
    let loader = Loader {
        source: env.source,
        cache: env.cache,
        clock: env.clock,
    };
    if let Err(e) = loader.load(ctx, block.context.as_deref().unwrap_or_default()) {
        return Outcome::Error(format!(
            "failed to load to mutate.foreach[{index}].context: {e}"
        ));
    }
    if let Some(pre) = &block.preconditions {
        let r = resolver(env, ctx, Mode::Lenient);
        match conditions::evaluate(&pre.to_any_all(), &r) {
            Err(e) => {
                return Outcome::Error(format!(
                    "failed to evaluate mutate.foreach[{index}].preconditions: {e}"
                ));
            }
            Ok((false, _)) => return Outcome::Unchanged("preconditions not met".to_string()),
            Ok((true, _)) => {}
        }
    }
    if let Some(nested) = block.foreach.as_deref() {
        return mutate(nested, resource, env, rule_name, ctx, nesting + 1);
    }
    let r = resolver(env, ctx, Mode::Strict);
    match patcher::apply(
        resource,
        block.patch_strategic_merge.as_ref(),
        block.patches_json6902.as_deref(),
        &r,
    ) {
        Ok(Applied::Changed(v)) => Outcome::Changed(v),
        Ok(Applied::Unchanged(m)) => Outcome::Unchanged(m),
        Err(e) => Outcome::Error(e),
    }
}

fn resolver<'a>(env: &'a EvalEnv<'_>, ctx: &'a EvalContext, mode: Mode) -> Resolver<'a> {
    Resolver {
        ctx,
        cache: env.cache,
        clock: env.clock,
        mode,
    }
}
