//! `mutate` rules.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conditions::Conditions;
use crate::context::ContextEntry;
use crate::meta::LabelSelector;

/// A mutation rule body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mutation {
    /// Re-apply to existing targets when the policy changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutate_existing_on_policy_update: Option<bool>,
    /// Existing resources to mutate (mutate-existing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<Target>>,
    /// Strategic merge patch with anchors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_strategic_merge: Option<Value>,
    /// RFC 6902 patch, as a YAML or JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches_json6902: Option<String>,
    /// Per-element mutations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach: Option<Vec<ForEachMutation>>,
}

/// A mutate-existing target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Target {
    /// Target apiVersion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Target kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Target name (wildcards, variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Target namespace (variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Target UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Target label selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Per-target context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<ContextEntry>>,
    /// Per-target preconditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Conditions>,
}

/// A foreach mutation block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForEachMutation {
    /// JMESPath giving the list to iterate.
    pub list: String,
    /// `Ascending` or `Descending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// Per-element context entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<ContextEntry>>,
    /// Per-element preconditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Conditions>,
    /// Strategic merge patch per element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_strategic_merge: Option<Value>,
    /// RFC 6902 patch per element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches_json6902: Option<String>,
    /// Nested foreach blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach: Option<Vec<ForEachMutation>>,
}
