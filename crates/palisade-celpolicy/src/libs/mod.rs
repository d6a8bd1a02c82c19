//! Kyverno's CEL libraries, registered through palisade-cel's embedding API so the CEL crate
//! stays generic: `resource`, `http`, `globalContext`, `image` (image data) as receivers
//! bound per evaluation to a [`CelData`] port, and the pure `image`/`parseImageReference`,
//! `isImage`, `parseServiceAccount` and `time.now` functions.

mod context;
mod image;
mod user;

use std::fmt::Debug;
use std::sync::Arc;

use palisade_cel::{Activation, EnvBuilder, Value};
use serde_json::Value as Json;

pub use context::DataHandle;

/// Kyverno's error when `resource.Get` finds no such resource.
pub fn resource_not_found(resource: &str, name: &str) -> String {
    format!("failed to get resource: {resource} \"{name}\" not found")
}

/// The error when a global context entry does not exist.
pub fn global_entry_not_found(name: &str) -> String {
    format!("global context entry {name:?} not found")
}

/// What Kyverno's context libraries read: cluster resources, HTTP services, global context
/// entries and image metadata. The CLI answers from test files, the webhook from the cluster.
/// Every method defaults to an error, so an embedder implements only what it has.
pub trait CelData: Send + Sync + Debug {
    /// One resource (`resource.Get(apiVersion, resource, namespace, name)`).
    fn get_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Json, String> {
        let _ = (api_version, namespace);
        Err(resource_not_found(resource, name))
    }
    /// A list of resources (`{"items": [...]}`).
    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<Json, String> {
        let _ = (api_version, namespace);
        Err(format!("failed to list resource: {resource} not available"))
    }
    /// An HTTP GET; the response as `{"body": ..., "statusCode": ...}` or as recorded.
    fn http_get(&self, url: &str) -> Result<Json, String> {
        Err(format!(
            "http.Get: no response available offline for URL {url:?}"
        ))
    }
    /// An HTTP POST.
    fn http_post(&self, url: &str, body: &Json) -> Result<Json, String> {
        let _ = body;
        Err(format!(
            "http.Post: no response available offline for URL {url:?}"
        ))
    }
    /// A global context entry, optionally projected.
    fn global_context(&self, name: &str, projection: &str) -> Result<Json, String> {
        let _ = projection;
        Err(global_entry_not_found(name))
    }
    /// Image metadata (`image.GetMetadata(ref)`).
    fn image_data(&self, image: &str) -> Result<Json, String> {
        Err(format!(
            "failed to get image data for {image:?}: not available offline"
        ))
    }
}

/// A port with no data: every lookup fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoData;

impl CelData for NoData {}

/// Adds Kyverno's libraries (and their receiver variables) to an environment.
pub fn register(env: EnvBuilder) -> EnvBuilder {
    let env = context::register(env);
    let env = image::register(env);
    user::register(env)
}

/// Binds the receiver variables to `data` for one evaluation.
pub fn bind(act: &mut Activation, data: &Arc<dyn CelData>) {
    for (var, kind) in context::RECEIVERS {
        act.bind(
            *var,
            Value::Opaque(Arc::new(DataHandle {
                kind,
                data: data.clone(),
            })),
        );
    }
}
