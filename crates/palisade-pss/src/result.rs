//! What an evaluation returns: per-check results and the overall outcome.

use crate::field::FieldError;

/// The result of one failing check, as Kyverno records it in `PodSecurityChecks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Upstream check ID, e.g. `hostNamespaces`.
    pub id: &'static str,
    /// Kyverno's control name for the check, e.g. `Host Namespaces`.
    pub control: &'static str,
    /// Whether the check allowed the pod (always `false` in an [`Outcome`], which lists only
    /// failures, as Kyverno does).
    pub allowed: bool,
    /// Upstream `ForbiddenReason`, e.g. `host namespaces`.
    pub forbidden_reason: &'static str,
    /// Upstream `ForbiddenDetail`, e.g. `hostNetwork=true, hostPID=true`.
    pub forbidden_detail: String,
    /// The offending fields, relative to the pod (`spec.…`, `metadata.…`); see
    /// [`crate::report_field`] for the resource-relative form Kyverno reports.
    pub errors: Vec<FieldError>,
}

/// The outcome of a `podSecurity` evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the pod passed (no check left failing after exclusions).
    pub allowed: bool,
    /// The failing checks, in upstream check order, with pod-relative field paths.
    pub checks: Vec<CheckResult>,
    /// Kyverno's text for the failing checks (`FormatChecksPrint`, with resource-relative field
    /// paths); empty when allowed. [`crate::failure_message`] wraps it in the rule message.
    pub message: String,
}
