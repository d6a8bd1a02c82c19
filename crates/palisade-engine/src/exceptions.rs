//! PolicyExceptions: which policy rules they exempt, for which resources.

use palisade_api::PolicyException;
use palisade_primitives::wildcard;

use crate::conditions;
use crate::matching::{MatchInput, rule_matches};
use crate::variables::{Mode, Resolver};

/// A loaded exception.
#[derive(Debug, Clone)]
pub struct Exception {
    /// The exception.
    pub exception: PolicyException,
}

impl Exception {
    /// `namespace/name` (or `name`), as Kyverno reports it.
    pub fn key(&self) -> String {
        match self.exception.metadata.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => format!("{ns}/{}", self.exception.metadata.name),
            _ => self.exception.metadata.name.clone(),
        }
    }

    /// True when the exception names this policy and rule.
    pub fn covers(&self, policy: &str, rule: &str) -> bool {
        self.exception.spec.exceptions.iter().any(|e| {
            e.policy_name == policy && e.rule_names.iter().any(|r| wildcard::matches(r, rule))
        })
    }

    /// True when the exception's match block and conditions hold for the request. Conditions
    /// are evaluated leniently (unresolved variables become `""`), as Kyverno does.
    pub fn applies(&self, input: &MatchInput<'_>, r: &Resolver<'_>) -> bool {
        if rule_matches(&self.exception.spec.match_, None, None, input).is_err() {
            return false;
        }
        match &self.exception.spec.conditions {
            None => true,
            Some(c) => {
                let lenient = Resolver {
                    mode: Mode::Lenient,
                    ..*r
                };
                conditions::evaluate(&c.to_any_all(), &lenient).is_ok_and(|(holds, _)| holds)
            }
        }
    }

    /// True when the exception carries podSecurity exemptions.
    pub fn has_pod_security(&self) -> bool {
        self.exception
            .spec
            .pod_security
            .as_ref()
            .is_some_and(|p| !p.is_empty())
    }
}
