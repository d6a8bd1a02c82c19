//! Cluster resources for CEL policies evaluated in the background: what a
//! ValidatingAdmissionPolicy binding's `paramRef` selects (and Kyverno's `resource` library),
//! read live from the API server.
//!
//! Scans are synchronous and run on blocking threads; each read is spawned on the runtime and
//! waited for, at most [`READ_LIMIT`], so a slow API server turns a scan into an `error` row
//! rather than a stuck worker.

use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use palisade_celpolicy::CelData;
use serde_json::Value;
use tokio::runtime::Handle;

/// The longest one read may take.
pub const READ_LIMIT: Duration = Duration::from_secs(10);

/// [`CelData`] answered by the API server (get and list only).
#[derive(Clone)]
pub struct ClusterData {
    client: Client,
    runtime: Handle,
}

impl fmt::Debug for ClusterData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterData")
    }
}

impl ClusterData {
    /// Reads through `client` on the current runtime (call it from inside one).
    pub fn new(client: Client) -> ClusterData {
        ClusterData {
            client,
            runtime: Handle::current(),
        }
    }

    fn api(&self, api_version: &str, resource: &str, namespace: &str) -> Api<DynamicObject> {
        // The URL needs group, version and plural only.
        let ar = crate::discovery::api_resource(api_version, "", resource);
        if namespace.is_empty() {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        }
    }

    /// Runs `read` on the runtime and waits for it from this (blocking) thread.
    fn wait<F>(&self, read: F) -> Result<Value, String>
    where
        F: Future<Output = Result<Value, String>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(read.await);
        });
        rx.recv_timeout(READ_LIMIT)
            .unwrap_or_else(|_| Err("the API server did not answer in time".into()))
    }
}

fn to_json(obj: &DynamicObject, api_version: &str) -> Result<Value, String> {
    let mut v = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    // Items of a list carry no apiVersion; CEL expressions may read it.
    if let Some(m) = v.as_object_mut() {
        m.entry("apiVersion")
            .or_insert_with(|| Value::String(api_version.to_string()));
    }
    Ok(v)
}

impl CelData for ClusterData {
    fn get_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        let api = self.api(api_version, resource, namespace);
        let (name, version) = (name.to_string(), api_version.to_string());
        let shown = format!("{resource} \"{name}\"");
        self.wait(async move {
            match api.get_opt(&name).await {
                Ok(Some(obj)) => to_json(&obj, &version),
                Ok(None) => Err(format!("failed to get resource: {shown} not found")),
                Err(e) => Err(format!("failed to get resource: {shown}: {e}")),
            }
        })
    }

    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<Value, String> {
        let api = self.api(api_version, resource, namespace);
        let version = api_version.to_string();
        let shown = resource.to_string();
        self.wait(async move {
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|e| format!("failed to list resource: {shown}: {e}"))?;
            let items = list
                .items
                .iter()
                .map(|o| to_json(o, &version))
                .collect::<Result<Vec<Value>, String>>()?;
            Ok(serde_json::json!({"apiVersion": version, "kind": "List", "items": items}))
        })
    }
}
