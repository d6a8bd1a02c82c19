//! `ClusterPolicy` and `Policy` (`kyverno.io/v1`, `kyverno.io/v2beta1`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conditions::Conditions;
use crate::context::ContextEntry;
use crate::generate::Generation;
use crate::matching::MatchResources;
use crate::meta::{LabelSelector, ObjectMeta};
use crate::mutate::Mutation;
use crate::validate::Validation;

/// A `ClusterPolicy` or a namespaced `Policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// `kyverno.io/v1` or `kyverno.io/v2beta1`.
    pub api_version: String,
    /// `ClusterPolicy` or `Policy`.
    pub kind: String,
    /// Metadata; a `Policy` has a namespace.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The policy body.
    pub spec: Spec,
    /// Status as written by a controller; ignored by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Value>,
}

impl Policy {
    /// True for a namespaced `Policy`.
    pub fn is_namespaced(&self) -> bool {
        self.kind == "Policy"
    }

    /// The name Kyverno reports: `namespace/name` for a `Policy`, `name` for a `ClusterPolicy`.
    pub fn report_name(&self) -> String {
        match (&self.metadata.namespace, self.is_namespaced()) {
            (Some(ns), true) if !ns.is_empty() => format!("{ns}/{}", self.metadata.name),
            _ => self.metadata.name.clone(),
        }
    }
}

/// `Audit` or `Enforce`; the lower-case legacy spellings are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureAction {
    /// Report failures, admit the request.
    #[serde(alias = "audit")]
    Audit,
    /// Deny the request on failure.
    #[serde(alias = "enforce")]
    Enforce,
}

/// The body of a policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// The rules, evaluated in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// `All` (default) or `One`: stop after the first rule that applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_rules: Option<String>,
    /// Deprecated: use `webhookConfiguration.failurePolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<String>,
    /// Deprecated policy-wide failure action (default Audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_failure_action: Option<FailureAction>,
    /// Deprecated policy-wide failure action overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_failure_action_overrides: Option<Vec<FailureActionOverride>>,
    /// Apply at admission (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<bool>,
    /// Apply in background scans (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    /// Deprecated, ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_validation: Option<bool>,
    /// Deprecated: use `webhookConfiguration.timeoutSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_timeout_seconds: Option<i32>,
    /// Deprecated: moved to the rule level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutate_existing_on_policy_update: Option<bool>,
    /// Deprecated: moved to the rule level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_existing_on_policy_update: Option<bool>,
    /// Deprecated: moved to the rule level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_existing: Option<bool>,
    /// Generate rules use server-side apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_server_side_apply: Option<bool>,
    /// Webhook settings for this policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_configuration: Option<WebhookConfiguration>,
    /// Return admission warnings for mutate and Audit validate rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emit_warning: Option<bool>,
}

/// Per-policy webhook settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfiguration {
    /// `Fail` (default) or `Ignore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<String>,
    /// Webhook timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
    /// CEL match conditions for the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_conditions: Option<Vec<MatchCondition>>,
}

/// A Kubernetes CEL match condition (`admissionregistration/v1 MatchCondition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchCondition {
    /// Condition name.
    pub name: String,
    /// CEL expression that must evaluate to true.
    pub expression: String,
}

/// Overrides the failure action for some namespaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailureActionOverride {
    /// The action that applies there.
    pub action: FailureAction,
    /// Namespaces (wildcards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Namespaces selected by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
}

/// One rule of a policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// Rule name, unique in the policy.
    pub name: String,
    /// Context entries, evaluated in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<ContextEntry>>,
    /// Which requests the rule applies to.
    #[serde(default, rename = "match")]
    pub match_: MatchResources,
    /// Which of the matched requests it does not apply to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<MatchResources>,
    /// Custom image extractors (verifyImages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_extractors: Option<Value>,
    /// Conditions that must hold for the rule to apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Conditions>,
    /// CEL preconditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cel_preconditions: Option<Vec<MatchCondition>>,
    /// A validation rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<Validation>,
    /// A mutation rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutate: Option<Mutation>,
    /// A generation rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<Generation>,
    /// Image verification rules (not evaluated offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_images: Option<Vec<Value>>,
    /// Skip background requests (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_background_requests: Option<bool>,
    /// Properties copied into report results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_properties: Option<BTreeMap<String, String>>,
}

impl Rule {
    /// The kind of rule, for reports and dispatch.
    pub fn rule_type(&self) -> RuleType {
        if self.validate.is_some() {
            RuleType::Validation
        } else if self.mutate.is_some() {
            RuleType::Mutation
        } else if self.generate.is_some() {
            RuleType::Generation
        } else if self.verify_images.is_some() {
            RuleType::ImageVerify
        } else {
            RuleType::Empty
        }
    }
}

/// The kinds of rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleType {
    /// `validate`.
    Validation,
    /// `mutate`.
    Mutation,
    /// `generate`.
    Generation,
    /// `verifyImages`.
    ImageVerify,
    /// None of them: rejected when compiled.
    Empty,
}
