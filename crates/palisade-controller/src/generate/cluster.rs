//! The cluster as generate and mutate-existing rules see it: kinds resolved through discovery,
//! a [`ContextSource`] that reads live objects for the synchronous engine, and the writes
//! (server-side apply with field manager `palisade`, replace, delete).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use palisade_engine::{ContextSource, Lookup};
use palisade_kube::apply::FIELD_MANAGER;
use palisade_kube::discovery::resource_index;
use palisade_kube::webhooks::ResourceIndex;
use serde_json::Value;
use tokio::runtime::Handle;

use crate::kinds::WatchKind;

/// Discovery is not run again sooner than this when a kind is not found.
const REDISCOVER_GAP: Duration = Duration::from_secs(5);

/// API resources by `apiVersion` and kind, from discovery, refreshed when a kind is missing.
pub struct Resources {
    client: Client,
    index: RwLock<Option<(Arc<ResourceIndex>, Instant)>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl Resources {
    /// Nothing discovered yet.
    pub fn new(client: Client) -> Resources {
        Resources {
            client,
            index: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The current index (discovering it first if there is none).
    pub async fn index(&self) -> Option<Arc<ResourceIndex>> {
        if let Some(i) = self.cached() {
            return Some(i);
        }
        self.refresh().await;
        self.cached()
    }

    fn cached(&self) -> Option<Arc<ResourceIndex>> {
        let guard = self.index.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(|(i, _)| i.clone())
    }

    /// The served resource of `api_version` (`v1`, `apps/v1`, or a bare group's preferred
    /// version when no version is given) and `kind`.
    pub async fn find(&self, api_version: &str, kind: &str) -> Option<WatchKind> {
        if let Some(k) = self
            .index()
            .await
            .and_then(|i| lookup(&i, api_version, kind))
        {
            return Some(k);
        }
        // A CRD installed since the last discovery.
        self.refresh().await;
        self.cached().and_then(|i| lookup(&i, api_version, kind))
    }

    async fn refresh(&self) {
        let _one = self.refreshing.lock().await;
        let recent = {
            let guard = self.index.read().unwrap_or_else(|e| e.into_inner());
            guard
                .as_ref()
                .is_some_and(|(_, at)| at.elapsed() < REDISCOVER_GAP)
        };
        if recent {
            return;
        }
        match resource_index(&self.client).await {
            Ok(index) => {
                let mut guard = self.index.write().unwrap_or_else(|e| e.into_inner());
                *guard = Some((Arc::new(index), Instant::now()));
            }
            Err(e) => tracing::warn!(error = %e, "API discovery failed"),
        }
    }
}

/// `(group, version)` of an apiVersion: `v1` is the core group's.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

fn lookup(index: &ResourceIndex, api_version: &str, kind: &str) -> Option<WatchKind> {
    let (group, version) = split_api_version(api_version);
    index
        .resources
        .iter()
        .filter(|r| r.kind == kind && r.group == group)
        .find(|r| {
            if version.is_empty() {
                r.preferred
            } else {
                r.version == version
            }
        })
        .map(WatchKind::of)
}

/// The API of a resource in `namespace`, or across namespaces (and for cluster-scoped kinds)
/// when it is empty.
pub fn api(client: &Client, kind: &WatchKind, namespace: &str) -> Api<DynamicObject> {
    let ar: ApiResource = kind.api_resource();
    if namespace.is_empty() {
        Api::all_with(client.clone(), &ar)
    } else {
        Api::namespaced_with(client.clone(), namespace, &ar)
    }
}

/// An object as the engine reads it: with its apiVersion and kind, without managedFields.
pub fn to_value(mut obj: DynamicObject, kind: &WatchKind) -> Value {
    obj.metadata.managed_fields = None;
    let mut v = serde_json::to_value(&obj).unwrap_or(Value::Null);
    if let Some(map) = v.as_object_mut() {
        map.insert("apiVersion".into(), Value::String(kind.api_version()));
        map.insert("kind".into(), Value::String(kind.kind.clone()));
    }
    v
}

/// Reads one object; `Ok(None)` when it does not exist.
pub async fn get(
    client: &Client,
    resources: &Resources,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<Value>, String> {
    let k = resources
        .find(api_version, kind)
        .await
        .ok_or_else(|| format!("the cluster does not serve {api_version} {kind}"))?;
    match api(client, &k, namespace).get_opt(name).await {
        Ok(o) => Ok(o.map(|o| to_value(o, &k))),
        Err(e) => Err(e.to_string()),
    }
}

/// Lists the objects of a kind (in `namespace`, or everywhere), optionally by label selector.
pub async fn list(
    client: &Client,
    kind: &WatchKind,
    namespace: &str,
    selector: Option<&str>,
) -> Result<Vec<Value>, String> {
    let mut params = ListParams::default();
    if let Some(s) = selector {
        params = params.labels(s);
    }
    match api(client, kind, namespace).list(&params).await {
        Ok(list) => Ok(list.items.into_iter().map(|o| to_value(o, kind)).collect()),
        Err(e) => Err(e.to_string()),
    }
}

/// Creates or updates `desired` with server-side apply (field manager `palisade`, forced:
/// the rule owns what it generates).
pub async fn apply(client: &Client, resources: &Resources, desired: &Value) -> Result<(), String> {
    let (api_version, kind, namespace, name) = identity(desired);
    let k = resources
        .find(api_version, kind)
        .await
        .ok_or_else(|| format!("the cluster does not serve {api_version} {kind}"))?;
    let mut body = desired.clone();
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        // Server-set fields of a clone's source must not be applied.
        for key in [
            "generation",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "managedFields",
        ] {
            meta.remove(key);
        }
    }
    if let Some(map) = body.as_object_mut() {
        map.remove("status");
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api(client, &k, namespace)
        .patch(name, &params, &Patch::Apply(&body))
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot apply {kind} {namespace}/{name}: {e}"))
}

/// Replaces an existing object with `patched` (its resourceVersion makes the write fail
/// rather than overwrite a newer version).
pub async fn replace(
    client: &Client,
    resources: &Resources,
    patched: &Value,
) -> Result<(), String> {
    let (api_version, kind, namespace, name) = identity(patched);
    let k = resources
        .find(api_version, kind)
        .await
        .ok_or_else(|| format!("the cluster does not serve {api_version} {kind}"))?;
    let obj: DynamicObject = serde_json::from_value(patched.clone()).map_err(|e| e.to_string())?;
    api(client, &k, namespace)
        .replace(name, &PostParams::default(), &obj)
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot update {kind} {namespace}/{name}: {e}"))
}

/// Deletes an object; one already gone is not an error.
pub async fn delete(
    client: &Client,
    kind: &WatchKind,
    namespace: &str,
    name: &str,
) -> Result<(), String> {
    match api(client, kind, namespace)
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(format!(
            "cannot delete {} {namespace}/{name}: {e}",
            kind.kind
        )),
    }
}

/// `(apiVersion, kind, namespace, name)` of an object.
pub fn identity(obj: &Value) -> (&str, &str, &str, &str) {
    let s = |ptr: &str| obj.pointer(ptr).and_then(Value::as_str).unwrap_or_default();
    (
        s("/apiVersion"),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name"),
    )
}

/// The engine's view of the cluster during one evaluation on a blocking thread: each lookup
/// is a request to the API server (generate and mutate-existing work is rare next to scans,
/// and must see the objects as they are now).
pub struct LiveSource {
    /// The runtime the requests run on (the caller is a blocking thread outside it).
    pub handle: Handle,
    /// The client.
    pub client: Client,
    /// Kinds.
    pub resources: Arc<Resources>,
}

impl ContextSource for LiveSource {
    fn config_map(&self, namespace: &str, name: &str) -> Lookup {
        self.get_resource("v1", "ConfigMap", namespace, name)
    }

    fn get_resource(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Lookup {
        let found = self.handle.block_on(get(
            &self.client,
            &self.resources,
            api_version,
            kind,
            namespace,
            name,
        ));
        match found {
            Ok(Some(v)) => Lookup::Found(v),
            Ok(None) => Lookup::Failed(format!("{kind} {namespace}/{name} not found")),
            Err(e) => Lookup::Failed(e),
        }
    }

    fn list_resources(&self, api_version: &str, kind: &str, namespace: &str) -> Lookup {
        let listed = self.handle.block_on(async {
            let k = self
                .resources
                .find(api_version, kind)
                .await
                .ok_or_else(|| format!("the cluster does not serve {api_version} {kind}"))?;
            list(&self.client, &k, namespace, None).await
        });
        match listed {
            Ok(items) => Lookup::Found(Value::Array(items)),
            Err(e) => Lookup::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_kube::webhooks::ApiResourceInfo;

    #[test]
    fn kinds_resolve_by_group_and_version() {
        let info = |group: &str, version: &str, kind: &str, preferred| ApiResourceInfo {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
            subresources: Vec::new(),
            preferred,
        };
        let index = ResourceIndex {
            resources: vec![
                info("", "v1", "ConfigMap", true),
                info("networking.k8s.io", "v1", "NetworkPolicy", true),
                info("example.io", "v1", "Widget", true),
                info("example.io", "v1beta1", "Widget", false),
            ],
        };
        let plural = |api: &str, kind: &str| lookup(&index, api, kind).map(|k| k.api_version());
        assert_eq!(plural("v1", "ConfigMap").as_deref(), Some("v1"));
        assert_eq!(
            plural("networking.k8s.io/v1", "NetworkPolicy").as_deref(),
            Some("networking.k8s.io/v1")
        );
        assert_eq!(
            plural("example.io/v1beta1", "Widget").as_deref(),
            Some("example.io/v1beta1")
        );
        assert_eq!(plural("v1", "NetworkPolicy"), None);
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(split_api_version("v1"), ("", "v1"));
    }

    #[test]
    fn values_carry_their_type() {
        let k = WatchKind {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
        };
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "c", "namespace": "n", "managedFields": [{"manager": "x"}]},
            "data": {"a": "b"}
        }))
        .unwrap();
        let v = to_value(obj, &k);
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["kind"], "ConfigMap");
        assert_eq!(v["data"]["a"], "b");
        assert!(v["metadata"].get("managedFields").is_none());
        assert_eq!(identity(&v), ("v1", "ConfigMap", "n", "c"));
    }
}
