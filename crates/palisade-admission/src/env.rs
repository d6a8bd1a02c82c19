//! What a review may ask of the cluster, through ports the caller implements.
//!
//! [`review`](crate::review) does no I/O: the webhook's cluster mode answers these from
//! informer caches, file mode answers nothing ([`NoCluster`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_celpolicy::{CelData, NoData};
use palisade_engine::{ContextSource, Engine, NoContext};
use serde_json::Value;

use crate::types::UserInfo;

/// Roles bound to a requester, as Kyverno computes them from RBAC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// Roles, as `namespace:name`.
    pub roles: Vec<String>,
    /// ClusterRoles, by name.
    pub cluster_roles: Vec<String>,
}

/// Cluster state a review reads synchronously (from a cache; never a network call).
pub trait ClusterView: Send + Sync {
    /// Labels of a namespace, or `None` when it is unknown.
    fn namespace_labels(&self, _namespace: &str) -> Option<BTreeMap<String, String>> {
        None
    }

    /// The Namespace object (CEL policies see it as `namespaceObject`).
    fn namespace(&self, _namespace: &str) -> Option<Value> {
        None
    }

    /// Roles and ClusterRoles bound to the requester; `namespace` is the request's.
    fn roles(&self, _user: &UserInfo, _namespace: &str) -> Roles {
        Roles::default()
    }
}

/// A cluster that knows nothing: file mode and tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCluster;

impl ClusterView for NoCluster {}

/// Everything a review uses besides the policies and the request. Build one per process and
/// share it (`Arc<ReviewEnv>`); every field is thread-safe.
pub struct ReviewEnv {
    /// Evaluation settings (clock).
    pub engine: Engine,
    /// Namespaces and RBAC.
    pub cluster: Arc<dyn ClusterView>,
    /// Data for classic `context` entries (ConfigMaps, API calls, global context).
    pub context: Arc<dyn ContextSource>,
    /// Data for the CEL policies' libraries.
    pub cel_data: Arc<dyn CelData>,
}

impl Default for ReviewEnv {
    fn default() -> Self {
        ReviewEnv::offline()
    }
}

impl ReviewEnv {
    /// An environment without a cluster: namespaces have no labels, context lookups fail
    /// (rules that need them report errors), users have no roles.
    pub fn offline() -> ReviewEnv {
        ReviewEnv {
            engine: Engine::default(),
            cluster: Arc::new(NoCluster),
            context: Arc::new(NoContext),
            cel_data: Arc::new(NoData),
        }
    }
}
