//! ValidatingPolicy and NamespacedValidatingPolicy: compiled once (with their autogen
//! variants), evaluated as Kyverno's engine does. A matched policy yields one rule response
//! (named "") per matching variant: pass, fail with the first failed validation's message,
//! skip when match conditions do not hold or an exception applies, error when evaluation fails.

use std::sync::Arc;

use palisade_api::{FailureAction, RuleType};
use palisade_cel::Value as Cel;
use palisade_engine::validate::cel::admission::{
    self, CompiledValidation, MatchOutcome, Named, Outcome,
};
use palisade_engine::{PolicyResponse, RuleResponse, RuleStatus};

use crate::api::admission::{AuditAnnotation, FailurePolicy, MatchCondition, Validation, Variable};
use crate::api::{MatchResources, ValidatingPolicy};
use crate::autogen;
use crate::env::{KYVERNO, PolicyError};
use crate::exception::CompiledException;
use crate::matching;
use crate::request::CelRequest;

/// The compiled expressions of one variant.
#[derive(Debug)]
struct Body {
    constraints: Option<MatchResources>,
    conditions: Vec<Named>,
    variables: Arc<[Named]>,
    validations: Vec<CompiledValidation>,
    annotations: Vec<Named>,
}

/// A ValidatingPolicy ready to evaluate.
#[derive(Debug)]
pub struct CompiledValidatingPolicy {
    /// The policy as written.
    pub policy: Arc<ValidatingPolicy>,
    variants: Vec<Body>,
    /// [`CompiledValidatingPolicy::name`], shared by every response instead of copied.
    report_name: Arc<str>,
    /// The rule name of every response (""), shared likewise.
    rule_name: Arc<str>,
}

fn compile_body(
    p: &ValidatingPolicy,
    constraints: Option<MatchResources>,
    conditions: &[MatchCondition],
    fix: &dyn Fn(&str) -> String,
) -> Result<Body, PolicyError> {
    let err = |e| PolicyError::new(&p.kind, &p.metadata.name, e);
    let spec = &p.spec;
    let conditions: Vec<MatchCondition> = conditions
        .iter()
        .map(|c| MatchCondition {
            name: c.name.clone(),
            expression: fix(&c.expression),
        })
        .collect();
    let variables: Vec<Variable> = spec
        .variables
        .iter()
        .map(|v| Variable {
            name: v.name.clone(),
            expression: fix(&v.expression),
        })
        .collect();
    let validations: Vec<Validation> = spec
        .validations
        .iter()
        .map(|v| Validation {
            expression: fix(&v.expression),
            message: v.message.as_deref().map(fix),
            message_expression: v.message_expression.as_deref().map(fix),
            reason: v.reason.clone(),
        })
        .collect();
    let annotations: Vec<AuditAnnotation> = spec
        .audit_annotations
        .iter()
        .map(|a| AuditAnnotation {
            key: a.key.clone(),
            value_expression: fix(&a.value_expression),
        })
        .collect();
    Ok(Body {
        constraints,
        conditions: admission::compile_conditions(&KYVERNO, "spec.matchConditions", &conditions)
            .map_err(err)?,
        variables: admission::compile_variables(&KYVERNO, "spec.variables", &variables)
            .map_err(err)?,
        validations: admission::compile_validations(
            &KYVERNO,
            "spec.validations",
            &validations,
            None,
        )
        .map_err(err)?,
        annotations: admission::compile_annotations(
            &KYVERNO,
            "spec.auditAnnotations",
            &annotations,
        )
        .map_err(err)?,
    })
}

/// The name reports use (`namespace/name` for a NamespacedValidatingPolicy).
fn report_name(p: &ValidatingPolicy) -> String {
    match (&p.kind[..], &p.metadata.namespace) {
        ("NamespacedValidatingPolicy", Some(ns)) if !ns.is_empty() => {
            format!("{ns}/{}", p.metadata.name)
        }
        _ => p.metadata.name.clone(),
    }
}

impl CompiledValidatingPolicy {
    /// Parses and type-checks every expression, for the policy and its autogen variants.
    pub fn compile(policy: ValidatingPolicy) -> Result<Self, PolicyError> {
        let spec = &policy.spec;
        let same = |s: &str| s.to_string();
        let mut variants = vec![compile_body(
            &policy,
            spec.match_constraints.clone(),
            &spec.match_conditions,
            &same,
        )?];
        if spec.mode() == "Kubernetes" {
            for v in autogen::variants(
                spec.match_constraints.as_ref(),
                &spec.match_conditions,
                spec.autogen.as_ref(),
            ) {
                let fix = |s: &str| v.rewrite(s);
                variants.push(compile_body(
                    &policy,
                    Some(v.match_constraints.clone()),
                    &v.match_conditions,
                    &fix,
                )?);
            }
        }
        let report_name = report_name(&policy).into();
        Ok(CompiledValidatingPolicy {
            policy: Arc::new(policy),
            variants,
            report_name,
            rule_name: Arc::from(""),
        })
    }

