//! Watching ClusterPolicies, Policies and PolicyExceptions, Kyverno's CEL policy kinds
//! (ValidatingPolicy, MutatingPolicy, their namespaced forms and the CEL PolicyException) where
//! their CRDs are installed, and, for background scans ([`Options::admission_policies`]),
//! ValidatingAdmissionPolicies and their bindings: each object compiled once (again only when
//! its spec or annotations change, not its status), the set rebuilt and swapped into the
//! cache shortly after a change.
//!
//! The optional kinds' versions are found by discovery (the CRD's preferred version, so a
//! cluster with only v1beta1 or v1alpha1 served works too). A kind that is not served is
//! logged once and looked for again every [`CRD_RECHECK`]; the classic kinds work meanwhile,
//! and the kind is watched as soon as it is served.
//!
//! **Policy status has one writer: the webhook** ([`Options::write_status`]). The status says
//! whether a policy compiled and is served, and the webhook is what serves it, so the webhook
//! writes it; the controller compiles the same objects with the same code and writes nothing.
//! A new set is installed only after the status writes it caused were made (or
//! [`STATUS_FLUSH_LIMIT`] passed), so a webhook never serves, and never turns ready with, a
//! set whose statuses say otherwise. Every webhook replica writes, but only what differs from
//! the status it watched, and replicas compute the same status, so they agree.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, stream};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use palisade_admission::{Entry, PolicyCache, PolicySet, compile_document};
use palisade_api::LoadError;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::Error;
use crate::status::{self, CelOutcome, Outcome};

/// How long the set waits for more changes before it is rebuilt: a burst of changes (an
/// `apply -f dir/`) costs one rebuild, and a single change takes effect after this delay.
pub const DEBOUNCE: Duration = Duration::from_millis(150);
/// The longest a change waits during a continuing burst.
pub const MAX_DELAY: Duration = Duration::from_millis(500);
/// How often discovery looks again for CEL policy CRDs that were not installed.
pub const CRD_RECHECK: Duration = Duration::from_secs(10);
/// The group of Kyverno's CEL policy kinds.
pub const CEL_GROUP: &str = "policies.kyverno.io";
/// The group of the Kubernetes admission policies.
pub const ADMISSION_GROUP: &str = "admissionregistration.k8s.io";
/// The longest a new set waits for the status writes it caused.
pub const STATUS_FLUSH_LIMIT: Duration = Duration::from_secs(5);
/// Failed list attempts of an optional kind before the first set is installed without it
/// (a watch that is forbidden must not keep the classic policies from being served).
const CEL_LIST_ATTEMPTS: u32 = 3;

/// What a watch is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Write each policy's status (the webhook; see the module documentation).
    pub write_status: bool,
    /// Watch ValidatingAdmissionPolicies and their bindings (background scans: the API server
    /// enforces them at admission).
    pub admission_policies: bool,
}

impl Options {
    /// The webhook's watch: it writes the status, and leaves admission policies to the API
    /// server.
    pub const WEBHOOK: Options = Options {
        write_status: true,
        admission_policies: false,
    };
    /// The background controller's watch: admission policies too, no status.
    pub const CONTROLLER: Options = Options {
        write_status: false,
        admission_policies: true,
    };
}

/// The watched kinds, in the order their entries go into the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watched {
    /// kyverno.io/v1 ClusterPolicy.
    ClusterPolicy,
    /// kyverno.io/v1 Policy.
    Policy,
    /// kyverno.io/v2 PolicyException.
    PolicyException,
    /// policies.kyverno.io ValidatingPolicy.
    ValidatingPolicy,
    /// policies.kyverno.io NamespacedValidatingPolicy.
    NamespacedValidatingPolicy,
    /// policies.kyverno.io MutatingPolicy.
    MutatingPolicy,
    /// policies.kyverno.io NamespacedMutatingPolicy.
    NamespacedMutatingPolicy,
    /// policies.kyverno.io PolicyException (CEL match conditions).
    CelPolicyException,
    /// admissionregistration.k8s.io ValidatingAdmissionPolicy.
    ValidatingAdmissionPolicy,
    /// admissionregistration.k8s.io ValidatingAdmissionPolicyBinding.
    ValidatingAdmissionPolicyBinding,
}

