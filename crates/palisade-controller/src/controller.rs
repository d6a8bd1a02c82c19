//! The background controller: keeps the watched kinds in line with the policy set, queues
//! rescans, and scans queued resources on a bounded pool of blocking threads.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Client;
use palisade_admission::{PolicyCache, ReviewEnv};
use palisade_kube::admissionreport::{AdmissionReportSpec, spec_of};
use palisade_kube::discovery::resource_index;
use palisade_kube::params::{ParamCache, ParamKind};
use palisade_reports::admission::{keep_admission_rows, merge};
use palisade_reports::change::Digest;
use palisade_reports::{ObjectRef, Report, ResourceResults, per_resource};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::admission::{self, AdmissionInbox, Target, WAIT_FOR_OBJECT};
use crate::decision::{Action, decide};
use crate::health::Health;
use crate::kinds::{self, WatchKind};
use crate::limiter::RescanLimiter;
use crate::metrics::WriteOp;
use crate::queue::WorkQueue;
use crate::scan::{ScanOutcome, scan};
use crate::store::{ReportStore, Stored};
use crate::watchers::{Key, Watchers};

/// Resources scanned by one blocking job: enough to amortise the hand-off, few enough that a
/// policy change is seen soon.
const BATCH: usize = 32;
/// When discovery is tried again after it failed.
const REDISCOVER_FAILED: Duration = Duration::from_secs(10);
/// When discovery is tried again while a matched kind is not served.
const REDISCOVER_UNSERVED: Duration = Duration::from_secs(60);
/// How long a resource whose report could not be written waits before it is scanned again.
const RETRY: Duration = Duration::from_secs(5);
/// How long readiness waits for the first lists of the watched kinds.
const SYNC_LIMIT: Duration = Duration::from_secs(30);
/// How often the main loop looks at the policy cache and the timers.
const TICK: Duration = Duration::from_millis(100);

/// Settings of [`Controller::run`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// Period of full rescans.
    pub rescan_interval: Duration,
    /// Shortest time between full rescans caused by policy changes.
    pub policy_rescan_gap: Duration,
    /// Scans running at once.
    pub workers: usize,
    /// Namespaces never scanned.
    pub excluded_namespaces: Vec<String>,
    /// Report writes in flight.
    pub report_writes: usize,
}

/// What tells the controller that something outside the policies changed what they decide.
pub struct Feeds {
    /// Namespaces whose labels changed.
    pub label_changes: mpsc::UnboundedReceiver<String>,
    /// The cached admission policy parameters (the controller keeps their watches in line
    /// with the bindings).
    pub params: Arc<ParamCache>,
    /// Parameter kinds with a changed object.
    pub param_changes: mpsc::UnboundedReceiver<ParamKind>,
}

/// The controller's shared state.
pub struct Controller {
    client: Client,
    cache: Arc<PolicyCache>,
    env: Arc<ReviewEnv>,
    queue: Arc<WorkQueue<Key>>,
    watchers: Watchers,
    reports: ReportStore,
    health: Arc<Health>,
    leader: watch::Receiver<bool>,
    label_changes: Mutex<mpsc::UnboundedReceiver<String>>,
    params: Arc<ParamCache>,
    param_changes: Mutex<mpsc::UnboundedReceiver<ParamKind>>,
    /// Write slots: a scanned report waits for one.
    writes: Arc<Semaphore>,
    settings: Settings,
}

impl Controller {
    /// A controller over `cache` (filled by the policy watch) that evaluates with `env` and
    /// writes reports while `leader` is true; the resources of namespaces whose labels change
    /// and of policies whose parameters change are rescanned (`feeds`). Starts the report
    /// watches.
    pub fn new(
        client: Client,
        cache: Arc<PolicyCache>,
        env: Arc<ReviewEnv>,
        health: Arc<Health>,
        leader: watch::Receiver<bool>,
        feeds: Feeds,
        settings: Settings,
    ) -> Arc<Controller> {
        let queue = Arc::new(WorkQueue::new());
        Arc::new(Controller {
            watchers: Watchers::new(client.clone(), queue.clone(), &settings.excluded_namespaces),
            reports: ReportStore::start(client.clone()),
            client,
            cache,
            env,
            queue,
            health,
            leader,
            label_changes: Mutex::new(feeds.label_changes),
            params: feeds.params,
            param_changes: Mutex::new(feeds.param_changes),
            writes: Arc::new(Semaphore::new(settings.report_writes.max(1))),
            settings,
        })
    }

