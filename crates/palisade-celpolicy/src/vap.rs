//! Kubernetes ValidatingAdmissionPolicies with their bindings, evaluated as Kyverno's CLI
//! does: the rule is named after the policy; a false validation fails, an evaluation error
//! errors, unmet match conditions skip. Parameters come from the data port.

use std::sync::Arc;

use palisade_api::{FailureAction, RuleType};
use palisade_cel::Activation;
use palisade_engine::validate::cel::admission::{
    self, CompiledValidation, MatchOutcome, Named, Outcome, SharedVariables,
};
use palisade_engine::validate::cel::gvr;
use palisade_engine::{PolicyResponse, RuleResponse, RuleStatus};
use serde_json::Value;

use crate::api::admission::{ParamKind, ParamRef};
use crate::api::{PolicyBinding, ValidatingAdmissionPolicy};
use crate::env::{KYVERNO, PolicyError};
use crate::libs::CelData;
use crate::matching;
use crate::request::CelRequest;

/// A ValidatingAdmissionPolicy with its bindings, ready to evaluate.
#[derive(Debug)]
pub struct CompiledVap {
    /// The policy as written.
    pub policy: Arc<ValidatingAdmissionPolicy>,
    /// Bindings naming the policy.
    pub bindings: Vec<PolicyBinding>,
    conditions: Vec<Named>,
    variables: Arc<[Named]>,
    validations: Vec<CompiledValidation>,
}

enum Verdict {
    Pass,
    Skip,
    Fail(String),
    Error(String),
}

impl CompiledVap {
    /// Compiles the policy; `bindings` may include bindings of other policies.
    pub fn compile(
        policy: ValidatingAdmissionPolicy,
        bindings: &[PolicyBinding],
    ) -> Result<Self, PolicyError> {
        let err = |e| PolicyError::new(&policy.kind, &policy.metadata.name, e);
        let spec = &policy.spec;
        let conditions =
            admission::compile_conditions(&KYVERNO, "spec.matchConditions", &spec.match_conditions)
                .map_err(err)?;
        let variables = admission::compile_variables(&KYVERNO, "spec.variables", &spec.variables)
            .map_err(err)?;
        let validations =
            admission::compile_validations(&KYVERNO, "spec.validations", &spec.validations, None)
                .map_err(err)?;
        let bindings = bindings
            .iter()
            .filter(|b| b.spec.policy_name == policy.metadata.name)
            .cloned()
            .collect();
        Ok(CompiledVap {
            policy: Arc::new(policy),
            bindings,
            conditions,
            variables,
            validations,
        })
    }

    /// The policy name.
    pub fn name(&self) -> String {
        self.policy.metadata.name.clone()
    }

    /// Evaluates the policy through its first matching binding (or directly when unbound).
    pub fn validate(&self, req: &CelRequest, data: &dyn CelData) -> PolicyResponse {
        self.validate_with(&self.bindings, req, data).0
    }

