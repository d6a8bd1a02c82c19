//! The `admissionregistration.k8s.io/v1` building blocks CEL policies share: match conditions,
//! variables, validations, audit annotations and parameter references. Strict: unknown fields
//! are rejected, as the API server does.

use serde::{Deserialize, Serialize};

use palisade_api::meta::LabelSelector;

/// A named CEL condition that must hold for a policy to apply (`MatchCondition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchCondition {
    /// Name, unique in the list.
    pub name: String,
    /// CEL expression returning a bool.
    pub expression: String,
}

/// A named CEL value available to later expressions as `variables.<name>` (`Variable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Variable {
    /// Name.
    pub name: String,
    /// CEL expression.
    pub expression: String,
}

/// A CEL validation (`Validation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Validation {
    /// CEL expression that must evaluate to true.
    pub expression: String,
    /// Message when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// CEL expression producing the message; takes precedence over `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expression: Option<String>,
    /// Machine-readable reason (`Unauthorized`, `Forbidden`, `Invalid`, `RequestEntityTooLarge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An audit annotation computed when validation fails (`AuditAnnotation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditAnnotation {
    /// Annotation key.
    pub key: String,
    /// CEL expression producing a string, or null to omit the annotation.
    pub value_expression: String,
}

/// The kind of the parameter resource (`ParamKind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParamKind {
    /// API version, e.g. `v1`.
    #[serde(default)]
    pub api_version: String,
    /// Kind, e.g. `ConfigMap`.
    #[serde(default)]
    pub kind: String,
}

/// Which parameter resources a binding uses (`ParamRef`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParamRef {
    /// One parameter by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace of the parameters (default: the request's, for namespaced params).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Parameters selected by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// `Allow` or `Deny` when no parameter is found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_not_found_action: Option<String>,
}

/// What to do when an expression fails to evaluate (`FailurePolicyType`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailurePolicy {
    /// Errors reject the request (the default).
    #[default]
    Fail,
    /// Errors are ignored.
    Ignore,
}
