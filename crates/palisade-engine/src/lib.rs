//! The Kyverno-compatible evaluation core of Palisade: pure, synchronous and deterministic.
//!
//! Newcomers should start with [`Engine::validate`]: compile a policy once with
//! [`policy::compile`], build a [`Request`] for each resource, and read the
//! [`PolicyResponse`]. Rule outcomes are data ([`RuleStatus`]); only loading can fail.
//! Cluster data reaches the engine through the [`ports::ContextSource`] trait.

pub mod anchor;
pub mod autogen;
pub mod background;
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
pub use request::{PreparedRequest, Request};
pub use response::{Message, PolicyResponse, RuleResponse, RuleStatus};

use matching::{Gvk, MatchInput, rule_matches};

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

/// Where the resource under evaluation is read from.
#[derive(Clone, Copy)]
enum ResourceAt<'r> {
    /// The request (its context holds a copy).
    Request(&'r Request),
    /// The context only (a [`PreparedRequest`]).
    Context,
}

impl<'r> ResourceAt<'r> {
    fn get<'a>(self, ctx: &'a EvalContext) -> &'a Value
    where
        'r: 'a,
    {
        match self {
            ResourceAt::Request(r) => r.resource(),
            ResourceAt::Context => ctx.resource(),
        }
    }
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
        let gvk = request.gvk();
        let at = ResourceAt::Request(request);
        self.validate_at(policy, request, at, &gvk, ctx, inputs)
    }

    /// [`Engine::validate`] on a [`PreparedRequest`]: the same outcomes, without the copy of
    /// the object that [`Request::context`] makes. The prepared request is returned
    /// unchanged, so it serves many policies.
    pub fn validate_prepared(
        &self,
        policy: &CompiledPolicy,
        prepared: &mut PreparedRequest,
        inputs: &Inputs<'_>,
    ) -> PolicyResponse {
        let PreparedRequest { head, ctx, gvk } = prepared;
        self.validate_at(policy, head, ResourceAt::Context, gvk, ctx, inputs)
    }

    /// [`Engine::validate_prepared`] for each of `policies` in turn, with their responses in
    /// the same order: the same outcomes as one call per policy. The request's object is
    /// looked up once for the rules that only read the context (patterns and deny
    /// conditions without context entries), not once per rule.
    pub fn validate_set<'p>(
        &self,
        policies: impl IntoIterator<Item = &'p CompiledPolicy>,
        prepared: &mut PreparedRequest,
        inputs: &Inputs<'_>,
    ) -> Vec<PolicyResponse> {
        let policies = policies.into_iter();
        let mut out = Vec::with_capacity(policies.size_hint().0);
        let PreparedRequest { head, ctx, gvk } = prepared;
        self.validate_each(policies, head, ResourceAt::Context, gvk, ctx, inputs, |r| {
            out.push(r)
        });
        out
    }

    fn validate_at(
        &self,
        policy: &CompiledPolicy,
        request: &Request,
        at: ResourceAt<'_>,
        gvk: &Gvk,
        ctx: &mut EvalContext,
        inputs: &Inputs<'_>,
    ) -> PolicyResponse {
        let mut out = None;
        self.validate_each(
            std::iter::once(policy),
            request,
            at,
            gvk,
            ctx,
            inputs,
            |r| out = Some(r),
        );
        out.unwrap_or_else(|| PolicyResponse {
            policy: policy.shared_name(),
            rules: Vec::new(),
        })
    }

    /// Evaluates the validate rules of each policy, handing each policy's response to `out`.
    /// One loop for all the policies, so a reference to the resource can be kept from one
    /// rule to the next while nothing changes the context.
    #[allow(clippy::too_many_arguments)]
    fn validate_each<'p>(
        &self,
        policies: impl Iterator<Item = &'p CompiledPolicy>,
        request: &Request,
        at: ResourceAt<'_>,
        gvk: &Gvk,
        ctx: &mut EvalContext,
        inputs: &Inputs<'_>,
        mut out: impl FnMut(PolicyResponse),
    ) {
        // The resource as last looked up in the context; cleared before anything changes
        // the context (the borrow checker holds us to that).
        let mut resource: Option<&Value> = None;
        for policy in policies {
            let name = policy.shared_name();
            // Up to 64 rules are matched at once (one look at the resource for the policy); a
            // longer list, from where the mask ends, one matching rule at a time.
            let mut matched = match_mask(policy, request, gvk, &|| at.get(ctx));
            let mut rules = Vec::with_capacity(matched.count_ones() as usize);
            let mut from = 0;
            loop {
                let next = if matched != 0 {
                    let index = matched.trailing_zeros() as usize;
                    matched &= matched - 1;
                    policy
                        .rules
                        .get(index)
                        .and_then(|r| Some((index, r, r.validate.as_ref()?)))
                } else if policy.rules.len() > 64 {
                    next_match(
                        policy,
                        from.max(64),
                        &match_input(request, gvk, at.get(ctx)),
                    )
                } else {
                    None
                };
                let Some((index, rule, validation)) = next else {
                    break;
                };
                from = index + 1;
                let checkpoint = ctx.checkpoint();
                let values = inputs.source.rule_values(&name, &rule.name);
                // Exceptions match the resource as it was before the values (which may set
                // `request.object` fields) were added.
                let before = match at {
                    ResourceAt::Context if !values.is_empty() && !inputs.exceptions.is_empty() => {
                        Some(ctx.resource().clone())
                    }
                    _ => None,
                };
                let unchanged = values.is_empty();
                if !unchanged {
                    resource = None;
                    for (k, v) in values {
                        ctx.set(&k, v);
                    }
                }
                let excepted: Vec<&Exception> = if inputs.exceptions.is_empty() {
                    Vec::new()
                } else {
                    let r = variables::Resolver {
                        ctx,
                        cache: &policy.cache,
                        clock: &self.clock,
                        mode: variables::Mode::Lenient,
                    };
                    let resource = before.as_ref().unwrap_or_else(|| at.get(ctx));
                    inputs
                        .exceptions
                        .iter()
                        .filter(|e| {
                            e.covers(&name, &rule.name)
                                && e.applies(&match_input(request, gvk, resource), &r)
                        })
                        .collect()
                };
                let all_pss = !excepted.is_empty()
                    && validation.pod_security.is_some()
                    && excepted.iter().all(|e| e.has_pod_security());
                let mut response = if !excepted.is_empty() && !all_pss {
                    let keys: Vec<String> = excepted.iter().map(|e| e.key()).collect();
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
                    // Most rules have no exception: no collections to build and free then.
                    let (pss_exceptions, pss_names): (Vec<PodSecurityExclude>, Vec<String>) =
                        if excepted.is_empty() {
                            (Vec::new(), Vec::new())
                        } else {
                            (
                                excepted
                                    .iter()
                                    .flat_map(|e| {
                                        e.exception.spec.pod_security.clone().unwrap_or_default()
                                    })
                                    .collect(),
                                excepted.iter().map(|e| e.key()).collect(),
                            )
                        };
                    let env = EvalEnv {
                        source: inputs.source,
                        cache: &policy.cache,
                        clock: &self.clock,
                        policy_name: &name,
                        pss_exceptions: &pss_exceptions,
                        pss_exception_names: &pss_names,
                    };
                    if unchanged && validate::reads_only(rule, validation) {
                        // Nothing to set or restore: the resource found for an earlier rule
                        // is still the one in the context.
                        let found = *resource.get_or_insert_with(|| ctx.resource());
                        validate::validate_read_only(rule, validation, &env, ctx, found)
                    } else {
                        resource = None;
                        validate::validate_rule(rule, validation, &env, ctx)
                    }
                };
                if ctx.checkpoint() != checkpoint {
                    resource = None;
                    ctx.restore(checkpoint);
                }
                // An unscored policy (`policies.kyverno.io/scored: "false"`) reports failures as warnings.
                if response.status == RuleStatus::Fail && !policy.scored() {
                    response.status = RuleStatus::Warn;
                }
                response.failure_action = Some(failure_action(policy, rule, request, || {
                    matching::namespace_of(at.get(ctx))
                }));
                if let Some(properties) = &rule.report_properties {
                    response.properties = properties.clone().into_iter().collect();
                }
                let applied = matches!(response.status, RuleStatus::Pass | RuleStatus::Fail);
                rules.push(response);
                if applied && policy.apply_one() {
                    break;
                }
            }
            out(PolicyResponse {
                policy: name,
                rules,
            });
        }
    }
}

