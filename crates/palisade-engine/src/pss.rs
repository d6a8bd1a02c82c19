//! `validate.podSecurity` through `palisade-pss`, with exclusions from the rule and from
//! matching PolicyExceptions.

use palisade_api::validate::{PodSecurity, PodSecurityExclude};
use palisade_api::{Rule, RuleType};
use palisade_pss::{Exclude, Level, Version};

use crate::EvalEnv;
use crate::context::EvalContext;
use crate::response::{RuleResponse, RuleStatus};

/// Converts the API's exclusion type.
pub fn to_excludes(list: &[PodSecurityExclude]) -> Vec<Exclude> {
    list.iter()
        .map(|e| Exclude {
            control_name: e.control_name.clone(),
            images: e.images.clone().unwrap_or_default(),
            restricted_field: e.restricted_field.clone(),
            values: e.values.clone().unwrap_or_default(),
        })
        .collect()
}

/// Evaluates a podSecurity rule on the resource in `ctx`.
pub fn validate(
    rule: &Rule,
    ps: &PodSecurity,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
) -> RuleResponse {
    let error =
        |m: String| RuleResponse::new(&rule.name, RuleType::Validation, RuleStatus::Error, m);
    let level_text = ps.level.as_deref().unwrap_or("baseline");
    let version_text = ps.version.as_deref().unwrap_or("latest");
    let (Ok(level), Ok(version)) = (level_text.parse::<Level>(), version_text.parse::<Version>())
    else {
        return error(format!(
            "failed to parse pod security api version {level_text}:{version_text}"
        ));
    };
    let resource = ctx.resource();
    let excludes = to_excludes(ps.exclude.as_deref().unwrap_or_default());
    let outcome = match palisade_pss::evaluate(level, version, resource, &excludes) {
        Ok(o) => o,
        Err(e) => return error(format!("Error while getting new resource: {e}")),
    };
    if outcome.allowed {
        return RuleResponse::new(
            &rule.name,
            RuleType::Validation,
            RuleStatus::Pass,
            palisade_pss::pass_message(&rule.name),
        );
    }
    if !env.pss_exceptions.is_empty() {
        let extra = to_excludes(env.pss_exceptions);
        if let Ok(after) =
            palisade_pss::apply_exclusions(level, version, resource, outcome.checks.clone(), &extra)
            && after.allowed
        {
            let mut r = RuleResponse::new(
                &rule.name,
                RuleType::Validation,
                RuleStatus::Skip,
                format!(
                    "rule is skipped due to policy exceptions {}",
                    env.pss_exception_names.join(", ")
                ),
            );
            r.exceptions = env.pss_exception_names.to_vec();
            return r;
        }
    }
    RuleResponse::new(
        &rule.name,
        RuleType::Validation,
        RuleStatus::Fail,
        palisade_pss::failure_message(&rule.name, level_text, version_text, &outcome.message),
    )
}
