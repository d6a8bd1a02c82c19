//! What every mutate and generate rule goes through before its own work: match and exclude,
//! then policy exceptions (Kyverno's `invokeRuleHandler`).

use palisade_api::{Rule, RuleType};

use crate::exceptions::Exception;
use crate::matching::{MatchInput, rule_matches};
use crate::response::{RuleResponse, RuleStatus};
use crate::variables::Resolver;

/// The outcome of the gate.
pub(crate) enum Gate {
    /// The rule does not apply: no response at all.
    NotMatched,
    /// Exceptions exempt the resource: a skip response naming them.
    Excepted(RuleResponse),
    /// The rule applies.
    Proceed,
}

/// Matches `rule` against the request and checks the policy's exceptions.
pub(crate) fn check(
    policy_name: &str,
    policy_namespace: Option<&str>,
    rule: &Rule,
    rule_type: RuleType,
    input: &MatchInput<'_>,
    exceptions: &[Exception],
    r: &Resolver<'_>,
) -> Gate {
    if rule_matches(&rule.match_, rule.exclude.as_ref(), policy_namespace, input).is_err() {
        return Gate::NotMatched;
    }
    let keys: Vec<String> = exceptions
        .iter()
        .filter(|e| e.covers(policy_name, &rule.name) && e.applies(input, r))
        .map(Exception::key)
        .collect();
    if keys.is_empty() {
        return Gate::Proceed;
    }
    let mut resp = RuleResponse::new(
        &rule.name,
        rule_type,
        RuleStatus::Skip,
        format!(
            "rule is skipped due to policy exceptions {}",
            keys.join(", ")
        ),
    );
    resp.exceptions = keys;
    Gate::Excepted(resp)
}