impl Watched {
    /// The kinds every cluster must serve (the `kyverno.io` CRDs).
    const CLASSIC: [Watched; 3] = [
        Watched::ClusterPolicy,
        Watched::Policy,
        Watched::PolicyException,
    ];
    /// The CEL kinds, watched where their CRDs are installed.
    pub const CEL: [Watched; 5] = [
        Watched::ValidatingPolicy,
        Watched::NamespacedValidatingPolicy,
        Watched::MutatingPolicy,
        Watched::NamespacedMutatingPolicy,
        Watched::CelPolicyException,
    ];
    /// The Kubernetes admission policy kinds, watched for background scans where served.
    pub const ADMISSION: [Watched; 2] = [
        Watched::ValidatingAdmissionPolicy,
        Watched::ValidatingAdmissionPolicyBinding,
    ];
    const COUNT: usize = 10;

    /// The kind's name.
    pub fn kind(self) -> &'static str {
        match self {
            Watched::ClusterPolicy => "ClusterPolicy",
            Watched::Policy => "Policy",
            Watched::PolicyException => "PolicyException",
            Watched::ValidatingPolicy => "ValidatingPolicy",
            Watched::NamespacedValidatingPolicy => "NamespacedValidatingPolicy",
            Watched::MutatingPolicy => "MutatingPolicy",
            Watched::NamespacedMutatingPolicy => "NamespacedMutatingPolicy",
            Watched::CelPolicyException => "PolicyException",
            Watched::ValidatingAdmissionPolicy => "ValidatingAdmissionPolicy",
            Watched::ValidatingAdmissionPolicyBinding => "ValidatingAdmissionPolicyBinding",
        }
    }

    /// The kind's API group.
    pub fn group(self) -> &'static str {
        if self >= Watched::ValidatingAdmissionPolicy {
            ADMISSION_GROUP
        } else if self >= Watched::ValidatingPolicy {
            CEL_GROUP
        } else {
            "kyverno.io"
        }
    }

    /// True for the kinds found by discovery, which the first set need not wait for.
    pub fn is_optional(self) -> bool {
        self >= Watched::ValidatingPolicy
    }

    /// How logs and load errors name an object of the kind (the two exception kinds apart).
    fn label(self) -> &'static str {
        match self {
            Watched::CelPolicyException => "PolicyException.policies.kyverno.io",
            other => other.kind(),
        }
    }

    /// The API resource at the version Palisade's CRDs store (for the CEL kinds, the version
    /// actually watched comes from discovery).
    pub fn api_resource(self) -> ApiResource {
        let (group, version, plural) = match self {
            Watched::ClusterPolicy => ("kyverno.io", "v1", "clusterpolicies"),
            Watched::Policy => ("kyverno.io", "v1", "policies"),
            Watched::PolicyException => ("kyverno.io", "v2", "policyexceptions"),
            Watched::ValidatingPolicy => (CEL_GROUP, "v1", "validatingpolicies"),
            Watched::NamespacedValidatingPolicy => {
                (CEL_GROUP, "v1", "namespacedvalidatingpolicies")
            }
            Watched::MutatingPolicy => (CEL_GROUP, "v1", "mutatingpolicies"),
            Watched::NamespacedMutatingPolicy => (CEL_GROUP, "v1", "namespacedmutatingpolicies"),
            Watched::CelPolicyException => (CEL_GROUP, "v1", "policyexceptions"),
            Watched::ValidatingAdmissionPolicy => {
                (ADMISSION_GROUP, "v1", "validatingadmissionpolicies")
            }
            Watched::ValidatingAdmissionPolicyBinding => {
                (ADMISSION_GROUP, "v1", "validatingadmissionpolicybindings")
            }
        };
        crate::discovery::api_resource(&format!("{group}/{version}"), self.kind(), plural)
    }

    /// Kinds whose status Palisade writes (the API server writes admission policies' own).
    fn has_status(self) -> bool {
        self < Watched::CelPolicyException && self != Watched::PolicyException
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    kind: Watched,
    namespace: Option<String>,
    name: String,
}

impl Key {
    fn source(&self) -> String {
        let kind = self.kind.label();
        match &self.namespace {
            Some(ns) => format!("{kind}/{ns}/{}", self.name),
            None => format!("{kind}/{}", self.name),
        }
    }
}

struct Loaded {
    /// The part of the object the compiled entry depends on.
    input: Value,
    entry: Result<Entry, LoadError>,
}

/// A status to write.
struct StatusWrite {
    key: Key,
    /// Where the object is served (its status is written at the version it was read at).
    resource: ApiResource,
    current: Option<Value>,
    outcome: Written,
}

