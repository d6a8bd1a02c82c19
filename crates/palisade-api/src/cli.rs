//! The Kyverno CLI's file formats (`cli.kyverno.io/v1alpha1`): Test, Values, UserInfo.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::meta::ObjectMeta;

/// A `kyverno-test.yaml` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Test {
    /// `cli.kyverno.io/v1alpha1`.
    #[serde(default)]
    pub api_version: String,
    /// `Test`.
    #[serde(default)]
    pub kind: String,
    /// Metadata; the name identifies the test.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Deprecated top-level name (rejected like Kyverno does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Policy files, relative to the test file.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Resource files.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Deprecated single JSON payload file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_payload: Option<String>,
    /// JSON payload files (for JSON policies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_payloads: Vec<String>,
    /// Envoy payload files (for authorization policies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub envoy_payloads: Vec<String>,
    /// HTTP payload files (for authorization policies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_payloads: Vec<String>,
    /// Targets of mutate-existing rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_resources: Vec<String>,
    /// The values file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<String>,
    /// Parameter resources for admission policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub param_resources: Vec<String>,
    /// The user info file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<String>,
    /// Expected results.
    #[serde(default)]
    pub results: Vec<TestResult>,
    /// kyverno-json style checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Value>,
    /// Inline values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<ValuesSpec>,
    /// Policy exception files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<String>,
    /// Context file for CEL policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Files with resources that exist in the (fake) cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resources: Vec<String>,
    /// Recorded responses for API and HTTP calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_call_responses: Vec<ApiCallResponse>,
}

/// A recorded response to an API or HTTP call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiCallResponse {
    /// HTTP method (default GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// URL or Kubernetes API path.
    #[serde(default)]
    pub url: String,
    /// The response.
    #[serde(default)]
    pub response: ApiResponse,
}

/// A recorded response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiResponse {
    /// HTTP status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Response body.
    #[serde(default)]
    pub body: Value,
}

/// One expected result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestResult {
    /// Policy name (`ns/name` accepted).
    #[serde(default)]
    pub policy: String,
    /// Rule name; also matches `autogen-` names.
    #[serde(default)]
    pub rule: String,
    /// Expected result: pass, fail, warn, error, skip.
    #[serde(default)]
    pub result: String,
    /// Resource kind (informational; Kyverno matches by name).
    #[serde(default)]
    pub kind: String,
    /// Resource names (`name` or `namespace/name`).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Expected patched resource file.
    #[serde(
        default,
        alias = "patchedResource",
        skip_serializing_if = "Option::is_none"
    )]
    pub patched_resources: Option<String>,
    /// Expected generated resource file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_resource: Option<String>,
    /// Source resource of a clone rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_source_resource: Option<String>,
    /// Operation to evaluate with (CREATE, UPDATE, DELETE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Deprecated: expected result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Deprecated: one resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Deprecated: namespace of the policy/resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Ignored by Kyverno (results match by policy name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_validating_admission_policy: Option<bool>,
    /// Ignored by Kyverno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mutating_admission_policy: Option<bool>,
    /// Ignored by Kyverno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_validating_policy: Option<bool>,
    /// Ignored by Kyverno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mutating_policy: Option<bool>,
    /// Ignored by Kyverno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_generating_policy: Option<bool>,
    /// Ignored by Kyverno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_image_validating_policy: Option<bool>,
    /// Ignored by Kyverno.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_deleting_policy: Option<bool>,
}

/// A values file (`kind: Values` or `Value`), or the inline `values` of a test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValuesSpec {
    /// `cli.kyverno.io/v1alpha1` when a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `Values` or `Value` when a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Metadata when a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    /// Variables for every policy and resource (`request.operation` etc.).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub global_values: BTreeMap<String, Value>,
    /// Per-policy values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyValues>,
    /// Namespace labels for namespaceSelector matching.
    #[serde(
        default,
        rename = "namespaceSelector",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub namespace_selectors: Vec<NamespaceLabels>,
    /// Namespace objects (labels and annotations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<Value>,
    /// Subresource to parent mappings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subresources: Vec<Value>,
    /// Variables for admission policies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

/// Values for one policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyValues {
    /// Policy name.
    pub name: String,
    /// Per-rule values.
    #[serde(default)]
    pub rules: Vec<RuleValues>,
    /// Per-resource values.
    #[serde(default)]
    pub resources: Vec<ResourceValues>,
}

/// Values for one rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleValues {
    /// Rule name.
    pub name: String,
    /// Variable values.
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
    /// Foreach values, per foreach block: variable name to the value for each iteration.
    #[serde(default)]
    pub foreach_values: BTreeMap<String, Vec<Value>>,
}

/// Values for one resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceValues {
    /// Resource name.
    pub name: String,
    /// Variable values.
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
}

/// Labels of one namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceLabels {
    /// Namespace name.
    pub name: String,
    /// Its labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A user info file (`kind: UserInfo`), or the request info it holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserInfoFile {
    /// `cli.kyverno.io/v1alpha1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `UserInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    /// Roles of the requester (`namespace:role`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Cluster roles of the requester.
    #[serde(default)]
    pub cluster_roles: Vec<String>,
    /// The authenticated user.
    #[serde(default)]
    pub user_info: UserInfo,
}

/// `authenticationv1.UserInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserInfo {
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Extra attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Rewrites the keys of a map to the canonical spelling in `known`, ignoring case,
/// because Kyverno decodes CLI files case-insensitively.
pub fn canonicalize_keys(value: &mut Value, known: &[&str]) {
    let Value::Object(map) = value else { return };
    let renames: Vec<(String, &str)> = map
        .keys()
        .filter_map(|k| {
            known
                .iter()
                .find(|c| c.eq_ignore_ascii_case(k) && **c != k.as_str())
                .map(|c| (k.clone(), *c))
        })
        .collect();
    for (from, to) in renames {
        if let Some(v) = map.remove(&from) {
            map.entry(to.to_string()).or_insert(v);
        }
    }
}

/// Canonical top-level field names of a Test document.
pub const TEST_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "policies",
    "resources",
    "jsonPayload",
    "jsonPayloads",
    "envoyPayloads",
    "httpPayloads",
    "targetResources",
    "variables",
    "paramResources",
    "userinfo",
    "results",
    "checks",
    "values",
    "exceptions",
    "context",
    "clusterResources",
    "apiCallResponses",
];

/// Canonical field names of a test result.
pub const RESULT_FIELDS: &[&str] = &[
    "policy",
    "rule",
    "result",
    "kind",
    "resources",
    "patchedResources",
    "patchedResource",
    "generatedResource",
    "cloneSourceResource",
    "operation",
    "status",
    "resource",
    "namespace",
    "isValidatingAdmissionPolicy",
    "isMutatingAdmissionPolicy",
    "isValidatingPolicy",
    "isMutatingPolicy",
    "isGeneratingPolicy",
    "isImageValidatingPolicy",
    "isDeletingPolicy",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_matched_case_insensitively() {
        let mut v =
            serde_json::json!({"UserInfo": "u.yaml", "Policies": ["p.yaml"], "kind": "Test"});
        canonicalize_keys(&mut v, TEST_FIELDS);
        let t: Test = serde_json::from_value(v).unwrap();
        assert_eq!(t.userinfo.as_deref(), Some("u.yaml"));
        assert_eq!(t.policies, vec!["p.yaml"]);
    }
}
