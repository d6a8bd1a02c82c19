//! The PolicyReports and ClusterPolicyReports Palisade wrote, from watch caches (label
//! `app.kubernetes.io/managed-by=palisade`), and writing them with server-side apply.

use std::time::Instant;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, TypeMeta};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use palisade_reports::layout::LAYOUT_LABEL;
use palisade_reports::model::{MANAGED_BY, MANAGER};
use palisade_reports::{ObjectRef as Scope, Report};
use tokio::task::JoinHandle;

use crate::recent::Recent;
use crate::watchers::strip;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "palisade";

fn api_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "wgpolicyk8s.io".into(),
        version: "v1alpha2".into(),
        api_version: palisade_reports::model::API_VERSION.into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// The namespaced report kind.
pub fn policy_reports() -> ApiResource {
    api_resource("PolicyReport", "policyreports")
}

/// The cluster-scoped report kind.
pub fn cluster_policy_reports() -> ApiResource {
    api_resource("ClusterPolicyReport", "clusterpolicyreports")
}

/// One stored report's identity and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its namespace (`None`: a ClusterPolicyReport).
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// The resource it is about.
    pub scope: Option<Scope>,
    /// Its layout label (`resource` for the per-resource reports this controller writes).
    pub layout: Option<String>,
}

/// Palisade's reports in the cluster.
pub struct ReportStore {
    client: Client,
    namespaced: Store<DynamicObject>,
    cluster: Store<DynamicObject>,
    recent: Recent,
    tasks: Vec<JoinHandle<()>>,
}

impl ReportStore {
    /// Starts watching both report kinds (on the current tokio runtime).
    pub fn start(client: Client) -> ReportStore {
        let mut tasks = Vec::new();
        let mut watch = |ar: ApiResource| {
            let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
            let store = writer.as_reader();
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let types = TypeMeta {
                api_version: ar.api_version.clone(),
                kind: ar.kind.clone(),
            };
            let config = watcher::Config::default().labels(&format!("{MANAGED_BY}={MANAGER}"));
            let stream = watcher(api, config)
                .default_backoff()
                .modify(move |o: &mut DynamicObject| strip(o, &types))
                .reflect(writer);
            tasks.push(tokio::spawn(async move {
                let mut stream = std::pin::pin!(stream);
                while let Some(event) = stream.next().await {
                    if let Err(e) = event {
                        tracing::warn!(kind = %ar.kind, error = %e, "report watch failed; retrying");
                    }
                }
            }));
            store
        };
        let namespaced = watch(policy_reports());
        let cluster = watch(cluster_policy_reports());
        ReportStore {
            client,
            namespaced,
            cluster,
            recent: Recent::default(),
            tasks,
        }
    }

    /// Waits until both kinds have been listed once.
    pub async fn wait_synced(&self) {
        let _ = self.namespaced.wait_until_ready().await;
        let _ = self.cluster.wait_until_ready().await;
    }

    /// The current report `name` in `namespace` (`None`: the ClusterPolicyReport): what this
    /// process wrote or deleted last, else what the watch cache holds.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Report> {
        let cached = self.cached(namespace, name);
        self.recent.newest(namespace, name, cached, Instant::now())
    }

    /// Forgets old write records (call now and then).
    pub fn prune(&self) {
        self.recent.prune(Instant::now());
    }

    fn cached(&self, namespace: Option<&str>, name: &str) -> Option<Report> {
        let obj = match namespace {
            Some(ns) => self
                .namespaced
                .get(&ObjectRef::new_with(name, policy_reports()).within(ns)),
            None => self
                .cluster
                .get(&ObjectRef::new_with(name, cluster_policy_reports())),
        }?;
        let value = serde_json::to_value(&*obj).ok()?;
        match serde_json::from_value(value) {
            Ok(r) => Some(r),
            Err(e) => {
                // Rewritten on the next write, which is what a broken report needs.
                tracing::warn!(report = %name, error = %e, "stored report is not readable");
                None
            }
        }
    }

    /// Every stored report, with its scope.
    pub fn all(&self) -> Vec<Stored> {
        self.namespaced
            .state()
            .into_iter()
            .chain(self.cluster.state())
            .map(|o| Stored {
                namespace: o.metadata.namespace.clone(),
                name: o.name_any(),
                scope: o
                    .data
                    .get("scope")
                    .and_then(|s| serde_json::from_value(s.clone()).ok()),
                layout: o.labels().get(LAYOUT_LABEL).cloned(),
            })
            .collect()
    }

    fn api(&self, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &policy_reports()),
            None => Api::all_with(self.client.clone(), &cluster_policy_reports()),
        }
    }

    /// Creates or updates `report` (server-side apply, Palisade's field manager).
    pub async fn apply(&self, report: &Report) -> Result<(), kube::Error> {
        let body = serde_json::to_value(report).map_err(kube::Error::SerdeError)?;
        self.api(report.metadata.namespace.as_deref())
            .patch(
                &report.metadata.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await?;
        self.recent.wrote(report, Instant::now());
        Ok(())
    }

    /// Deletes a report; one that is already gone is fine.
    pub async fn delete(&self, namespace: Option<&str>, name: &str) -> Result<(), kube::Error> {
        match self
            .api(namespace)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e),
        }
        self.recent.deleted(namespace, name, Instant::now());
        Ok(())
    }
}

impl Drop for ReportStore {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
