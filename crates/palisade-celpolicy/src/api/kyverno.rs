//! `policies.kyverno.io` ValidatingPolicy, MutatingPolicy (cluster and namespaced) and the
//! CEL PolicyException, as Kyverno serves them in v1alpha1, v1beta1 and v1.

use palisade_api::meta::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::admission::{
    AuditAnnotation, FailurePolicy, MatchCondition, MatchResources, Mutation, Validation, Variable,
};

/// A ValidatingPolicy or NamespacedValidatingPolicy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidatingPolicy {
    /// `policies.kyverno.io/v1` (or v1alpha1, v1beta1).
    pub api_version: String,
    /// `ValidatingPolicy` or `NamespacedValidatingPolicy`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default)]
    pub spec: ValidatingPolicySpec,
    /// Status, ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

/// The spec of a ValidatingPolicy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidatingPolicySpec {
    /// Which requests it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_constraints: Option<MatchResources>,
    /// Match conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_conditions: Vec<MatchCondition>,
    /// Variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    /// Validations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<Validation>,
    /// Audit annotations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_annotations: Vec<AuditAnnotation>,
    /// `Deny`, `Audit`, `Warn` (default Deny).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_actions: Vec<String>,
    /// What to do on evaluation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<FailurePolicy>,
    /// Webhook settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_configuration: Option<WebhookConfiguration>,
    /// Where the policy runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// Autogen settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autogen: Option<AutogenConfiguration>,
}

impl ValidatingPolicySpec {
    /// The evaluation mode: `Kubernetes` (default), `JSON`, `HTTP` or `Envoy`.
    pub fn mode(&self) -> &str {
        self.evaluation
            .as_ref()
            .and_then(|e| e.mode.as_deref())
            .unwrap_or("Kubernetes")
    }

    /// True unless background evaluation is disabled.
    pub fn background(&self) -> bool {
        self.evaluation
            .as_ref()
            .and_then(|e| e.background.as_ref())
            .and_then(|b| b.enabled)
            .unwrap_or(true)
    }

    /// True unless admission evaluation is disabled.
    pub fn admission(&self) -> bool {
        self.evaluation
            .as_ref()
            .and_then(|e| e.admission.as_ref())
            .and_then(|b| b.enabled)
            .unwrap_or(true)
    }
}

/// Webhook settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfiguration {
    /// Webhook timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
}

/// Where and how a policy is evaluated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Evaluation {
    /// Admission requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<Toggle>,
    /// Background scans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<Toggle>,
    /// Existing resources (MutatingPolicy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutate_existing: Option<Toggle>,
    /// `Kubernetes`, `JSON`, `HTTP` or `Envoy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

/// An `enabled` switch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toggle {
    /// On or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Autogen settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutogenConfiguration {
    /// Pod controllers to generate rules for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_controllers: Option<PodControllers>,
    /// Generate a ValidatingAdmissionPolicy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validating_admission_policy: Option<Toggle>,
    /// Generate a MutatingAdmissionPolicy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutating_admission_policy: Option<Toggle>,
}

/// The Pod controllers autogen targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodControllers {
    /// Plural resources (`deployments`, `cronjobs`, ...); empty disables autogen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controllers: Option<Vec<String>>,
}

/// A MutatingPolicy or NamespacedMutatingPolicy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MutatingPolicy {
    /// API version.
    pub api_version: String,
    /// `MutatingPolicy` or `NamespacedMutatingPolicy`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default)]
    pub spec: MutatingPolicySpec,
    /// Status, ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

/// The spec of a MutatingPolicy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MutatingPolicySpec {
    /// Which requests it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_constraints: Option<MatchResources>,
    /// Match conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_conditions: Vec<MatchCondition>,
    /// Variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    /// Mutations, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<Mutation>,
    /// What to do on evaluation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<FailurePolicy>,
    /// `Never` or `IfNeeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reinvocation_policy: Option<String>,
    /// Webhook settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_configuration: Option<WebhookConfiguration>,
    /// Where the policy runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// Autogen settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autogen: Option<AutogenConfiguration>,
    /// Which existing resources to mutate (mutate-existing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_match_constraints: Option<TargetMatchConstraints>,
}

/// The targets of a mutate-existing MutatingPolicy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetMatchConstraints {
    /// Resources by rule.
    #[serde(flatten)]
    pub match_resources: MatchResources,
    /// Or an expression returning the targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

/// A `policies.kyverno.io` PolicyException: CEL match conditions exempting requests from
/// the referenced policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyException {
    /// API version.
    pub api_version: String,
    /// `PolicyException`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Spec.
    #[serde(default)]
    pub spec: PolicyExceptionSpec,
}

/// The spec of a CEL PolicyException.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyExceptionSpec {
    /// The policies exempted.
    #[serde(default)]
    pub policy_refs: Vec<PolicyRef>,
    /// Requests for which all of these hold are exempted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_conditions: Vec<MatchCondition>,
    /// Images exempted (ImageValidatingPolicy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Allowed values (ignored here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Value>,
    /// How an exempted rule is reported: `skip` (the default) or `pass`. The CRD defaults it,
    /// so watched exceptions carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_result: Option<String>,
}

/// A reference to a policy by name and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRef {
    /// Policy name.
    #[serde(default)]
    pub name: String,
    /// Policy kind (`ValidatingPolicy`, ...).
    #[serde(default)]
    pub kind: String,
}