    /// The name reports use (`namespace/name` for a NamespacedValidatingPolicy).
    pub fn name(&self) -> String {
        self.report_name.to_string()
    }

    /// The failure action reports use: Enforce when the actions include Deny (the default).
    pub fn failure_action(&self) -> FailureAction {
        let actions = &self.policy.spec.validation_actions;
        if actions.is_empty() || actions.iter().any(|a| a == "Deny") {
            FailureAction::Enforce
        } else {
            FailureAction::Audit
        }
    }

    fn applies(&self, req: &CelRequest, body: &Body) -> bool {
        let spec = &self.policy.spec;
        let json_mode = spec.mode() == "JSON";
        if req.is_json() != json_mode || (!json_mode && spec.mode() != "Kubernetes") {
            return false;
        }
        if json_mode {
            return true;
        }
        if self.policy.kind == "NamespacedValidatingPolicy"
            && self.policy.metadata.namespace.as_deref().unwrap_or("") != req.namespace()
        {
            return false;
        }
        body.constraints
            .as_ref()
            .is_some_and(|c| matching::matches(c, &req.matching))
    }

    /// Evaluates the policy on a request; `exceptions` are all loaded CEL exceptions.
    pub fn validate(&self, req: &CelRequest, exceptions: &[&CompiledException]) -> PolicyResponse {
        let mut rules = Vec::new();
        let mine =
            CompiledException::naming(exceptions, &self.policy.kind, &self.policy.metadata.name);
        for body in &self.variants {
            if !self.applies(req, body) {
                continue;
            }
            let mut r = self.evaluate(body, req, &mine);
            r.failure_action = Some(self.failure_action());
            // Usually one variant applies: allocated for one rather than grown from empty.
            if rules.capacity() == 0 {
                rules = Vec::with_capacity(1);
            }
            rules.push(r);
        }
        PolicyResponse {
            policy: self.report_name.clone(),
            rules,
        }
    }

    fn evaluate(
        &self,
        body: &Body,
        req: &CelRequest,
        exceptions: &[&CompiledException],
    ) -> RuleResponse {
        let (base, shared) = (req.activation(), req.shared_variables());
        let ignore = self.policy.spec.failure_policy == Some(FailurePolicy::Ignore);
        let rule = |status, msg: String| {
            RuleResponse::named(self.rule_name.clone(), RuleType::Validation, status, msg)
        };
        let mut matched = Vec::new();
        let mut status = RuleStatus::Skip;
        for e in exceptions {
            match e.matches(base) {
                Ok(true) => {
                    // The first exempting exception says how the rule is reported.
                    if matched.is_empty()
                        && e.exception.spec.report_result.as_deref() == Some("pass")
                    {
                        status = RuleStatus::Pass;
                    }
                    matched.push(e.key());
                }
                Ok(false) => {}
                Err(m) if ignore => {
                    let _ = m;
                }
                Err(m) => return rule(RuleStatus::Error, m),
            }
        }
        if !matched.is_empty() {
            let mut r = RuleResponse::new(
                "exception",
                RuleType::Validation,
                status,
                format!(
                    "rule is skipped due to policy exception: {}",
                    matched.join(", ")
                ),
            );
            r.exceptions = matched;
            return r;
        }
        match admission::match_conditions(&body.conditions, base) {
            MatchOutcome::Match => {}
            MatchOutcome::NoMatch => {
                return rule(RuleStatus::Skip, "match conditions not met".into());
            }
            MatchOutcome::Error(_) if ignore => {
                return rule(RuleStatus::Skip, "match conditions not met".into());
            }
            MatchOutcome::Error(m) => return rule(RuleStatus::Error, m),
        }
        let lazy = admission::LazyVariables::with_shared(
            base.clone(),
            body.variables.clone(),
            Some(shared.clone()),
        );
        let act = lazy.activation();
        for v in &body.validations {
            match v.evaluate(&act) {
                Outcome::Admit => {}
                Outcome::Error { message } => return rule(RuleStatus::Error, message),
                Outcome::Deny { .. } if !matches!(v.program.eval(&act), Ok(Cel::Bool(false))) => {
                    return rule(
                        RuleStatus::Error,
                        format!("expression '{}' did not evaluate to a bool", v.expression),
                    );
                }
                Outcome::Deny { message, .. } => {
                    let mut r = rule(RuleStatus::Fail, message);
                    match admission::audit_annotations(&body.annotations, &act) {
                        Ok(anns) => r.properties = anns,
                        Err(m) => return rule(RuleStatus::Error, m),
                    }
                    return r;
                }
            }
        }
        rule(RuleStatus::Pass, "success".into())
    }
}
