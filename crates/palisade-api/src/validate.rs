//! `validate` rules.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conditions::Conditions;
use crate::context::ContextEntry;
use crate::policy::{FailureAction, FailureActionOverride};

/// A validation rule body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Validation {
    /// Message on failure (may hold variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Rule-level failure action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_action: Option<FailureAction>,
    /// Rule-level failure action overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_action_overrides: Option<Vec<FailureActionOverride>>,
    /// Allow updates of resources that already violated (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_existing_violations: Option<bool>,
    /// Signed manifest verification (not evaluated offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Value>,
    /// Per-element validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach: Option<Vec<ForEachValidation>>,
    /// Overlay pattern with anchors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<Value>,
    /// Patterns of which one must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_pattern: Option<Value>,
    /// Deny when conditions hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<Deny>,
    /// Pod Security Standards check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security: Option<PodSecurity>,
    /// CEL expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cel: Option<Value>,
    /// Deprecated kyverno-json assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assert: Option<Value>,
}

/// A `deny` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deny {
    /// Deny when these conditions hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Conditions>,
}

/// A foreach validation block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForEachValidation {
    /// JMESPath giving the list to iterate.
    pub list: String,
    /// Whether patterns apply to the element (true) or the whole resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element_scope: Option<bool>,
    /// Per-element context entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<ContextEntry>>,
    /// Per-element preconditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Conditions>,
    /// Pattern checked per element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<Value>,
    /// Patterns of which one must match per element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_pattern: Option<Value>,
    /// Deny conditions per element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<Deny>,
    /// Nested foreach blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach: Option<Vec<ForEachValidation>>,
}

/// A `podSecurity` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSecurity {
    /// `privileged`, `baseline` or `restricted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// `v1.x` or `latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Control exemptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<PodSecurityExclude>>,
}

/// One podSecurity control exemption.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSecurityExclude {
    /// The control's name, e.g. `Capabilities`.
    pub control_name: String,
    /// Container images the exemption applies to (wildcards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// The restricted field, e.g. `spec.containers[*].securityContext.capabilities.add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted_field: Option<String>,
    /// Allowed values of the restricted field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}
