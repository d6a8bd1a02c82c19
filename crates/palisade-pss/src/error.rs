//! Errors: a rule that cannot be evaluated (Kyverno reports these as rule errors).

use thiserror::Error;

/// Why a `podSecurity` rule could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// `podSecurity.level` is not one of Kyverno's three levels.
    #[error(
        "invalid podSecurity level {0:?}: must be \"privileged\", \"baseline\" or \"restricted\""
    )]
    InvalidLevel(String),
    /// `podSecurity.version` is neither `latest` nor `v1.N` (upstream `api.ParseVersion`).
    #[error("invalid podSecurity version {0:?}: must be \"latest\" or \"v1.x\"")]
    InvalidVersion(String),
    /// The resource is not a Pod nor a Pod controller Kyverno knows how to unwrap.
    #[error(
        "could not find correct resource type: kind {0:?} is not a Pod, Deployment, DaemonSet, \
         StatefulSet, ReplicaSet, ReplicationController, Job or CronJob"
    )]
    UnsupportedKind(String),
    /// A field the checks read has a JSON type Go's decoder rejects (Kyverno fails the rule
    /// with "Error while getting new resource").
    #[error("cannot decode {path}: expected {expected}, found {found}")]
    Decode {
        /// Dotted path of the offending field, relative to the resource.
        path: String,
        /// The Go type the field decodes into.
        expected: &'static str,
        /// The JSON type that was found.
        found: &'static str,
    },
}
