//! The PolicyReports and ClusterPolicyReports Palisade wrote, from watches (label
//! `app.kubernetes.io/managed-by=palisade`) kept as [`Digest`]s, and writing them: a create
//! for a new report, server-side apply for a changed one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, TypeMeta,
};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use palisade_reports::change::Digest;
use palisade_reports::layout::LAYOUT_LABEL;
use palisade_reports::model::{MANAGED_BY, MANAGER, OwnerReference, ReportMeta};
use palisade_reports::{ObjectRef as Scope, Report, ReportResult, Summary};
use serde::Deserialize;
use tokio::sync::OwnedMutexGuard;

use crate::cache::{Compact, ObjKey};
use crate::recent::Recent;
use crate::watchers::strip;

/// Reports per list page (kube's default is 500).
const REPORT_PAGE: u32 = 50;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "palisade";

fn api_resource(kind: &str, plural: &str) -> ApiResource {
    palisade_kube::discovery::api_resource(palisade_reports::model::API_VERSION, kind, plural)
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
    /// True when it holds rows from admission.
    pub admission: bool,
}

/// What the cache keeps of a stored report.
struct Entry {
    digest: Arc<Digest>,
    layout: Option<String>,
}

/// Palisade's reports in the cluster.
pub struct ReportStore {
    client: Client,
    namespaced: Compact<Entry>,
    cluster: Compact<Entry>,
    recent: Arc<Recent>,
    /// One lock per report being settled, so two writers of a report (a scan, an admission
    /// merge) take turns and each sees what the other wrote.
    locks: Mutex<HashMap<ObjKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl ReportStore {
    /// Starts watching both report kinds (on the current tokio runtime).
    pub fn start(client: Client) -> ReportStore {
        let recent = Arc::new(Recent::default());
        let watch = |ar: ApiResource| {
            let recent = recent.clone();
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let types = TypeMeta {
                api_version: ar.api_version.clone(),
                kind: ar.kind.clone(),
            };
            // A list page is held parsed until its last object is cached: 500 reports of
            // 8 KiB are some 40 MiB as `Value`s, 50 are a tenth of that.
            let config = watcher::Config::default()
                .labels(&format!("{MANAGED_BY}={MANAGER}"))
                .page_size(REPORT_PAGE);
            let events = watcher(api, config).default_backoff();
            Compact::start(
                ar.kind.clone(),
                events,
                move |mut o: DynamicObject| {
                    strip(&mut o, &types);
                    entry(o)
                },
                // Once the watch shows a write, the record of it is no longer needed (a first
                // scan writes thousands of reports a minute).
                move |(namespace, name): &ObjKey, e: &Entry| {
                    recent.seen(namespace.as_deref(), name, &e.digest);
                },
            )
        };
        ReportStore {
            namespaced: watch(policy_reports()),
            cluster: watch(cluster_policy_reports()),
            client,
            recent,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until both kinds have been listed once.
    pub async fn wait_synced(&self) {
        self.namespaced.wait_ready().await;
        self.cluster.wait_ready().await;
    }

    /// The current report `name` in `namespace` (`None`: the ClusterPolicyReport): what this
    /// process wrote or deleted last, else what the watch cache holds.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<Digest>> {
        let cached = self
            .cache(namespace)
            .get(namespace, name)
            .map(|e| e.digest.clone());
        self.recent.newest(namespace, name, cached, Instant::now())
    }

    /// Reads the report `name` from the API server (`None`: there is none).
    pub async fn read(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Report>, kube::Error> {
        let Some(obj) = self.api(namespace).get_opt(name).await? else {
            return Ok(None);
        };
        let value = serde_json::to_value(&obj).map_err(kube::Error::SerdeError)?;
        // An unreadable report is replaced by the next write, which is what it needs.
        Ok(serde_json::from_value(value).ok())
    }

    /// Waits for the lock of report `name`: hold it from reading the report until its write
    /// is done.
    pub async fn lock(&self, namespace: Option<&str>, name: &str) -> OwnedMutexGuard<()> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((namespace.map(str::to_string), name.to_string()))
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// Forgets old write records and unused locks (call now and then).
    pub fn prune(&self) {
        self.recent.prune(Instant::now());
        self.locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, l| Arc::strong_count(l) > 1);
    }

    fn cache(&self, namespace: Option<&str>) -> &Compact<Entry> {
        match namespace {
            Some(_) => &self.namespaced,
            None => &self.cluster,
        }
    }

    /// Every stored report, with its scope.
    pub fn all(&self) -> Vec<Stored> {
        self.namespaced
            .entries()
            .into_iter()
            .chain(self.cluster.entries())
            .map(|((namespace, name), e)| Stored {
                namespace,
                name,
                scope: e.digest.scope.clone(),
                layout: e.layout.clone(),
                admission: !e.digest.admission.is_empty(),
            })
            .collect()
    }

    fn api(&self, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &policy_reports()),
            None => Api::all_with(self.client.clone(), &cluster_policy_reports()),
        }
    }

    /// Creates `report`, which is not stored yet: a plain create costs the API server far
    /// less than a server-side apply (no merge with a stored object, no field ownership to
    /// compute; docs/performance.md, "Background scan of 10,000 Pods"). A report that exists
    /// after all (written by another replica, or the watch has not shown it yet) is applied.
    pub async fn create(&self, report: &Report) -> Result<(), kube::Error> {
        let params = PostParams {
            dry_run: false,
            field_manager: Some(FIELD_MANAGER.into()),
        };
        match self
            .api(report.metadata.namespace.as_deref())
            .create(&params, &as_object(report)?)
            .await
        {
            Ok(_) => {
                self.wrote(report);
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 409 => self.apply(report).await,
            Err(e) => Err(e),
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
        self.wrote(report);
        Ok(())
    }

    fn wrote(&self, report: &Report) {
        self.recent.wrote(
            report.metadata.namespace.as_deref(),
            &report.metadata.name,
            Arc::new(Digest::of(report)),
            Instant::now(),
        );
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

fn as_object(report: &Report) -> Result<DynamicObject, kube::Error> {
    serde_json::to_value(report)
        .and_then(serde_json::from_value)
        .map_err(kube::Error::SerdeError)
}

/// What a stored report holds besides its metadata.
#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    results: Vec<ReportResult>,
    summary: Summary,
}

/// The cached form of a stored report (`None`: not a report this version can read; the next
/// write replaces it).
fn entry(o: DynamicObject) -> Option<Entry> {
    let name = o.name_any();
    // The body is read from the object's own data, not from a copy of the whole object:
    // every stored report is listed at start.
    let body: Body = match serde_json::from_value(o.data) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(report = %name, error = %e, "stored report is not readable");
            return None;
        }
    };
    let types = o.types.unwrap_or_default();
    let meta = o.metadata;
    let labels = meta.labels.unwrap_or_default();
    let layout = labels.get(LAYOUT_LABEL).cloned();
    let report = Report {
        api_version: types.api_version,
        kind: types.kind,
        metadata: ReportMeta {
            name,
            namespace: meta.namespace,
            labels,
            annotations: meta.annotations.unwrap_or_default(),
            owner_references: meta
                .owner_references
                .unwrap_or_default()
                .into_iter()
                .map(|r| OwnerReference {
                    api_version: r.api_version,
                    kind: r.kind,
                    name: r.name,
                    uid: r.uid,
                })
                .collect(),
        },
        scope: body.scope,
        results: body.results,
        summary: body.summary,
    };
    Some(Entry {
        digest: Arc::new(Digest::of(&report)),
        layout,
    })
}