/// Bit `i` set for each of the first 64 rules that is a validate rule matching the request.
/// The resource is read only for rules that the kind alone does not decide.
fn match_mask<'a>(
    policy: &CompiledPolicy,
    request: &'a Request,
    gvk: &'a Gvk,
    resource: &dyn Fn() -> &'a Value,
) -> u64 {
    let cluster_wide = policy.namespace().is_none_or(str::is_empty);
    let mut input = None;
    if let Some(masks) = policy.cache.kind_masks(&policy.rules) {
        // The same decisions as the loop below, from masks made when compiling.
        let mut candidates = masks.accepting(&gvk.kind);
        let mut mask = 0u64;
        if cluster_wide {
            let decided = candidates & masks.kind_decides;
            if decided != 0 && matching::kinds_alone_match(gvk, &request.subresource) {
                mask |= decided;
            }
            candidates &= !decided;
        }
        while candidates != 0 {
            let i = candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            let Some(rule) = policy.rules.get(i) else {
                continue;
            };
            let input = input.get_or_insert_with(|| match_input(request, gvk, resource()));
            if applies(policy, i, rule, input).is_some() {
                mask |= 1 << i;
            }
        }
        return mask;
    }
    match_mask_each(policy, request, gvk, resource)
}

/// [`match_mask`] one rule at a time (a rule list changed since compiling).
fn match_mask_each<'a>(
    policy: &CompiledPolicy,
    request: &'a Request,
    gvk: &'a Gvk,
    resource: &dyn Fn() -> &'a Value,
) -> u64 {
    let cluster_wide = policy.namespace().is_none_or(str::is_empty);
    let mut input = None;
    let mut mask = 0u64;
    for (i, rule) in policy.rules.iter().take(64).enumerate() {
        let applies = if rule.validate.is_none() || policy.cache.rejects_kind(i, rule, &gvk.kind) {
            false
        } else if cluster_wide && policy.cache.matches_by_kind(i, rule) {
            matching::kinds_alone_match(gvk, &request.subresource)
        } else {
            let input = input.get_or_insert_with(|| match_input(request, gvk, resource()));
            applies(policy, i, rule, input).is_some()
        };
        if applies {
            mask |= 1 << i;
        }
    }
    mask
}