/// A status in the shape of the object's kind.
#[derive(Debug)]
enum Written {
    /// `kyverno.io` policies: `ready`, `conditions`, `rulecount`, `autogen`.
    Classic(Outcome),
    /// `policies.kyverno.io` policies: `conditionStatus`.
    Cel(CelOutcome),
}

/// What the watch loop is told besides watch events.
#[derive(Debug)]
enum Found {
    /// The optional kind is served at this resource: watch it.
    Served(Watched, ApiResource),
    /// The optional kind is not served (yet), or not wanted.
    Absent(Watched),
}

/// The object without what does not change what it compiles to (status, resourceVersion,
/// managedFields, ...), so status writes do not cause a recompile.
fn compile_input(ar: &ApiResource, obj: &DynamicObject) -> Value {
    let meta = &obj.metadata;
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), json!(obj.name_any()));
    if let Some(ns) = &meta.namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    if let Some(labels) = meta.labels.as_ref().filter(|l| !l.is_empty()) {
        metadata.insert("labels".into(), json!(labels));
    }
    if let Some(ann) = meta.annotations.as_ref().filter(|a| !a.is_empty()) {
        // kubectl's copy of the whole object changes nothing the policy means.
        let kept: BTreeMap<&String, &String> = ann
            .iter()
            .filter(|(k, _)| *k != "kubectl.kubernetes.io/last-applied-configuration")
            .collect();
        if !kept.is_empty() {
            metadata.insert("annotations".into(), json!(kept));
        }
    }
    let (api_version, kind) = match &obj.types {
        Some(t) => (t.api_version.clone(), t.kind.clone()),
        None => (ar.api_version.clone(), ar.kind.clone()),
    };
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": metadata,
        "spec": obj.data.get("spec").cloned().unwrap_or(Value::Null),
    })
}

struct State {
    entries: BTreeMap<Key, Loaded>,
    /// Objects listed since the last `Init`, per kind, until its `InitDone`.
    relisting: BTreeMap<Watched, Vec<DynamicObject>>,
    /// Per kind: listed once, or (CEL kinds) known not to be served, so the first set need
    /// not wait for it.
    initialised: [bool; Watched::COUNT],
    /// Per kind: failed list attempts before its first complete list.
    failures: [u32; Watched::COUNT],
    /// The resource each CEL kind is watched at.
    resources: BTreeMap<Watched, ApiResource>,
    dirty: bool,
    status_tx: mpsc::UnboundedSender<StatusWrite>,
}

impl State {
    fn new(status_tx: mpsc::UnboundedSender<StatusWrite>) -> State {
        State {
            entries: BTreeMap::new(),
            relisting: BTreeMap::new(),
            initialised: [false; Watched::COUNT],
            failures: [0; Watched::COUNT],
            resources: BTreeMap::new(),
            dirty: false,
            status_tx,
        }
    }

