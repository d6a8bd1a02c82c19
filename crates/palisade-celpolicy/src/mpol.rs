//! MutatingPolicy (with autogen and CEL exceptions) and MutatingAdmissionPolicy: mutations
//! applied in order to the matched object. Kyverno reports a rule named "" (MutatingPolicy)
//! or after the policy (MutatingAdmissionPolicy): pass with the patched object, skip when
//! match conditions do not hold or an exception applies, error when a mutation fails.

use std::sync::Arc;

use palisade_api::RuleType;
use palisade_engine::validate::cel::admission::{self, MatchOutcome, Named};
use palisade_engine::{PolicyResponse, RuleResponse, RuleStatus};
use serde_json::Value;

use crate::api::admission::FailurePolicy;
use crate::api::{MatchResources, MutatingAdmissionPolicy, MutatingPolicy, PolicyBinding};
use crate::autogen;
use crate::env::{KYVERNO, PolicyError};
use crate::exception::CompiledException;
use crate::matching;
use crate::mutation::{self, CompiledMutation, Merge};
use crate::request::CelRequest;

/// A policy's responses and the object after its mutations (when it mutated).
#[derive(Debug, Clone)]
pub struct MutateOutcome {
    /// The responses.
    pub response: PolicyResponse,
    /// The mutated object.
    pub patched: Option<Value>,
}

#[derive(Debug)]
struct Body {
    constraints: Option<MatchResources>,
    conditions: Vec<Named>,
    variables: Arc<[Named]>,
    mutations: Vec<CompiledMutation>,
}

/// A MutatingPolicy ready to evaluate.
#[derive(Debug)]
pub struct CompiledMutatingPolicy {
    /// The policy as written.
    pub policy: Arc<MutatingPolicy>,
    variants: Vec<Body>,
}

impl CompiledMutatingPolicy {
    /// Parses and type-checks every expression, for the policy and its autogen variants.
    pub fn compile(policy: MutatingPolicy) -> Result<Self, PolicyError> {
        let err = |e| PolicyError::new(&policy.kind, &policy.metadata.name, e);
        let spec = &policy.spec;
        let conditions =
            admission::compile_conditions(&KYVERNO, "spec.matchConditions", &spec.match_conditions)
                .map_err(err)?;
        let variables = admission::compile_variables(&KYVERNO, "spec.variables", &spec.variables)
            .map_err(err)?;
        let same = |s: &str| s.to_string();
        let mut variants = vec![Body {
            constraints: spec.match_constraints.clone(),
            conditions,
            variables: variables.clone(),
            mutations: mutation::compile(&KYVERNO, "spec.mutations", &spec.mutations, &same)
                .map_err(err)?,
        }];
        for v in autogen::variants(spec.match_constraints.as_ref(), &[], spec.autogen.as_ref()) {
            let cronjob = v.name == "cronjobs";
            let fix = |s: &str| autogen::apply_configuration(s, cronjob);
            variants.push(Body {
                constraints: Some(v.match_constraints.clone()),
                conditions: admission::compile_conditions(
                    &KYVERNO,
                    "spec.matchConditions",
                    &spec.match_conditions,
                )
                .map_err(err)?,
                variables: variables.clone(),
                mutations: mutation::compile(&KYVERNO, "spec.mutations", &spec.mutations, &fix)
                    .map_err(err)?,
            });
        }
        Ok(CompiledMutatingPolicy {
            policy: Arc::new(policy),
            variants,
        })
    }

    /// The name reports use.
    pub fn name(&self) -> String {
        match (&self.policy.kind[..], &self.policy.metadata.namespace) {
            ("NamespacedMutatingPolicy", Some(ns)) if !ns.is_empty() => {
                format!("{ns}/{}", self.policy.metadata.name)
            }
            _ => self.policy.metadata.name.clone(),
        }
    }

    /// Mutates the request's object.
    /// Mutates `object`, the object of `req`.
    pub fn mutate(
        &self,
        req: &CelRequest,
        object: &Value,
        exceptions: &[&CompiledException],
    ) -> MutateOutcome {
        let mut out = MutateOutcome {
            response: PolicyResponse {
                policy: self.name().into(),
                rules: Vec::new(),
            },
            patched: None,
        };
        if req.is_json()
            || self
                .policy
                .spec
                .evaluation
                .as_ref()
                .and_then(|e| e.mode.as_deref())
                .is_some_and(|m| m != "Kubernetes")
        {
            return out;
        }
        if self.policy.kind == "NamespacedMutatingPolicy"
            && self.policy.metadata.namespace.as_deref().unwrap_or("") != req.namespace()
        {
            return out;
        }
        let ignore = self.policy.spec.failure_policy == Some(FailurePolicy::Ignore);
        let mine =
            CompiledException::naming(exceptions, &self.policy.kind, &self.policy.metadata.name);
        for body in &self.variants {
            if !body
                .constraints
                .as_ref()
                .is_some_and(|c| matching::matches(c, &req.matching))
            {
                continue;
            }
            let (rule, patched) = evaluate(body, req, object, &mine, ignore, "", Merge::Schema);
            out.response.rules.push(rule);
            if patched.is_some() {
                out.patched = patched;
            }
        }
        out
    }
}

