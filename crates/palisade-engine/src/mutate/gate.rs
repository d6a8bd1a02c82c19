//! What every mutate and generate rule goes through before its own work: match and exclude,
//! then policy exceptions (Kyverno's `invokeRuleHandler`).

use palisade_api::{Rule, RuleType};
use serde_json::Value;

use crate::context::EvalContext;
use crate::exceptions::Exception;
use crate::jp::Clock;
use crate::matching::{Gvk, MatchInput, rule_matches};
use crate::response::{RuleResponse, RuleStatus};
use crate::variables::{Mode, Resolver};
use crate::{CompiledPolicy, Engine, Request, match_input};

/// The outcome of the gate.
pub(crate) enum Gate {
    /// The rule does not apply: no response at all.
    NotMatched,
    /// Exceptions exempt the resource: a skip response naming them.
    Excepted(RuleResponse),
    /// The rule applies.
    Proceed,
}

/// A request as the rules of one policy are gated on it: mutate and generate rules alike.
pub(crate) struct Subject<'a> {
    policy: &'a CompiledPolicy,
    /// The policy's name, as responses and exceptions name it.
    policy_name: &'a str,
    request: &'a Request,
    /// The group, version and kind of the resources the rules are matched against.
    gvk: &'a Gvk,
    clock: &'a Clock,
    exceptions: &'a [Exception],
}

impl<'a> Subject<'a> {
    /// `request` as the rules of `policy` (named `policy_name`) see it, matched as `gvk`.
    pub(crate) fn new(
        engine: &'a Engine,
        policy: &'a CompiledPolicy,
        policy_name: &'a str,
        request: &'a Request,
        gvk: &'a Gvk,
        exceptions: &'a [Exception],
    ) -> Self {
        Subject {
            policy,
            policy_name,
            request,
            gvk,
            clock: &engine.clock,
            exceptions,
        }
    }

    /// [`check`] for `rule` on `resource` (the request's resource, or what earlier rules made
    /// of it), with the lenient resolver that exceptions' conditions use.
    pub(crate) fn check(
        &self,
        rule: &Rule,
        rule_type: RuleType,
        resource: &Value,
        ctx: &EvalContext,
    ) -> Gate {
        let r = Resolver {
            ctx,
            cache: &self.policy.cache,
            clock: self.clock,
            mode: Mode::Lenient,
        };
        check(
            self.policy_name,
            self.policy.namespace(),
            rule,
            rule_type,
            &match_input(self.request, self.gvk, resource),
            self.exceptions,
            &r,
        )
    }
}

/// Matches `rule` against the request and checks the policy's exceptions.
fn check(
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