    /// Runs until the process ends: waits for the policies and reports, starts the workers
    /// and then follows policy changes, the rescan timer and leadership.
    pub async fn run(self: Arc<Self>) {
        while !self.cache.is_loaded() {
            tokio::time::sleep(TICK).await;
        }
        self.reports.wait_synced().await;
        for _ in 0..self.settings.workers.max(1) {
            tokio::spawn(self.clone().worker());
        }
        let mut limiter = RescanLimiter::new(self.settings.policy_rescan_gap);
        let mut seen_generation = None;
        let mut skipped = BTreeSet::new();
        let mut discovered = false;
        let mut rediscover_at: Option<Instant> = None;
        let mut next_periodic = Instant::now() + self.settings.rescan_interval;
        let mut leader = *self.leader.borrow();
        let mut first_set = true;
        let mut stale_checked = false;
        loop {
            let generation = self.cache.generation();
            let policies_changed = seen_generation != Some(generation);
            if policies_changed || rediscover_at.is_some_and(|t| Instant::now() >= t) {
                seen_generation = Some(generation);
                let found = self.follow_policies(&mut skipped).await;
                discovered = found.is_some();
                // Discovery failed, or a kind is not served yet (its CRD may come): try again
                // later. Kinds found then are listed, which scans their objects.
                rediscover_at = match found {
                    None => Some(Instant::now() + REDISCOVER_FAILED),
                    Some(0) => None,
                    Some(_) => Some(Instant::now() + REDISCOVER_UNSERVED),
                };
                // The first set starts the watches, and their lists queue every object: a
                // full rescan now would scan most of them a second time (10,000 Pods: several
                // CPU seconds). Only stale reports need looking for.
                if policies_changed && !first_set {
                    limiter.request();
                }
                first_set = false;
                if !self.health.is_ready() {
                    // A kind that cannot be listed (RBAC) must not block the controller.
                    if tokio::time::timeout(SYNC_LIMIT, self.watchers.wait_synced())
                        .await
                        .is_err()
                    {
                        tracing::warn!("some watches have not listed their objects yet");
                    }
                    self.health.set_ready(true);
                    tracing::info!("background controller ready");
                }
            }
            let now_leader = *self.leader.borrow();
            self.health.metrics.set_leader(now_leader);
            if now_leader && !leader {
                // A new leader does not know what its predecessor wrote last.
                limiter.request();
            }
            leader = now_leader;
            let now = Instant::now();
            if now >= next_periodic {
                next_periodic = now + self.settings.rescan_interval;
                limiter.request();
            }
            if leader && limiter.try_start(now) {
                self.full_rescan(discovered).await;
                stale_checked |= discovered;
            } else if leader && discovered && !stale_checked {
                self.delete_stale().await;
                stale_checked = true;
            }
            self.rescan_relabelled_namespaces();
            self.rescan_for_params();
            self.health.metrics.set_queue_depth(self.queue.len());
            self.reports.prune();
            tokio::time::sleep(TICK).await;
        }
    }