    fn resource(&self, kind: Watched) -> ApiResource {
        self.resources
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| kind.api_resource())
    }

    /// True once every kind is listed or known not to be served.
    fn all_initialised(&self) -> bool {
        self.initialised.iter().all(|i| *i)
    }

    fn on_found(&mut self, found: &Found) {
        match found {
            Found::Served(kind, ar) => {
                self.resources.insert(*kind, ar.clone());
            }
            Found::Absent(kind) => {
                if let Some(flag) = self.initialised.get_mut(*kind as usize) {
                    *flag = true;
                }
                self.dirty = true;
            }
        }
    }

    /// A failed watch request. A CEL kind that cannot be listed stops holding back the first
    /// set after a few attempts; the watch keeps retrying and loads it when it can.
    fn on_error(&mut self, kind: Watched) {
        let i = kind as usize;
        if !kind.is_optional() || self.initialised.get(i).copied().unwrap_or(true) {
            return;
        }
        if let Some(n) = self.failures.get_mut(i) {
            *n += 1;
            if *n >= CEL_LIST_ATTEMPTS {
                tracing::warn!(
                    kind = kind.kind(),
                    "cannot list; serving without this kind until the watch succeeds"
                );
                if let Some(flag) = self.initialised.get_mut(i) {
                    *flag = true;
                }
                self.dirty = true;
            }
        }
    }

    /// Compiles an object unless what it compiles from is unchanged.
    fn upsert(&mut self, kind: Watched, obj: &DynamicObject) {
        let ar = self.resource(kind);
        let key = Key {
            kind,
            namespace: obj.metadata.namespace.clone(),
            name: obj.name_any(),
        };
        let input = compile_input(&ar, obj);
        if self.entries.get(&key).is_some_and(|l| l.input == input) {
            return;
        }
        let entry = compile_document(&key.source(), 0, &input);
        match &entry {
            Ok(_) => tracing::info!(policy = %key.source(), "loaded"),
            Err(e) => tracing::warn!(policy = %key.source(), error = %e, "not loaded"),
        }
        if kind.has_status() {
            let outcome = match (&entry, kind.is_optional()) {
                (Ok(Entry::Policy(p)), false) => Some(Written::Classic(Outcome::ready(p))),
                (Err(e), false) => Some(Written::Classic(Outcome::failed(e, &input))),
                (Ok(Entry::Cel(_)), true) => Some(Written::Cel(CelOutcome::Ready)),
                (Err(e), true) => Some(Written::Cel(CelOutcome::failed(e))),
                (Ok(_), _) => None,
            };
            if let Some(outcome) = outcome {
                // The receiver lives as long as the watch loop; a send error means shutdown.
                let _ = self.status_tx.send(StatusWrite {
                    key: key.clone(),
                    resource: ar,
                    current: obj.data.get("status").cloned(),
                    outcome,
                });
            }
        }
        self.entries.insert(key, Loaded { input, entry });
        self.dirty = true;
    }

    fn remove(&mut self, kind: Watched, obj: &DynamicObject) {
        let key = Key {
            kind,
            namespace: obj.metadata.namespace.clone(),
            name: obj.name_any(),
        };
        if self.entries.remove(&key).is_some() {
            tracing::info!(policy = %key.source(), "removed");
            self.dirty = true;
        }
    }

    fn on_event(&mut self, kind: Watched, event: watcher::Event<DynamicObject>) {
        match event {
            watcher::Event::Init => {
                self.relisting.insert(kind, Vec::new());
            }
            watcher::Event::InitApply(obj) => {
                self.relisting.entry(kind).or_default().push(obj);
            }
            watcher::Event::InitDone => {
                let listed = self.relisting.remove(&kind).unwrap_or_default();
                let gone: Vec<Key> = self
                    .entries
                    .keys()
                    .filter(|k| k.kind == kind)
                    .filter(|k| {
                        !listed
                            .iter()
                            .any(|o| o.metadata.namespace == k.namespace && o.name_any() == k.name)
                    })
                    .cloned()
                    .collect();
                for k in gone {
                    self.entries.remove(&k);
                    self.dirty = true;
                }
                for obj in &listed {
                    self.upsert(kind, obj);
                }
                if let Some(flag) = self.initialised.get_mut(kind as usize) {
                    *flag = true;
                }
                if let Some(n) = self.failures.get_mut(kind as usize) {
                    *n = 0;
                }
                // An empty list is a change too: the first set must be installed.
                self.dirty = true;
            }
            watcher::Event::Apply(obj) => self.upsert(kind, &obj),
            watcher::Event::Delete(obj) => self.remove(kind, &obj),
        }
    }

    fn set(&self) -> PolicySet {
        PolicySet::new(
            self.entries
                .values()
                .filter_map(|l| l.entry.as_ref().ok().cloned()),
        )
    }
}

type EventStream = futures::stream::BoxStream<
    'static,
    (
        Watched,
        Result<watcher::Event<DynamicObject>, watcher::Error>,
    ),
>;

fn watch_stream(client: &Client, kind: Watched, ar: &ApiResource) -> EventStream {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
    watcher(api, watcher::Config::default())
        .default_backoff()
        .map(move |ev| (kind, ev))
        .boxed()
}

