//! Rule context entries.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A named value added to the rule's variable context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextEntry {
    /// Variable name.
    pub name: String,
    /// A ConfigMap's contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapReference>,
    /// A Kubernetes API or external service call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_call: Option<ApiCall>,
    /// Image registry metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_registry: Option<ImageRegistry>,
    /// A computed variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<Variable>,
    /// A global context entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_reference: Option<GlobalReference>,
}

/// Reference to a ConfigMap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapReference {
    /// Name (may hold variables).
    pub name: String,
    /// Namespace (may hold variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// An API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiCall {
    /// `GET` (default) or `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Body fields for POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<KeyValue>>,
    /// Kubernetes API path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_path: Option<String>,
    /// External service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceCall>,
    /// JMESPath applied to the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jmes_path: Option<String>,
    /// Value used when the call fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// An external HTTP service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceCall {
    /// Service URL.
    pub url: String,
    /// PEM CA bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Request headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<KeyValue>>,
}

/// A key and a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Value (may hold variables).
    #[serde(default)]
    pub value: Value,
}

/// Image registry lookup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRegistry {
    /// Image reference (may hold variables).
    pub reference: String,
    /// JMESPath applied to the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jmes_path: Option<String>,
    /// Registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_registry_credentials: Option<Value>,
}

/// A computed variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Variable {
    /// A literal value (may hold variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// JMESPath evaluated against the context (or against `value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jmes_path: Option<String>,
    /// Used when the result is null or fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// A reference to a global context entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalReference {
    /// Entry name.
    pub name: String,
    /// JMESPath applied to the entry's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jmes_path: Option<String>,
}