    /// Watches what the current set's background policies match. Returns how many wanted kinds
    /// the cluster does not serve, `None` when its resources could not be discovered (nothing
    /// is stopped then).
    async fn follow_policies(&self, skipped: &mut BTreeSet<String>) -> Option<usize> {
        let set = self.cache.snapshot();
        self.params.reconcile(&set);
        let wanted = kinds::wanted(&set);
        let index = match resource_index(&self.client).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "API discovery failed; watches unchanged");
                return None;
            }
        };
        let resolved = kinds::resolve(&wanted, &index);
        for s in &resolved.skipped {
            if !skipped.contains(s) {
                tracing::warn!(selector = %s, "not scanned in the background");
            }
        }
        *skipped = resolved.skipped.into_iter().collect();
        self.watchers.reconcile(&resolved.kinds);
        self.health.metrics.set_watched_kinds(resolved.kinds.len());
        Some(resolved.unserved)
    }

    /// Queues every watched resource, and deletes the reports of kinds no policy matches
    /// (`discovered`: the watched kinds are known).
    async fn full_rescan(&self, discovered: bool) {
        self.health.metrics.full_rescan();
        let keys = self.watchers.all_keys();
        tracing::info!(resources = keys.len(), "full rescan");
        for k in keys {
            self.queue.push(k);
        }
        if discovered {
            self.delete_stale().await;
        }
    }

    /// Deletes the reports of kinds no background policy matches.
    async fn delete_stale(&self) {
        let watched = self.watchers.kinds();
        for stale in self
            .reports
            .all()
            .into_iter()
            .filter(|r| is_stale(r, &watched))
        {
            tracing::info!(report = %stale.name, namespace = ?stale.namespace, "deleting the report of a resource no background policy matches");
            // A failure is retried by the next full rescan.
            let _ = self.delete(stale.namespace.as_deref(), &stale.name).await;
        }
    }

    /// Queues the resources of namespaces whose labels changed.
    fn rescan_relabelled_namespaces(&self) {
        let mut changed = BTreeSet::new();
        {
            let mut rx = self.label_changes.lock().unwrap_or_else(|e| e.into_inner());
            while let Ok(ns) = rx.try_recv() {
                changed.insert(ns);
            }
        }
        if changed.is_empty() {
            return;
        }
        for key in self.watchers.all_keys() {
            if key.namespace.as_ref().is_some_and(|n| changed.contains(n)) {
                self.queue.push(key);
            }
        }
    }

    /// Queues the resources of the admission policies whose parameters changed.
    fn rescan_for_params(&self) {
        let mut changed = BTreeSet::new();
        {
            let mut rx = self.param_changes.lock().unwrap_or_else(|e| e.into_inner());
            while let Ok(kind) = rx.try_recv() {
                changed.insert(kind);
            }
        }
        if changed.is_empty() {
            return;
        }
        let set = self.cache.snapshot();
        let rules = kinds::param_bound_resources(&set, &changed);
        let affected: BTreeSet<WatchKind> = self
            .watchers
            .kinds()
            .into_iter()
            .filter(|k| rules.iter().any(|r| kinds::resource_matches(r, k)))
            .collect();
        let keys: Vec<_> = self
            .watchers
            .all_keys()
            .into_iter()
            .filter(|k| affected.contains(&k.kind))
            .collect();
        tracing::info!(kinds = ?changed.iter().map(ToString::to_string).collect::<Vec<_>>(), resources = keys.len(), "admission policy parameters changed: rescanning");
        for k in keys {
            self.queue.push(k);
        }
    }

    async fn worker(self: Arc<Self>) {
        let mut leader = self.leader.clone();
        loop {
            // Followers keep their caches warm but neither scan nor write.
            if leader.wait_for(|l| *l).await.is_err() {
                return;
            }
            let batch = self.queue.pop(BATCH).await;
            self.clone().process(batch).await;
        }
    }

    /// Scans a batch and hands its reports to writer tasks; returns once every report has a
    /// write slot, so scans run ahead of the writes by at most the slots. Each key is done
    /// when its report is settled.
    async fn process(self: Arc<Self>, batch: Vec<Key>) {
        let (mut keys, mut objects) = (Vec::with_capacity(batch.len()), Vec::new());
        for k in batch {
            match self.watchers.get(&k) {
                Some(o) => {
                    keys.push(k);
                    objects.push(o);
                }
                // Deleted meanwhile: its report goes with it.
                None => self.queue.done(std::slice::from_ref(&k)),
            }
        }
        if objects.is_empty() {
            return;
        }
        let set = self.cache.snapshot();
        let env = self.env.clone();
        let scanned = match tokio::task::spawn_blocking(move || scan(&set, &env, objects)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "a scan panicked");
                self.queue.done(&keys);
                return;
            }
        };
        // Writes are round trips to the API server, and a first scan is bound by them: many
        // at once, across batches (keys are distinct while queued, so order does not matter).
        for (key, s) in keys.into_iter().zip(scanned) {
            let Ok(slot) = self.writes.clone().acquire_owned().await else {
                return;
            };
            let me = self.clone();
            tokio::spawn(async move {
                me.health.metrics.scanned(s.seconds);
                if !me.settle(s).await {
                    me.retry_later(key.clone());
                }
                me.queue.done(std::slice::from_ref(&key));
                drop(slot);
            });
        }
    }

    /// Queues `key` again after [`RETRY`]: its report could not be written.
    fn retry_later(&self, key: Key) {
        let queue = self.queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(RETRY).await;
            queue.push(key);
        });
    }

    /// Brings the stored report of one scanned resource in line with the scan; false when the
    /// API server refused the write (worth retrying). Rows admission recorded stay.
    async fn settle(&self, s: ScanOutcome) -> bool {
        let namespace = (!s.resource.namespace.is_empty()).then_some(s.resource.namespace.as_str());
        let _turn = self.reports.lock(namespace, &s.resource.uid).await;
        let stored = self.reports.get(namespace, &s.resource.uid);
        let mut next = s.report;
        if let Some(d) = stored.as_ref().filter(|d| !d.admission.is_empty()) {
            let set = self.cache.snapshot();
            let report = next.get_or_insert_with(|| {
                per_resource(&ResourceResults {
                    resource: s.resource.clone(),
                    results: Vec::new(),
                })
            });
            keep_admission_rows(&set, &d.admission, report);
        }
        self.write_decision(
            namespace,
            &s.resource.uid,
            &s.resource.name,
            stored.as_deref(),
            next,
        )
        .await
    }

    /// Writes, deletes or leaves the report as [`decide`] says; false when the API server
    /// refused (worth retrying).
    async fn write_decision(
        &self,
        namespace: Option<&str>,
        name: &str,
        resource: &str,
        stored: Option<&Digest>,
        next: Option<Report>,
    ) -> bool {
        match decide(stored, next) {
            Ok(Action::Nothing) => {
                self.health.metrics.unchanged();
                true
            }
            Ok(Action::Write(report)) => {
                let written = match stored {
                    None => self.reports.create(&report).await,
                    Some(_) => self.reports.apply(&report).await,
                };
                let ok = match written {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(report = %report.metadata.name, %resource, error = %e, "cannot write report");
                        false
                    }
                };
                self.health.metrics.write(WriteOp::Apply, ok);
                ok
            }
            Ok(Action::Delete) => self.delete(namespace, name).await,
            Err(e) => {
                // Retrying gives the same report: wait for the resource or policies to change.
                tracing::error!(%resource, error = %e, "report too large");
                true
            }
        }
    }

    /// Merges the AdmissionReports the webhook writes into their resources' reports, while
    /// this replica leads. Runs until the process ends.
    pub async fn merge_admission_reports(self: Arc<Self>, inbox: Arc<AdmissionInbox>) {
        let mut leader = self.leader.clone();
        loop {
            if leader.wait_for(|l| *l).await.is_err() {
                return;
            }
            let batch = inbox.next().await;
            for name in &batch {
                self.merge_admission_report(&inbox, name).await;
            }
            inbox.done(&batch);
        }
    }

    async fn merge_admission_report(&self, inbox: &AdmissionInbox, name: &str) {
        // Deleted meanwhile: merged by another leader, or removed by hand.
        let Some((obj, waited)) = inbox.get(name) else {
            return;
        };
        let spec = match spec_of(&obj) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(report = %name, error = %e, "unreadable admission report; deleting it");
                inbox.delete(name).await;
                return;
            }
        };
        match admission::find(&self.client, &spec).await {
            Ok(Target::Live) => {
                if self.merge_rows(&spec).await {
                    inbox.delete(name).await;
                } else {
                    inbox.retry_later(name.to_string(), RETRY);
                }
            }
            Ok(Target::Missing) if waited < WAIT_FOR_OBJECT => {
                inbox.retry_later(name.to_string(), Duration::from_secs(1));
            }
            Ok(Target::Missing | Target::Replaced) => {
                tracing::debug!(report = %name, resource = %spec.resource.name, "the admitted object is gone; dropping its admission report");
                inbox.delete(name).await;
            }
            Err(e) => {
                tracing::warn!(report = %name, error = %e, "cannot look up the admitted object");
                inbox.retry_later(name.to_string(), RETRY);
            }
        }
    }

    /// Puts admission rows into their resource's report; false when worth retrying.
    async fn merge_rows(&self, spec: &AdmissionReportSpec) -> bool {
        let r = &spec.resource;
        let namespace = (!r.namespace.is_empty()).then_some(r.namespace.as_str());
        let _turn = self.reports.lock(namespace, &r.uid).await;
        let stored = self.reports.get(namespace, &r.uid);
        // The rows of a write replace the stored list, so merging needs the stored rows
        // themselves, which the cache keeps only as a digest: read the report.
        let current = match stored {
            Some(_) => match self.reports.read(namespace, &r.uid).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(report = %r.uid, error = %e, "cannot read report");
                    return false;
                }
            },
            None => None,
        };
        let mut next = current.unwrap_or_else(|| {
            per_resource(&ResourceResults {
                resource: r.clone(),
                results: Vec::new(),
            })
        });
        merge(&mut next, spec.results.clone());
        self.write_decision(namespace, &r.uid, &r.name, stored.as_deref(), Some(next))
            .await
    }

    async fn delete(&self, namespace: Option<&str>, name: &str) -> bool {
        let ok = match self.reports.delete(namespace, name).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(report = %name, error = %e, "cannot delete report");
                false
            }
        };
        self.health.metrics.write(WriteOp::Delete, ok);
        ok
    }
}