fn evaluate(
    body: &Body,
    req: &CelRequest,
    object: &Value,
    exceptions: &[&CompiledException],
    ignore: bool,
    name: &str,
    merge: Merge,
) -> (RuleResponse, Option<Value>) {
    let rule = |status, msg: String| RuleResponse::new(name, RuleType::Mutation, status, msg);
    let base = req.activation();
    let mut matched = Vec::new();
    for e in exceptions {
        match e.matches(base) {
            Ok(true) => matched.push(e.key()),
            Ok(false) => {}
            Err(m) => return (rule(RuleStatus::Error, m), None),
        }
    }
    if !matched.is_empty() {
        let mut r = rule(
            RuleStatus::Skip,
            format!(
                "rule is skipped due to policy exception: {}",
                matched.join(", ")
            ),
        );
        r.exceptions = matched;
        return (r, None);
    }
    // Mutating policies compile match conditions in the composition environment, so they may
    // read `variables`.
    let with_vars =
        admission::LazyVariables::new(base.clone(), body.variables.clone()).activation();
    match admission::match_conditions(&body.conditions, &with_vars) {
        MatchOutcome::Match => {}
        MatchOutcome::NoMatch => {
            return (
                rule(RuleStatus::Skip, "match conditions not met".into()),
                None,
            );
        }
        MatchOutcome::Error(_) if ignore => {
            return (
                rule(RuleStatus::Skip, "match conditions not met".into()),
                None,
            );
        }
        MatchOutcome::Error(m) => return (rule(RuleStatus::Error, m), None),
    }
    match mutation::apply_all(&body.mutations, &body.variables, base, object, merge) {
        Ok(patched) => (rule(RuleStatus::Pass, "success".into()), Some(patched)),
        Err(m) => (
            rule(RuleStatus::Error, format!("failed to evaluate policy: {m}")),
            None,
        ),
    }
}

/// A MutatingAdmissionPolicy with its bindings, ready to evaluate.
#[derive(Debug)]
pub struct CompiledMap {
    /// The policy as written.
    pub policy: Arc<MutatingAdmissionPolicy>,
    /// Bindings naming the policy.
    pub bindings: Vec<PolicyBinding>,
    body: Body,
}

impl CompiledMap {
    /// Compiles the policy; `bindings` may include bindings of other policies.
    pub fn compile(
        policy: MutatingAdmissionPolicy,
        bindings: &[PolicyBinding],
    ) -> Result<Self, PolicyError> {
        let err = |e| PolicyError::new(&policy.kind, &policy.metadata.name, e);
        let spec = &policy.spec;
        let same = |s: &str| s.to_string();
        let body = Body {
            constraints: spec.match_constraints.clone(),
            conditions: admission::compile_conditions(
                &KYVERNO,
                "spec.matchConditions",
                &spec.match_conditions,
            )
            .map_err(err)?,
            variables: admission::compile_variables(&KYVERNO, "spec.variables", &spec.variables)
                .map_err(err)?,
            mutations: mutation::compile(&KYVERNO, "spec.mutations", &spec.mutations, &same)
                .map_err(err)?,
        };
        let bindings = bindings
            .iter()
            .filter(|b| b.spec.policy_name == policy.metadata.name)
            .cloned()
            .collect();
        Ok(CompiledMap {
            policy: Arc::new(policy),
            bindings,
            body,
        })
    }

    /// The policy name.
    pub fn name(&self) -> String {
        self.policy.metadata.name.clone()
    }

    /// Mutates the request's object through the first matching binding (or directly).
    /// Mutates `object`, the object of `req`.
    pub fn mutate(&self, req: &CelRequest, object: &Value) -> MutateOutcome {
        let mut out = MutateOutcome {
            response: PolicyResponse {
                policy: self.name().into(),
                rules: Vec::new(),
            },
            patched: None,
        };
        if req.is_json()
            || !self
                .body
                .constraints
                .as_ref()
                .is_some_and(|c| matching::matches(c, &req.matching))
        {
            return out;
        }
        if !self.bindings.is_empty()
            && !self.bindings.iter().any(|b| {
                b.spec
                    .match_resources
                    .as_ref()
                    .is_none_or(|m| matching::matches(m, &req.matching))
            })
        {
            return out;
        }
        let ignore = self.policy.spec.failure_policy == Some(FailurePolicy::Ignore);
        let (rule, patched) = evaluate(
            &self.body,
            req,
            object,
            &[],
            ignore,
            &self.name(),
            Merge::Deduced,
        );
        // Kyverno's CLI drops the response of a MutatingAdmissionPolicy that fails.
        if rule.status != RuleStatus::Error {
            out.response.rules.push(rule);
            out.patched = patched;
        }
        out
    }
}