/// The first validate rule from index `from` on that matches, with its index: the resource
/// is looked up once for all the rules that do not match.
fn next_match<'p>(
    policy: &'p CompiledPolicy,
    from: usize,
    input: &MatchInput<'_>,
) -> Option<(
    usize,
    &'p palisade_api::Rule,
    &'p palisade_api::validate::Validation,
)> {
    let rules = policy.rules.get(from..)?;
    rules.iter().enumerate().find_map(|(i, rule)| {
        let index = from + i;
        applies(policy, index, rule, input).map(|v| (index, rule, v))
    })
}

/// The validation of rule `index` when it is a validate rule that matches the input.
fn applies<'p>(
    policy: &CompiledPolicy,
    index: usize,
    rule: &'p palisade_api::Rule,
    input: &MatchInput<'_>,
) -> Option<&'p palisade_api::validate::Validation> {
    let validation = rule.validate.as_ref()?;
    if policy.cache.rejects_kind(index, rule, &input.gvk.kind) {
        return None;
    }
    rule_matches(
        &rule.match_,
        rule.exclude.as_ref(),
        policy.namespace(),
        input,
    )
    .is_ok()
    .then_some(validation)
}

/// What matching looks at for `resource` (the request's object, or another one it stands for)
/// in this request.
pub(crate) fn match_input<'a>(
    request: &'a Request,
    gvk: &'a Gvk,
    resource: &'a Value,
) -> MatchInput<'a> {
    MatchInput {
        resource,
        gvk,
        subresource: &request.subresource,
        operation: &request.operation,
        namespace_labels: request.namespace_labels.as_ref(),
        request: &request.user,
    }
}

