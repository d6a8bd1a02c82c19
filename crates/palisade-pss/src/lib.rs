//! The Kubernetes Pod Security Standards controls, versioned, with Kyverno's podSecurity
//! exclusions.
//!
//! This crate evaluates Kyverno's `validate.podSecurity` rule: a Pod, or the pod template of a
//! Pod controller, is checked against the Pod Security Standards at a [`Level`] and
//! [`Version`], as the upstream `k8s.io/pod-security-admission` checks do (in Kyverno's fork,
//! which also reports the offending fields), and Kyverno's exclusions are applied.
//!
//! Start with [`evaluate`]. The checks themselves are listed by [`checks`], one file per
//! control under `src/checks/`. Where Kyverno's evaluation differs from upstream admission,
//! this crate follows Kyverno:
//! - `privileged` runs every check (Kyverno only narrows the set for `baseline`);
//! - restricted checks do not replace the baseline checks they override upstream;
//! - a pinned version runs, for each check, the newest revision not newer than it, and the
//!   first revision of checks introduced later.
//!
//! ```
//! use palisade_pss::{Level, Version, evaluate, failure_message};
//! use serde_json::json;
//!
//! let pod = json!({
//!     "kind": "Pod",
//!     "spec": {"hostPID": true, "containers": [{"name": "app", "image": "nginx"}]}
//! });
//! let outcome = evaluate(Level::Baseline, Version::Latest, &pod, &[]).unwrap();
//! assert!(!outcome.allowed);
//! assert_eq!(
//!     failure_message("baseline", "baseline", "latest", &outcome.message),
//!     "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": \
//!      (Forbidden reason: host namespaces, field error list: \
//!      [spec.hostPID is forbidden, forbidden values found: true])"
//! );
//! ```

mod checks;
mod error;
mod evaluate;
mod exclude;
mod extract;
mod field;
mod level;
mod message;
mod model;
mod result;
mod wildcard;

use serde_json::Value;

pub use checks::{Check, VersionedCheck, check, checks};
pub use error::Error;
pub use exclude::{Exclude, control_check_ids, control_names};
pub use extract::{extract_pod_spec, report_field};
pub use field::{BadValue, FieldError, FieldErrorKind};
pub use level::{Level, Version};
pub use message::{failure_message, format_checks, format_checks_legacy, pass_message};
pub use result::{CheckResult, Outcome};
pub use wildcard::matches as wildcard_matches;

/// Evaluates `resource` (a Pod or Pod controller) at `level` and `version`, then applies the
/// rule's `excludes` in order (Kyverno `EvaluatePod`).
///
/// Errors when the kind is not supported or a field the checks read has the wrong JSON type.
pub fn evaluate(
    level: Level,
    version: Version,
    resource: &Value,
    excludes: &[Exclude],
) -> Result<Outcome, Error> {
    let pod = extract::decode_resource(resource)?;
    let mut failing = evaluate::evaluate_pod(level, version, &pod);
    exclude::apply(level, version, excludes, &pod, &mut failing);
    Ok(outcome(extract::kind(resource), failing))
}

/// Applies further exclusions to the failing `checks` of an earlier [`evaluate`] of the same
/// resource, level and version: what Kyverno does with the `podSecurity` entries of matching
/// PolicyExceptions when the rule fails. If the result is allowed, Kyverno skips the rule
/// ("rule is skipped due to policy exceptions ...").
pub fn apply_exclusions(
    level: Level,
    version: Version,
    resource: &Value,
    checks: Vec<CheckResult>,
    excludes: &[Exclude],
) -> Result<Outcome, Error> {
    let pod = extract::decode_resource(resource)?;
    let mut failing = checks;
    exclude::apply(level, version, excludes, &pod, &mut failing);
    Ok(outcome(extract::kind(resource), failing))
}

fn outcome(kind: &str, checks: Vec<CheckResult>) -> Outcome {
    Outcome {
        allowed: checks.is_empty(),
        message: format_checks(kind, &checks),
        checks,
    }
}
