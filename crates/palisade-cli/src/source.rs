//! The offline answers to context entries: a values file, cluster resources and recorded
//! API responses, as Kyverno's CLI provides them.

use std::collections::BTreeMap;

use palisade_api::cli::{ApiCallResponse, ValuesSpec};
use palisade_engine::ports::{ApiCallRequest, ContextSource, Lookup};
use serde_json::Value;

/// Kinds the CLI treats as cluster-scoped when a resource has no namespace.
pub const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "CustomResourceDefinition",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "CSIDriver",
    "CSINode",
    "RuntimeClass",
    "IngressClass",
    "VolumeAttachment",
    "CertificateSigningRequest",
    "ComponentStatus",
    "ClusterPolicy",
    "ClusterPolicyReport",
    "PodSecurityPolicy",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "TokenReview",
    "SubjectAccessReview",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "ClusterIssuer",
    "ClusterCleanupPolicy",
    "GlobalContextEntry",
    "ClusterEphemeralReport",
];

/// Gives a namespaced resource without a namespace the namespace `default`.
pub fn default_namespace(resource: &mut Value, extra_cluster_kinds: &[String]) {
    let kind = resource
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if CLUSTER_SCOPED.contains(&kind.as_str()) || extra_cluster_kinds.contains(&kind) {
        return;
    }
    let Some(meta) = resource.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let missing = meta
        .get("namespace")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    if missing {
        meta.insert("namespace".into(), Value::String("default".into()));
    }
}

/// Everything the CLI knows offline.
#[derive(Default)]
pub struct OfflineData {
    /// The values file.
    pub values: ValuesSpec,
    /// Resources that exist in the pretend cluster.
    pub cluster: Vec<Value>,
    /// Recorded responses.
    pub responses: Vec<ApiCallResponse>,
    /// Existing objects mutate-existing rules may patch (`--target-resource`, `targetResources`).
    pub targets: Vec<Value>,
    /// Clone sources of generate rules, by policy name (`cloneSourceResource`).
    pub clone_sources: Vec<(String, Value)>,
}

impl OfflineData {
    /// Namespace labels from the values file (`namespaceSelector` and `namespaces`) and
    /// cluster Namespace objects.
    pub fn namespace_labels(&self, ns: &str) -> Option<BTreeMap<String, String>> {
        if let Some(sel) = self
            .values
            .namespace_selectors
            .iter()
            .find(|s| s.name == ns)
        {
            return Some(sel.labels.clone());
        }
        let from_objects = self.values.namespaces.iter().chain(
            self.cluster
                .iter()
                .filter(|r| r.get("kind").and_then(Value::as_str) == Some("Namespace")),
        );
        for n in from_objects {
            if n.pointer("/metadata/name").and_then(Value::as_str) == Some(ns) {
                let mut labels = palisade_engine::matching::labels_of(n);
                labels
                    .entry("kubernetes.io/metadata.name".into())
                    .or_insert_with(|| ns.to_string());
                return Some(labels);
            }
        }
        None
    }

    /// The values for a resource under one policy.
    /// Values given for `resource` under `policy`.
    pub fn resource_values(&self, policy: &str, resource: &str) -> Vec<(String, Value)> {
        self.values
            .policies
            .iter()
            .filter(|p| p.name == policy || p.name == policy.rsplit('/').next().unwrap_or(policy))
            .flat_map(|p| p.resources.iter().filter(|r| r.name == resource))
            .flat_map(|r| r.values.clone())
            .collect()
    }

    /// The operation a policy sees for a resource: `request.operation` from the resource's
    /// values, else from the global values (as Kyverno's CLI reads it per policy).
    pub fn operation_for(&self, policy: &str, resource: &str) -> Option<String> {
        self.resource_values(policy, resource)
            .into_iter()
            .rev()
            .find(|(k, _)| k == "request.operation")
            .and_then(|(_, v)| v.as_str().map(str::to_string))
            .or_else(|| {
                self.values
                    .global_values
                    .get("request.operation")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
    }

    fn api_allowed(&self) -> bool {
        !self.cluster.is_empty() || !self.responses.is_empty()
    }
}

/// The context source for one resource.
pub struct ResourceSource<'a> {
    /// Offline data.
    pub data: &'a OfflineData,
    /// Name of the resource under evaluation.
    pub resource_name: String,
}

impl ContextSource for ResourceSource<'_> {
    fn config_map(&self, namespace: &str, name: &str) -> Lookup {
        if self.data.cluster.is_empty() {
            return Lookup::Unavailable;
        }
        let found = self.data.cluster.iter().find(|r| {
            r.get("kind").and_then(Value::as_str) == Some("ConfigMap")
                && r.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                && r.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
                    == namespace
        });
        match found {
            Some(cm) => Lookup::Found(cm.clone()),
            None => Lookup::Failed(format!("configmaps \"{name}\" not found")),
        }
    }

    fn api_call(&self, request: &ApiCallRequest) -> Lookup {
        if let Some(r) = self.data.responses.iter().find(|r| {
            r.url == request.url
                && r.method
                    .as_deref()
                    .unwrap_or("GET")
                    .eq_ignore_ascii_case(&request.method)
        }) {
            return Lookup::Found(r.response.body.clone());
        }
        if !self.data.api_allowed() || request.external {
            return Lookup::Unavailable;
        }
        crate::apipath::answer(&request.url, &self.data.cluster)
    }

    fn rule_values(&self, policy: &str, rule: &str) -> Vec<(String, Value)> {
        let mut out = self.data.resource_values(policy, &self.resource_name);
        for p in self
            .data
            .values
            .policies
            .iter()
            .filter(|p| p.name == policy || policy.ends_with(&format!("/{}", p.name)))
        {
            for r in p
                .rules
                .iter()
                .filter(|r| r.name == rule || rule.ends_with(&format!("-{}", r.name)))
            {
                out.extend(r.values.clone());
            }
        }
        out
    }

    fn foreach_values(&self, policy: &str, rule: &str, index: usize) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for p in self
            .data
            .values
            .policies
            .iter()
            .filter(|p| p.name == policy)
        {
            for r in p.rules.iter().filter(|r| r.name == rule) {
                for (k, list) in &r.foreach_values {
                    if let Some(v) = list.get(index) {
                        out.push((k.clone(), v.clone()));
                    }
                }
            }
        }
        out
    }
}
