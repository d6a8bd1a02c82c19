//! `PolicyException` (`kyverno.io/v2`, `v2beta1`, `v2alpha2`).

use serde::{Deserialize, Serialize};

use crate::conditions::Conditions;
use crate::matching::MatchResources;
use crate::meta::ObjectMeta;
use crate::validate::PodSecurityExclude;

/// Exempts matching resources from some rules of some policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyException {
    /// `kyverno.io/v2` (or v2beta1, v2alpha1).
    pub api_version: String,
    /// `PolicyException`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The exception body.
    pub spec: ExceptionSpec,
}

/// The body of a policy exception.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExceptionSpec {
    /// Apply in background scans (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    /// Which resources the exception covers.
    #[serde(default, rename = "match")]
    pub match_: MatchResources,
    /// Extra conditions for the exception to apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Conditions>,
    /// Policies and rules exempted.
    #[serde(default)]
    pub exceptions: Vec<ExceptionEntry>,
    /// Pod Security control exemptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security: Option<Vec<PodSecurityExclude>>,
}

/// A policy and the rules of it that are exempted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExceptionEntry {
    /// Policy name (`namespace/name` for a Policy).
    pub policy_name: String,
    /// Rule names (wildcards; autogen names allowed).
    #[serde(default)]
    pub rule_names: Vec<String>,
}
