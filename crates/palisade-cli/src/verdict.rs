//! How rule responses count in `apply`, as Kyverno's CLI counts them: a failure becomes a
//! warning when the policy is annotated `policies.kyverno.io/scored: "false"`, or with
//! `--audit-warn` when the rule audits; and a validate rule of a policy that answered for a
//! resource, but that itself has no response (it did not match), counts as a skip.

use std::collections::HashMap;

use palisade_api::{FailureAction, Policy};
use palisade_engine::{CompiledPolicy, PolicyResponse, RuleResponse, RuleStatus};

use crate::run::Outcome;

const SCORED: &str = "policies.kyverno.io/scored";
const CATEGORY: &str = "policies.kyverno.io/category";
const SEVERITY: &str = "policies.kyverno.io/severity";

/// The loaded policies by report name.
pub struct Policies<'a> {
    by_name: HashMap<String, &'a CompiledPolicy>,
}

impl<'a> Policies<'a> {
    /// Indexes `policies` by the name their outcomes carry.
    pub fn new(policies: &'a [CompiledPolicy]) -> Policies<'a> {
        Policies {
            by_name: policies.iter().map(|p| (p.name(), p)).collect(),
        }
    }

    /// The policy an outcome came from.
    pub fn get(&self, name: &str) -> Option<&'a CompiledPolicy> {
        self.by_name.get(name).copied()
    }

    /// Whether failures of this policy count as failures (not warnings).
    pub fn scored(&self, name: &str) -> bool {
        self.get(name).is_none_or(|p| scored(&p.policy))
    }
}

/// False only when the policy is annotated `policies.kyverno.io/scored: "false"`.
pub fn scored(policy: &Policy) -> bool {
    policy.metadata.annotations.get(SCORED).map(String::as_str) != Some("false")
}

/// The `policies.kyverno.io/category` annotation.
pub fn category(policy: &Policy) -> Option<&str> {
    policy
        .metadata
        .annotations
        .get(CATEGORY)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

/// The `policies.kyverno.io/severity` annotation, when it names a known severity.
pub fn severity(policy: &Policy) -> Option<&'static str> {
    let s = policy.metadata.annotations.get(SEVERITY)?;
    ["critical", "high", "medium", "low", "info"]
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(s))
}

/// The status a rule response is reported with.
pub fn effective(rule: &RuleResponse, scored: bool, audit_warn: bool) -> RuleStatus {
    let audits = rule.failure_action == Some(FailureAction::Audit);
    if rule.status == RuleStatus::Fail && (!scored || (audit_warn && audits)) {
        RuleStatus::Warn
    } else {
        rule.status
    }
}

/// Result counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Passed rules.
    pub pass: usize,
    /// Failed rules.
    pub fail: usize,
    /// Warnings.
    pub warn: usize,
    /// Rules that could not be evaluated.
    pub error: usize,
    /// Skipped rules.
    pub skip: usize,
}

impl Counts {
    /// Counts one status.
    pub fn add(&mut self, status: RuleStatus) {
        let slot = match status {
            RuleStatus::Pass => &mut self.pass,
            RuleStatus::Fail => &mut self.fail,
            RuleStatus::Warn => &mut self.warn,
            RuleStatus::Error => &mut self.error,
            RuleStatus::Skip => &mut self.skip,
        };
        *slot += 1;
    }

    /// True when the run should exit 1: something failed or could not be evaluated.
    pub fn failing(&self) -> bool {
        self.fail > 0 || self.error > 0
    }

    /// Counts every outcome the way Kyverno's `apply` does.
    pub fn of(outcomes: &[Outcome], policies: &Policies<'_>, audit_warn: bool) -> Counts {
        let mut counts = Counts::default();
        for o in outcomes {
            counts.add_outcome(&o.policy, &o.response, policies, audit_warn);
        }
        counts
    }

    /// Counts one outcome (the policy's report name and its responses), as [`Counts::of`].
    pub fn add_outcome(
        &mut self,
        policy_name: &str,
        response: &PolicyResponse,
        policies: &Policies<'_>,
        audit_warn: bool,
    ) {
        if response.rules.is_empty() {
            return;
        }
        let scored = policies.scored(policy_name);
        for r in &response.rules {
            self.add(effective(r, scored, audit_warn));
        }
        // A mutate or generate outcome answers for its own rules only.
        let other_phase = response.rules.iter().any(|r| {
            matches!(
                r.rule_type,
                palisade_api::RuleType::Mutation | palisade_api::RuleType::Generation
            )
        });
        let Some(policy) = policies.get(policy_name).filter(|_| !other_phase) else {
            return;
        };
        let unanswered = policy
            .rules
            .iter()
            .filter(|rule| rule.validate.is_some() || rule.verify_images.is_some())
            .filter(|rule| !response.rules.iter().any(|r| *r.name == *rule.name));
        self.skip += unanswered.count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_api::RuleType;

    fn rule(status: RuleStatus, action: Option<FailureAction>) -> RuleResponse {
        let mut r = RuleResponse::new("r", RuleType::Validation, status, "m");
        r.failure_action = action;
        r
    }

    #[test]
    fn failures_become_warnings_when_unscored_or_audit_warned() {
        use FailureAction::{Audit, Enforce};
        use RuleStatus::{Fail, Pass, Warn};
        for (status, action, scored, audit_warn, want) in [
            (Fail, Some(Enforce), true, false, Fail),
            (Fail, Some(Audit), true, false, Fail),
            (Fail, Some(Audit), true, true, Warn),
            (Fail, Some(Enforce), true, true, Fail),
            (Fail, Some(Enforce), false, false, Warn),
            (Pass, Some(Audit), false, true, Pass),
        ] {
            assert_eq!(effective(&rule(status, action), scored, audit_warn), want);
        }
    }

    #[test]
    fn failing_means_fail_or_error() {
        let mut c = Counts::default();
        c.add(RuleStatus::Warn);
        c.add(RuleStatus::Skip);
        assert!(!c.failing());
        c.add(RuleStatus::Error);
        assert!(c.failing());
    }
}
