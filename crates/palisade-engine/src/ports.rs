//! What the pure engine needs from the outside world, as small synchronous traits.
//! The CLI answers from files, the webhook and controller from the cluster.

use serde_json::Value;

/// The answer of a port lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The data.
    Found(Value),
    /// No source for this kind of data is configured (offline): the context entry is left
    /// unloaded, as Kyverno's CLI does, and variables may come from a values file instead.
    Unavailable,
    /// The source was asked and failed (not found, forbidden, timeout, ...).
    Failed(String),
}

/// An API call a context entry asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCallRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// A Kubernetes API path (`/api/v1/...`) or a service URL.
    pub url: String,
    /// JSON body for POST.
    pub body: Option<Value>,
    /// True for an external service call (`apiCall.service`).
    pub external: bool,
}

/// Cluster data and external calls, for context entries, clone sources and mutate targets.
pub trait ContextSource: Send + Sync {
    /// A ConfigMap object.
    fn config_map(&self, _namespace: &str, _name: &str) -> Lookup {
        Lookup::Unavailable
    }
    /// The response of an API or service call.
    fn api_call(&self, _request: &ApiCallRequest) -> Lookup {
        Lookup::Unavailable
    }
    /// The data of a global context entry.
    fn global_context(&self, _name: &str) -> Lookup {
        Lookup::Unavailable
    }
    /// Image registry data for an image reference.
    fn image_data(&self, _reference: &str) -> Lookup {
        Lookup::Unavailable
    }
    /// Variable values supplied for a rule (the CLI's values file), set before context entries.
    fn rule_values(&self, _policy: &str, _rule: &str) -> Vec<(String, Value)> {
        Vec::new()
    }
    /// Per-iteration foreach values supplied for a rule.
    fn foreach_values(&self, _policy: &str, _rule: &str, _index: usize) -> Vec<(String, Value)> {
        Vec::new()
    }
    /// One object of the cluster (a clone source, an existing downstream resource).
    /// `namespace` is `""` for cluster-scoped kinds; a missing object is [`Lookup::Failed`].
    fn get_resource(
        &self,
        _api_version: &str,
        _kind: &str,
        _namespace: &str,
        _name: &str,
    ) -> Lookup {
        Lookup::Unavailable
    }
    /// Every object of one kind, as a JSON array: in `namespace`, or in all namespaces when it
    /// is `""` (cloneList sources, mutate-existing targets).
    fn list_resources(&self, _api_version: &str, _kind: &str, _namespace: &str) -> Lookup {
        Lookup::Unavailable
    }
}

/// A context source with no data at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContext;

impl ContextSource for NoContext {}
