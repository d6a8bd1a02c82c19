//! AdmissionReports from the webhook: the rows of policies that background scans do not run,
//! merged into the admitted resource's PolicyReport by the leader
//! ([`Controller::merge_admission_reports`](crate::Controller::merge_admission_reports)).
//!
//! The webhook writes an AdmissionReport after answering, possibly before the API server has
//! stored the object (other webhooks may still run, or refuse it). So a report waits for its
//! object: it is merged once the object exists with the recorded UID, dropped when another
//! object has the name, and dropped after [`WAIT_FOR_OBJECT`] when none appears.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use palisade_kube::admissionreport::{AdmissionReportSpec, api_resource};
use tokio::task::JoinHandle;

use crate::queue::WorkQueue;

/// How long an AdmissionReport waits for its object to be stored.
pub const WAIT_FOR_OBJECT: Duration = Duration::from_secs(30);

/// Where the admitted object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// It exists with the recorded UID.
    Live,
    /// Another object has its name now: the admitted one is gone.
    Replaced,
    /// Not there (not stored yet, refused, or deleted).
    Missing,
}

/// The AdmissionReports in Palisade's namespace, from a watch, and a queue of their names.
pub struct AdmissionInbox {
    api: Api<DynamicObject>,
    store: Store<DynamicObject>,
    queue: Arc<WorkQueue<String>>,
    first_seen: Mutex<HashMap<String, Instant>>,
    task: JoinHandle<()>,
}

impl AdmissionInbox {
    /// Starts watching AdmissionReports in `namespace` (on the current tokio runtime).
    pub fn start(client: Client, namespace: &str) -> Arc<AdmissionInbox> {
        let ar = api_resource();
        let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &ar);
        let writer = reflector::store::Writer::<DynamicObject>::new(ar);
        let store = writer.as_reader();
        let queue = Arc::new(WorkQueue::new());
        let q = queue.clone();
        let stream = watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            .reflect(writer);
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        q.push(o.name_any());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "admission report watch failed; retrying");
                    }
                }
            }
        });
        Arc::new(AdmissionInbox {
            api,
            store,
            queue,
            first_seen: Mutex::new(HashMap::new()),
            task,
        })
    }

    /// The next names to merge (waits for some).
    pub async fn next(&self) -> Vec<String> {
        self.queue.pop(16).await
    }

    /// Marks names as handled.
    pub fn done(&self, names: &[String]) {
        self.queue.done(names);
    }

    /// The report `name` and how long ago it was first seen (`None`: deleted meanwhile).
    pub fn get(&self, name: &str) -> Option<(Arc<DynamicObject>, Duration)> {
        let obj = self
            .store
            .get(&ObjectRef::new_with(name, api_resource()).within(self.api_namespace()))?;
        let seen = *self
            .seen()
            .entry(name.to_string())
            .or_insert_with(Instant::now);
        Some((obj, seen.elapsed()))
    }

    fn api_namespace(&self) -> &str {
        self.api.namespace().unwrap_or_default()
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.first_seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Deletes a handled report; one already gone is fine.
    pub async fn delete(&self, name: &str) {
        match self.api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                // Merging again is harmless (the same rows), so the next sight of it retries.
                tracing::warn!(report = %name, error = %e, "cannot delete an admission report");
                return;
            }
        }
        self.seen().remove(name);
    }

    /// Queues `name` again after `after`.
    pub fn retry_later(&self, name: String, after: Duration) {
        let queue = self.queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            queue.push(name);
        });
    }
}

impl Drop for AdmissionInbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The API resource of the admitted object.
pub fn target_resource(spec: &AdmissionReportSpec) -> ApiResource {
    palisade_kube::discovery::api_resource(
        &spec.resource.api_version,
        &spec.resource.kind,
        &spec.plural,
    )
}

/// Looks the admitted object up (its metadata only).
pub async fn find(client: &Client, spec: &AdmissionReportSpec) -> Result<Target, kube::Error> {
    let ar = target_resource(spec);
    let r = &spec.resource;
    let api: Api<DynamicObject> = if r.namespace.is_empty() {
        Api::all_with(client.clone(), &ar)
    } else {
        Api::namespaced_with(client.clone(), &r.namespace, &ar)
    };
    Ok(match api.get_metadata_opt(&r.name).await? {
        Some(m) if m.metadata.uid.as_deref() == Some(r.uid.as_str()) => Target::Live,
        Some(_) => Target::Replaced,
        None => Target::Missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_reports::ObjectRef as Scope;

    #[test]
    fn target_resources_from_api_versions() {
        let spec = |api: &str, kind: &str, plural: &str| AdmissionReportSpec {
            resource: Scope {
                api_version: api.into(),
                kind: kind.into(),
                name: "x".into(),
                ..Scope::default()
            },
            plural: plural.into(),
            operation: "CREATE".into(),
            results: Vec::new(),
        };
        let core = target_resource(&spec("v1", "Pod", "pods"));
        assert_eq!(
            (
                core.group.as_str(),
                core.version.as_str(),
                core.plural.as_str()
            ),
            ("", "v1", "pods")
        );
        let apps = target_resource(&spec("apps/v1", "Deployment", "deployments"));
        assert_eq!(
            (
                apps.group.as_str(),
                apps.version.as_str(),
                apps.api_version.as_str()
            ),
            ("apps", "v1", "apps/v1")
        );
    }
}