/// The failure action for `rule` on this request's namespace, after overrides.
fn failure_action<'a>(
    policy: &CompiledPolicy,
    rule: &palisade_api::Rule,
    request: &Request,
    namespace: impl FnOnce() -> &'a str,
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
    let Some(overrides) = overrides.filter(|o| !o.is_empty()) else {
        return base;
    };
    let ns = namespace();
    for o in overrides {
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

#[cfg(test)]
mod mask_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_masks_decide_as_the_rule_by_rule_loop() {
        let policy = |namespace: Option<&str>| {
            let mut metadata = json!({"name": "p"});
            let kind = match namespace {
                Some(ns) => {
                    metadata["namespace"] = json!(ns);
                    "Policy"
                }
                None => "ClusterPolicy",
            };
            compile(
                serde_json::from_value(json!({
                    "apiVersion": "kyverno.io/v1", "kind": kind, "metadata": metadata,
                    "spec": {"rules": [
                        {"name": "pod", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                         "validate": {"pattern": {"metadata": {"name": "?*"}}}},
                        {"name": "named", "match": {"any": [{"resources": {"kinds": ["Pod", "Service"], "names": ["a*"]}}]},
                         "validate": {"pattern": {"metadata": {"name": "?*"}}}},
                        {"name": "any-kind", "match": {"any": [{"resources": {"namespaces": ["n"]}}]},
                         "validate": {"pattern": {"metadata": {"name": "?*"}}}},
                        {"name": "excluded", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                         "exclude": {"any": [{"resources": {"names": ["b"]}}]},
                         "validate": {"pattern": {"metadata": {"name": "?*"}}}},
                        {"name": "mutation", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                         "mutate": {"patchStrategicMerge": {"metadata": {"labels": {"x": "y"}}}}},
                        {"name": "wild", "match": {"any": [{"resources": {"kinds": ["*"]}}]},
                         "validate": {"pattern": {"metadata": {"name": "?*"}}}}
                    ]}
                }))
                .unwrap(),
            )
            .unwrap()
        };
        for p in [policy(None), policy(Some("n"))] {
            for (kind, name, ns, sub) in [
                ("Pod", "a1", "n", ""),
                ("Pod", "b", "n", ""),
                ("Pod", "b", "m", "status"),
                ("Pod", "c", "n", "ephemeralcontainers"),
                ("Service", "a2", "n", ""),
                ("Deployment", "a", "m", ""),
                ("ConfigMap", "c", "n", ""),
            ] {
                let resource = json!({"apiVersion": "v1", "kind": kind,
                                      "metadata": {"name": name, "namespace": ns}});
                let mut request = Request::create(resource.clone());
                request.subresource = sub.to_string();
                let gvk = request.gvk();
                assert!(p.cache.kind_masks(&p.rules).is_some());
                assert_eq!(
                    match_mask(&p, &request, &gvk, &|| &resource),
                    match_mask_each(&p, &request, &gvk, &|| &resource),
                    "{kind} {name} {ns} {sub}"
                );
            }
        }
    }
}
