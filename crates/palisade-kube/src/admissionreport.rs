//! `palisade.dev/v1alpha1` AdmissionReports (deploy/crds/palisade.dev_admissionreports.yaml):
//! the report rows of an admitted request for policies that background scans do not run. The
//! webhook writes them after answering; the controller's leader merges them into the
//! resource's PolicyReport and deletes them (docs/background.md).
//!
//! Writing is off the request path: [`Writer::submit`] queues without waiting, a bounded
//! queue drops (and counts) what a slow API server cannot take, as a lost admission row is
//! replaced by the next admission of the resource, not by a background scan.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ObjectMeta, PostParams};
use palisade_reports::{ObjectRef, ReportResult};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// API group.
pub const GROUP: &str = "palisade.dev";
/// API version.
pub const VERSION: &str = "v1alpha1";
/// Kind.
pub const KIND: &str = "AdmissionReport";
/// Reports waiting to be written at most; more are dropped.
pub const QUEUE: usize = 1024;
/// Writes in flight at once.
const CONCURRENT_WRITES: usize = 4;

/// The kube-rs description of the resource.
pub fn api_resource() -> ApiResource {
    crate::discovery::api_resource(&format!("{GROUP}/{VERSION}"), KIND, "admissionreports")
}

/// What an AdmissionReport holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReportSpec {
    /// The admitted object.
    pub resource: ObjectRef,
    /// Its API resource's plural name (`request.resource.resource`), to read it back.
    pub plural: String,
    /// The admission operation.
    #[serde(default)]
    pub operation: String,
    /// The rows, `process: admission review`.
    pub results: Vec<ReportResult>,
}

/// The object for `spec` in `namespace` (named by the API server from `par-`).
pub fn object(namespace: &str, spec: &AdmissionReportSpec) -> Result<DynamicObject, String> {
    let mut obj = DynamicObject::new("", &api_resource());
    obj.metadata = ObjectMeta {
        generate_name: Some("par-".into()),
        namespace: Some(namespace.into()),
        ..ObjectMeta::default()
    };
    obj.data = serde_json::json!({
        "spec": serde_json::to_value(spec).map_err(|e| e.to_string())?,
    });
    Ok(obj)
}

/// Reads the spec of a stored AdmissionReport.
pub fn spec_of(obj: &DynamicObject) -> Result<AdmissionReportSpec, String> {
    let spec = obj.data.get("spec").cloned().unwrap_or_default();
    serde_json::from_value(spec).map_err(|e| e.to_string())
}

/// Writes the webhook's AdmissionReports from a bounded queue.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<AdmissionReportSpec>,
    dropped: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writing task (on the current tokio runtime) for Palisade's `namespace`.
    pub fn start(client: Client, namespace: &str) -> Writer {
        let (tx, rx) = mpsc::channel::<AdmissionReportSpec>(QUEUE);
        let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &api_resource());
        let namespace = namespace.to_string();
        tokio::spawn(async move {
            tokio_stream_of(rx)
                .for_each_concurrent(CONCURRENT_WRITES, |spec| {
                    let api = api.clone();
                    let namespace = namespace.clone();
                    async move {
                        let result = match object(&namespace, &spec) {
                            Ok(obj) => api
                                .create(&PostParams::default(), &obj)
                                .await
                                .map(|_| ())
                                .map_err(|e| e.to_string()),
                            Err(e) => Err(e),
                        };
                        if let Err(e) = result {
                            tracing::warn!(resource = %spec.resource.name, error = %e, "cannot write an admission report");
                        }
                    }
                })
                .await;
        });
        Writer {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues `spec` for writing; false (and counted) when the queue is full.
    pub fn submit(&self, spec: AdmissionReportSpec) -> bool {
        match self.tx.try_send(spec) {
            Ok(()) => true,
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Reports dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn tokio_stream_of<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_round_trip() {
        let spec = AdmissionReportSpec {
            resource: ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: "team".into(),
                name: "p".into(),
                uid: "u".into(),
            },
            plural: "pods".into(),
            operation: "CREATE".into(),
            results: Vec::new(),
        };
        let obj = object("palisade", &spec).unwrap();
        let v = serde_json::to_value(&obj).unwrap();
        assert_eq!(v["apiVersion"], "palisade.dev/v1alpha1");
        assert_eq!(v["kind"], "AdmissionReport");
        assert_eq!(v["metadata"]["generateName"], "par-");
        assert_eq!(v["spec"]["resource"]["kind"], "Pod");
        assert_eq!(spec_of(&obj).unwrap(), spec);
    }
}