/// Watches the policy kinds until the process ends; installs a new set in `cache` after each
/// change (the first one once every kind is listed or known not to be served, which marks the
/// cache loaded).
pub async fn run(client: Client, cache: Arc<PolicyCache>, options: Options) -> Result<(), Error> {
    let (status_tx, status_rx) = mpsc::unbounded_channel();
    let (flush_tx, flush_rx) = mpsc::unbounded_channel();
    // Without a writer, the status sends fail and nothing is written.
    let writer = options
        .write_status
        .then(|| tokio::spawn(write_statuses(client.clone(), status_rx, flush_rx)));
    let (found_tx, mut found_rx) = mpsc::unbounded_channel();
    let mut optional: Vec<Watched> = Watched::CEL.to_vec();
    let mut state = State::new(status_tx);
    if options.admission_policies {
        optional.extend(Watched::ADMISSION);
    } else {
        for kind in Watched::ADMISSION {
            state.on_found(&Found::Absent(kind));
        }
    }
    let discover = tokio::spawn(discover_kinds(client.clone(), optional, found_tx));
    let mut events = stream::select_all(
        Watched::CLASSIC.map(|kind| watch_stream(&client, kind, &kind.api_resource())),
    );
    let mut deadline: Option<Instant> = None;
    let mut burst_start: Option<Instant> = None;
    loop {
        tokio::select! {
            next = events.next() => {
                let Some((kind, event)) = next else { break };
                match event {
                    Ok(ev) => state.on_event(kind, ev),
                    Err(e) => {
                        tracing::warn!(kind = ?kind, error = %e, "watch failed; retrying");
                        state.on_error(kind);
                    }
                }
            }
            Some(found) = found_rx.recv() => {
                if let Found::Served(kind, ar) = &found {
                    tracing::info!(kind = kind.kind(), version = %ar.version, "watching");
                    events.push(watch_stream(&client, *kind, ar));
                }
                state.on_found(&found);
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                deadline = None;
                burst_start = None;
                state.dirty = false;
                if writer.is_some() {
                    flush_statuses(&flush_tx).await;
                }
                let set = state.set();
                tracing::info!(
                    policies = set.len(),
                    exceptions = set.exceptions().len(),
                    validating_policies = set.validating_policies().len(),
                    mutating_policies = set.mutating_policies().len(),
                    cel_exceptions = set.cel_exceptions().len(),
                    admission_policies = set.admission_policies().len(),
                    "policy set updated"
                );
                cache.replace(set);
                continue;
            }
        }
        if state.dirty && state.all_initialised() {
            let now = Instant::now();
            let first = *burst_start.get_or_insert(now);
            deadline = Some((now + DEBOUNCE).min(first + MAX_DELAY));
        }
    }
    if let Some(w) = writer {
        w.abort();
    }
    discover.abort();
    Ok(())
}

/// Waits until the status writes queued so far are made, at most [`STATUS_FLUSH_LIMIT`].
async fn flush_statuses(flush_tx: &mpsc::UnboundedSender<oneshot::Sender<()>>) {
    let (done_tx, done_rx) = oneshot::channel();
    if flush_tx.send(done_tx).is_err() {
        return;
    }
    if tokio::time::timeout(STATUS_FLUSH_LIMIT, done_rx)
        .await
        .is_err()
    {
        tracing::warn!(
            "policy statuses not written within {}s; installing the set anyway",
            STATUS_FLUSH_LIMIT.as_secs()
        );
    }
}

/// Finds the served version of each optional kind by discovery and reports it once; a kind
/// that is not served is reported absent once and looked for again every [`CRD_RECHECK`].
/// Discovery errors other than "group not served" are retried sooner before a kind counts as
/// absent, so a brief API hiccup at start does not install a first set without it.
async fn discover_kinds(
    client: Client,
    mut pending: Vec<Watched>,
    found: mpsc::UnboundedSender<Found>,
) {
    let mut reported_absent = false;
    let mut attempts = 0u32;
    while !pending.is_empty() {
        attempts += 1;
        let mut groups = BTreeMap::new();
        let mut retry = false;
        for group in pending.iter().map(|k| k.group()) {
            if groups.contains_key(group) {
                continue;
            }
            let served = match kube::discovery::group(&client, group).await {
                Ok(g) => Some(g),
                Err(kube::Error::Discovery(e)) => {
                    tracing::debug!(error = %e, "{group} not served");
                    None
                }
                Err(e) if attempts < 4 && !reported_absent => {
                    tracing::warn!(error = %e, "discovery of {group} failed; retrying");
                    retry = true;
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "discovery of {group} failed");
                    None
                }
            };
            groups.insert(group, served);
        }
        if retry {
            tokio::time::sleep(Duration::from_secs(1 << attempts)).await;
            continue;
        }
        let mut absent = Vec::new();
        for kind in pending {
            let served = groups
                .get(kind.group())
                .and_then(Option::as_ref)
                .and_then(|g| g.recommended_kind(kind.kind()));
            match served {
                Some((ar, _)) => {
                    if found.send(Found::Served(kind, ar)).is_err() {
                        return;
                    }
                }
                None => absent.push(kind),
            }
        }
        if !reported_absent && !absent.is_empty() {
            let kinds: Vec<&str> = absent.iter().map(|k| k.label()).collect();
            tracing::info!(
                kinds = ?kinds,
                "policy kinds not served; serving without them and checking again every {}s",
                CRD_RECHECK.as_secs()
            );
            for kind in &absent {
                if found.send(Found::Absent(*kind)).is_err() {
                    return;
                }
            }
            reported_absent = true;
        }
        pending = absent;
        if !pending.is_empty() {
            tokio::time::sleep(CRD_RECHECK).await;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d).await;
    }
}