    /// Evaluates the policy through the first of `bindings` that matches the request (or
    /// directly when `bindings` is empty); also returns that binding. For callers that keep
    /// bindings apart from the compiled policy, so a binding change needs no recompile.
    pub fn validate_with<'b>(
        &self,
        bindings: &'b [PolicyBinding],
        req: &CelRequest,
        data: &dyn CelData,
    ) -> (PolicyResponse, Option<&'b PolicyBinding>) {
        let mut response = PolicyResponse {
            policy: self.name().into(),
            rules: Vec::new(),
        };
        if req.is_json() {
            return (response, None);
        }
        let matched = self
            .policy
            .spec
            .match_constraints
            .as_ref()
            .is_some_and(|c| matching::matches(c, &req.matching));
        if !matched {
            return (response, None);
        }
        let binding = if bindings.is_empty() {
            None
        } else {
            let found = bindings.iter().find(|b| {
                b.spec
                    .match_resources
                    .as_ref()
                    .is_none_or(|m| matching::matches(m, &req.matching))
            });
            match found {
                Some(b) => Some(b),
                None => return (response, None),
            }
        };
        let verdict = match (
            &self.policy.spec.param_kind,
            binding.and_then(|b| b.spec.param_ref.as_ref()),
        ) {
            (Some(kind), Some(pref)) => match params(kind, pref, req.namespace(), data) {
                Ok(list) if list.is_empty() => Verdict::Pass,
                Ok(list) => self.each_param(req.activation(), &list),
                Err(e) => Verdict::Error(e),
            },
            _ => self.evaluate(req.activation().clone(), Some(req.shared_variables())),
        };
        let name = self.name();
        let rule = |s, m: String| RuleResponse::new(&name, RuleType::Validation, s, m);
        let mut r = match verdict {
            Verdict::Pass => rule(RuleStatus::Pass, String::new()),
            Verdict::Skip => rule(RuleStatus::Skip, "match conditions aren't met".into()),
            Verdict::Fail(m) => rule(RuleStatus::Fail, m),
            Verdict::Error(m) => rule(RuleStatus::Error, m),
        };
        let deny = binding.is_none_or(|b| {
            b.spec.validation_actions.is_empty()
                || b.spec.validation_actions.iter().any(|a| a == "Deny")
        });
        r.failure_action = Some(if deny {
            FailureAction::Enforce
        } else {
            FailureAction::Audit
        });
        response.rules.push(r);
        (response, binding)
    }

    fn each_param(&self, base: &Arc<Activation>, params: &[Value]) -> Verdict {
        let mut skipped = true;
        for p in params {
            let mut act = Activation::child(base.clone());
            act.bind_json("params", p);
            match self.evaluate(Arc::new(act), None) {
                Verdict::Pass => skipped = false,
                Verdict::Skip => {}
                other => return other,
            }
        }
        if skipped {
            Verdict::Skip
        } else {
            Verdict::Pass
        }
    }

    /// One validator run; `shared` only when `act` is the request's own bindings (no params).
    fn evaluate(&self, act: Arc<Activation>, shared: Option<&Arc<SharedVariables>>) -> Verdict {
        match admission::match_conditions(&self.conditions, &act) {
            MatchOutcome::Match => {}
            MatchOutcome::NoMatch => return Verdict::Skip,
            MatchOutcome::Error(m) => return Verdict::Error(m),
        }
        let act =
            admission::LazyVariables::with_shared(act, self.variables.clone(), shared.cloned())
                .activation();
        for v in &self.validations {
            match v.evaluate(&act) {
                Outcome::Admit => {}
                Outcome::Deny { message, .. } => return Verdict::Fail(message),
                Outcome::Error { message } => return Verdict::Error(message),
            }
        }
        Verdict::Pass
    }
}

/// The parameter resources a binding selects.
pub fn params(
    kind: &ParamKind,
    pref: &ParamRef,
    namespace: &str,
    data: &dyn CelData,
) -> Result<Vec<Value>, String> {
    let (group, _) = gvr::split_api_version(&kind.api_version);
    let resource = gvr::resource_for(group, &kind.kind);
    let ns = match &pref.namespace {
        Some(ns) => ns.clone(),
        None if gvr::is_cluster_scoped(group, &kind.kind) => String::new(),
        None => namespace.to_string(),
    };
    let found = match (&pref.name, &pref.selector) {
        (Some(name), _) => data
            .get_resource(&kind.api_version, &resource, &ns, name)
            .map(|v| vec![v])
            .unwrap_or_default(),
        (None, Some(sel)) => {
            let list = data.list_resources(&kind.api_version, &resource, &ns)?;
            list.get("items")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter(|i| {
                            matching::labels_of(i)
                                .is_some_and(|l| matching::selector_matches(sel, &l))
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        }
        (None, None) => return Err("paramRef needs a name or a selector".into()),
    };
    if found.is_empty() && pref.parameter_not_found_action.as_deref() != Some("Allow") {
        return Err(format!(
            "no params found for policy binding with `Deny` parameterNotFoundAction ({} {})",
            kind.kind,
            pref.name.as_deref().unwrap_or("<selector>")
        ));
    }
    Ok(found)
}