/// A per-resource report of a kind no background policy matches any more. Reports of other
/// layouts, and those with rows from admission, are left alone.
fn is_stale(report: &Stored, watched: &BTreeSet<WatchKind>) -> bool {
    report.layout.as_deref() == Some("resource")
        && !report.admission
        && !report
            .scope
            .as_ref()
            .is_some_and(|s| is_watched(watched, s))
}

fn is_watched(watched: &BTreeSet<WatchKind>, scope: &ObjectRef) -> bool {
    watched
        .iter()
        .any(|k| k.kind == scope.kind && k.api_version() == scope.api_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_per_resource_reports_of_unwatched_kinds_are_stale() {
        let watched: BTreeSet<WatchKind> = [WatchKind {
            group: String::new(),
            version: "v1".into(),
            kind: "Pod".into(),
            plural: "pods".into(),
        }]
        .into();
        let stored = |layout: Option<&str>, kind: Option<&str>| Stored {
            namespace: Some("team".into()),
            name: "n".into(),
            scope: kind.map(|k| ObjectRef {
                api_version: "v1".into(),
                kind: k.into(),
                ..ObjectRef::default()
            }),
            layout: layout.map(str::to_string),
            admission: false,
        };
        let cases = [
            (stored(Some("resource"), Some("Pod")), false),
            (stored(Some("resource"), Some("ConfigMap")), true),
            (stored(Some("resource"), None), true),
            (stored(Some("namespace"), None), false),
            (stored(None, Some("ConfigMap")), false),
        ];
        for (report, want) in cases {
            assert_eq!(is_stale(&report, &watched), want, "{report:?}");
        }
    }

    #[test]
    fn reports_of_unwatched_kinds_are_recognised() {
        let watched: BTreeSet<WatchKind> = [WatchKind {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
        }]
        .into();
        let scope = |api: &str, kind: &str| ObjectRef {
            api_version: api.into(),
            kind: kind.into(),
            ..ObjectRef::default()
        };
        assert!(is_watched(&watched, &scope("apps/v1", "Deployment")));
        assert!(!is_watched(&watched, &scope("v1", "Pod")));
        assert!(!is_watched(&watched, &scope("apps/v1beta1", "Deployment")));
    }
}