/// Writes statuses one at a time, through the status subresource, only when they change; a
/// flush request is answered once every write queued before it is made.
async fn write_statuses(
    client: Client,
    mut rx: mpsc::UnboundedReceiver<StatusWrite>,
    mut flushes: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    loop {
        // Writes first: a flush is sent after the writes it waits for.
        let w = tokio::select! {
            biased;
            w = rx.recv() => match w {
                Some(w) => w,
                None => return,
            },
            Some(done) = flushes.recv() => {
                let _ = done.send(());
                continue;
            }
        };
        let api: Api<DynamicObject> = match &w.key.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &w.resource),
            None => Api::all_with(client.clone(), &w.resource),
        };
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let Some(patch) = status_patch(w.current.as_ref(), &w.outcome, &now) else {
            continue;
        };
        let patch = Patch::Merge(patch);
        if let Err(e) = api
            .patch_status(&w.key.name, &PatchParams::default(), &patch)
            .await
        {
            tracing::warn!(policy = %w.key.source(), error = %e, "cannot write status");
        }
    }
}

/// The merge patch that brings `current` to `outcome`, or `None` when it already says so.
fn status_patch(current: Option<&Value>, outcome: &Written, now: &str) -> Option<Value> {
    match outcome {
        Written::Classic(o) => {
            let mut status = status::render(current, o, now)?;
            // A merge patch keeps keys it does not mention: drop old autogen rules explicitly.
            if status.pointer("/autogen/rules").is_none() {
                status["autogen"] = json!({"rules": null});
            }
            Some(json!({"status": status}))
        }
        Written::Cel(o) => {
            let conditions = status::render_cel(current, o, now)?;
            Some(json!({"status": {"conditionStatus": conditions}}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(
        kind: Watched,
        name: &str,
        ns: Option<&str>,
        spec: Value,
        status: Option<Value>,
    ) -> DynamicObject {
        let ar = kind.api_resource();
        let mut doc = json!({
            "apiVersion": ar.api_version,
            "kind": ar.kind,
            "metadata": {"name": name, "resourceVersion": "1"},
            "spec": spec,
        });
        if let Some(ns) = ns {
            doc["metadata"]["namespace"] = json!(ns);
        }
        if let Some(status) = status {
            doc["status"] = status;
        }
        serde_json::from_value(doc).unwrap()
    }

    fn good() -> Value {
        json!({"rules": [{
            "name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "validate": {"message": "m", "pattern": {"metadata": {"name": "?*"}}}
        }]})
    }

    fn bad() -> Value {
        json!({"rules": [{
            "name": "r",
            "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
            "validate": {"message": "m", "deny": {"conditions": {"any": [{"key": "a", "operator": "Bogus", "value": "b"}]}}}
        }]})
    }

    fn state() -> (State, mpsc::UnboundedReceiver<StatusWrite>) {
        let (status_tx, rx) = mpsc::unbounded_channel();
        (State::new(status_tx), rx)
    }

    fn names(set: &PolicySet) -> Vec<String> {
        set.policies().iter().map(|p| p.name()).collect()
    }

    #[test]
    fn broken_policy_is_reported_and_left_out() {
        let (mut s, mut rx) = state();
        s.on_event(Watched::ClusterPolicy, watcher::Event::Init);
        for (name, spec) in [("a", good()), ("b", bad())] {
            let o = obj(Watched::ClusterPolicy, name, None, spec, None);
            s.on_event(Watched::ClusterPolicy, watcher::Event::InitApply(o));
        }
        s.on_event(Watched::ClusterPolicy, watcher::Event::InitDone);
        assert_eq!(names(&s.set()), vec!["a"]);
        let writes: Vec<StatusWrite> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(writes.len(), 2);
        assert!(matches!(
            writes[0].outcome,
            Written::Classic(Outcome::Ready { .. })
        ));
        match &writes[1].outcome {
            Written::Classic(Outcome::Failed { message, .. }) => {
                assert!(
                    message.starts_with("spec.rules[0].validate.deny"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(writes[1].key.source(), "ClusterPolicy/b");
    }

    #[test]
    fn status_only_changes_do_not_recompile() {
        let (mut s, mut rx) = state();
        let o = obj(Watched::Policy, "p", Some("ns"), good(), None);
        s.on_event(Watched::Policy, watcher::Event::Apply(o));
        assert!(s.dirty);
        assert!(rx.try_recv().is_ok());
        s.dirty = false;
        let with_status = obj(
            Watched::Policy,
            "p",
            Some("ns"),
            good(),
            Some(json!({"ready": true})),
        );
        s.on_event(Watched::Policy, watcher::Event::Apply(with_status));
        assert!(!s.dirty);
        assert!(rx.try_recv().is_err());
        let edited = obj(Watched::Policy, "p", Some("ns"), bad(), None);
        s.on_event(Watched::Policy, watcher::Event::Apply(edited));
        assert!(s.dirty);
        assert!(s.set().policies().is_empty());
    }

    #[test]
    fn relist_drops_what_is_gone_and_exceptions_get_no_status() {
        let (mut s, mut rx) = state();
        for name in ["a", "b"] {
            let o = obj(Watched::ClusterPolicy, name, None, good(), None);
            s.on_event(Watched::ClusterPolicy, watcher::Event::Apply(o));
        }
        s.on_event(Watched::ClusterPolicy, watcher::Event::Init);
        let a = obj(Watched::ClusterPolicy, "a", None, good(), None);
        s.on_event(Watched::ClusterPolicy, watcher::Event::InitApply(a));
        s.on_event(Watched::ClusterPolicy, watcher::Event::InitDone);
        assert_eq!(names(&s.set()), vec!["a"]);
        let polex = obj(
            Watched::PolicyException,
            "e",
            Some("ns"),
            json!({"exceptions": [{"policyName": "a", "ruleNames": ["r"]}],
                   "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]}}),
            None,
        );
        while rx.try_recv().is_ok() {}
        s.on_event(
            Watched::PolicyException,
            watcher::Event::Apply(polex.clone()),
        );
        assert_eq!(s.set().exceptions().len(), 1);
        assert!(rx.try_recv().is_err());
        s.on_event(Watched::PolicyException, watcher::Event::Delete(polex));
        assert!(s.set().exceptions().is_empty());
        assert_eq!(
            s.initialised,
            [
                true, false, false, false, false, false, false, false, false, false
            ]
        );
    }

    fn vpol(expression: &str) -> Value {
        json!({
            "validationActions": ["Deny"],
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["configmaps"]
            }]},
            "validations": [{"expression": expression, "message": "m"}]
        })
    }

    fn list(s: &mut State, kind: Watched, objs: Vec<DynamicObject>) {
        s.on_event(kind, watcher::Event::Init);
        for o in objs {
            s.on_event(kind, watcher::Event::InitApply(o));
        }
        s.on_event(kind, watcher::Event::InitDone);
    }

    #[test]
    fn cel_policies_join_the_set_and_a_broken_one_gets_a_cel_status() {
        let (mut s, mut rx) = state();
        for kind in Watched::CLASSIC {
            list(&mut s, kind, Vec::new());
        }
        assert!(!s.all_initialised(), "the CEL kinds are not settled yet");
        let good = obj(
            Watched::ValidatingPolicy,
            "good",
            None,
            vpol("has(object.data)"),
            None,
        );
        let bad = obj(
            Watched::ValidatingPolicy,
            "bad",
            None,
            vpol("objekt.data == 1"),
            None,
        );
        list(&mut s, Watched::ValidatingPolicy, vec![good, bad]);
        let mpol = obj(
            Watched::NamespacedMutatingPolicy,
            "m",
            Some("ns"),
            json!({
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["configmaps"]
                }]},
                "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {
                    "expression": "Object{metadata: Object.metadata{labels: {'a': 'b'}}}"
                }}]
            }),
            None,
        );
        list(&mut s, Watched::NamespacedMutatingPolicy, vec![mpol]);
        for kind in [
            Watched::NamespacedValidatingPolicy,
            Watched::MutatingPolicy,
            Watched::CelPolicyException,
            Watched::ValidatingAdmissionPolicy,
            Watched::ValidatingAdmissionPolicyBinding,
        ] {
            s.on_found(&Found::Absent(kind));
        }
        assert!(s.all_initialised());

        let set = s.set();
        let names: Vec<String> = set
            .validating_policies()
            .iter()
            .map(|p| p.policy.metadata.name.clone())
            .collect();
        assert_eq!(names, vec!["good"]);
        assert_eq!(set.mutating_policies().len(), 1);

        let writes: Vec<StatusWrite> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        let sources: Vec<String> = writes.iter().map(|w| w.key.source()).collect();
        assert_eq!(
            sources,
            vec![
                "ValidatingPolicy/good",
                "ValidatingPolicy/bad",
                "NamespacedMutatingPolicy/ns/m"
            ]
        );
        assert!(matches!(writes[0].outcome, Written::Cel(CelOutcome::Ready)));
        match &writes[1].outcome {
            Written::Cel(CelOutcome::Failed { message }) => {
                assert!(
                    message.starts_with("spec.validations[0].expression: ")
                        && message.contains("objekt")
                        && message.contains("(at 1:1"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(writes[2].resource.plural, "namespacedmutatingpolicies");
    }

    #[test]
    fn a_cel_kind_that_cannot_be_listed_stops_holding_back_the_first_set() {
        let (mut s, _rx) = state();
        for kind in Watched::CLASSIC {
            list(&mut s, kind, Vec::new());
        }
        for kind in Watched::CEL.into_iter().chain(Watched::ADMISSION) {
            if kind != Watched::ValidatingPolicy {
                s.on_found(&Found::Absent(kind));
            }
        }
        // Classic kinds never stop holding back: their errors are retried.
        s.on_error(Watched::ClusterPolicy);
        for _ in 1..CEL_LIST_ATTEMPTS {
            s.on_error(Watched::ValidatingPolicy);
            assert!(!s.all_initialised());
        }
        s.on_error(Watched::ValidatingPolicy);
        assert!(s.all_initialised());
        // A served version found later is where its statuses are written.
        let ar = ApiResource {
            version: "v1beta1".into(),
            api_version: "policies.kyverno.io/v1beta1".into(),
            ..Watched::ValidatingPolicy.api_resource()
        };
        s.on_found(&Found::Served(Watched::ValidatingPolicy, ar));
        assert_eq!(s.resource(Watched::ValidatingPolicy).version, "v1beta1");
        assert_eq!(s.resource(Watched::MutatingPolicy).version, "v1");
    }

    #[test]
    fn cel_exceptions_and_bound_admission_policies_join_the_set_without_a_status() {
        let (mut s, mut rx) = state();
        let exception = obj(
            Watched::CelPolicyException,
            "allow",
            Some("ns"),
            json!({"policyRefs": [{"name": "good", "kind": "ValidatingPolicy"}],
                   "matchConditions": [{"name": "m", "expression": "object.metadata.name == 'x'"}]}),
            Some(json!({})),
        );
        list(&mut s, Watched::CelPolicyException, vec![exception]);
        let vap = obj(
            Watched::ValidatingAdmissionPolicy,
            "replicas",
            None,
            json!({"failurePolicy": "Fail",
                   "matchConstraints": {"matchPolicy": "Equivalent", "namespaceSelector": {},
                       "objectSelector": {}, "resourceRules": [{"apiGroups": ["apps"],
                       "apiVersions": ["v1"], "operations": ["CREATE"],
                       "resources": ["deployments"], "scope": "*"}]},
                   "validations": [{"expression": "object.spec.replicas <= 5"}]}),
            Some(json!({"observedGeneration": 1})),
        );
        let binding = |name: &str| {
            obj(
                Watched::ValidatingAdmissionPolicyBinding,
                name,
                None,
                json!({"policyName": "replicas", "validationActions": ["Audit"]}),
                None,
            )
        };
        list(&mut s, Watched::ValidatingAdmissionPolicy, vec![vap]);
        list(
            &mut s,
            Watched::ValidatingAdmissionPolicyBinding,
            vec![binding("b")],
        );
        let set = s.set();
        assert_eq!(set.cel_exceptions().len(), 1);
        assert_eq!(set.cel_exceptions()[0].key(), "ns/allow");
        let bound = set.admission_policies();
        assert_eq!(bound.len(), 1);
        assert_eq!(bound[0].bindings.len(), 1);
        assert!(rx.try_recv().is_err(), "no status for these kinds");
        // A binding added later joins the compiled policy without recompiling it.
        let before = Arc::as_ptr(&bound[0].policy);
        s.on_event(
            Watched::ValidatingAdmissionPolicyBinding,
            watcher::Event::Apply(binding("a")),
        );
        let set = s.set();
        let bound = &set.admission_policies()[0];
        assert_eq!(Arc::as_ptr(&bound.policy), before);
        let names: Vec<&str> = bound
            .bindings
            .iter()
            .map(|b| b.metadata.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            Watched::CelPolicyException.api_resource().api_version,
            "policies.kyverno.io/v1"
        );
        assert_eq!(Watched::ValidatingAdmissionPolicy.group(), ADMISSION_GROUP);
    }
}
