//! `policies.kyverno.io` PolicyExceptions: CEL match conditions that exempt requests from the
//! policies they reference.

use std::sync::Arc;

use palisade_cel::Activation;
use palisade_engine::validate::cel::admission::{self, MatchOutcome, Named};

use crate::api::PolicyException;
use crate::env::{KYVERNO, PolicyError};

/// A compiled CEL PolicyException.
#[derive(Debug)]
pub struct CompiledException {
    /// The exception as written.
    pub exception: Arc<PolicyException>,
    conditions: Vec<Named>,
}

impl CompiledException {
    /// Compiles the exception's match conditions.
    pub fn compile(exception: PolicyException) -> Result<Self, PolicyError> {
        let conditions = admission::compile_conditions(
            &KYVERNO,
            "spec.matchConditions",
            &exception.spec.match_conditions,
        )
        .map_err(|e| PolicyError::new(&exception.kind, &exception.metadata.name, e))?;
        Ok(CompiledException {
            exception: Arc::new(exception),
            conditions,
        })
    }

    /// `namespace/name`, or `name` for an exception without a namespace.
    pub fn key(&self) -> String {
        match self.exception.metadata.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => format!("{ns}/{}", self.exception.metadata.name),
            _ => self.exception.metadata.name.clone(),
        }
    }

    /// The exceptions among `all` that name the policy of `kind` and `name`.
    pub fn naming<'e>(
        all: &[&'e CompiledException],
        kind: &str,
        name: &str,
    ) -> Vec<&'e CompiledException> {
        all.iter()
            .copied()
            .filter(|e| e.refers_to(kind, name))
            .collect()
    }

    /// Whether the exception names the policy.
    pub fn refers_to(&self, kind: &str, name: &str) -> bool {
        self.exception
            .spec
            .policy_refs
            .iter()
            .any(|r| r.name == name && r.kind == kind)
    }

    /// Whether every match condition holds for the request; evaluation errors are reported.
    pub fn matches(&self, act: &Activation) -> Result<bool, String> {
        match admission::match_conditions(&self.conditions, act) {
            MatchOutcome::Match => Ok(true),
            MatchOutcome::NoMatch => Ok(false),
            MatchOutcome::Error(e) => Err(e),
        }
    }
}
