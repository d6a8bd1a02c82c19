//! Watching ClusterPolicies, Policies and PolicyExceptions: each object compiled once (again
//! only when its spec or annotations change, not its status), the set rebuilt and swapped into
//! the cache shortly after a change, each policy's status written when it changes.

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
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::Error;
use crate::status::{self, Outcome};

/// How long the set waits for more changes before it is rebuilt: a burst of changes (an
/// `apply -f dir/`) costs one rebuild, and a single change takes effect after this delay.
pub const DEBOUNCE: Duration = Duration::from_millis(150);
/// The longest a change waits during a continuing burst.
pub const MAX_DELAY: Duration = Duration::from_millis(500);

/// The watched kinds, in the order their entries go into the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watched {
    /// kyverno.io/v1 ClusterPolicy.
    ClusterPolicy,
    /// kyverno.io/v1 Policy.
    Policy,
    /// kyverno.io/v2 PolicyException.
    PolicyException,
}

impl Watched {
    const ALL: [Watched; 3] = [
        Watched::ClusterPolicy,
        Watched::Policy,
        Watched::PolicyException,
    ];

    /// The API resource watched.
    pub fn api_resource(self) -> ApiResource {
        let (version, kind, plural) = match self {
            Watched::ClusterPolicy => ("v1", "ClusterPolicy", "clusterpolicies"),
            Watched::Policy => ("v1", "Policy", "policies"),
            Watched::PolicyException => ("v2", "PolicyException", "policyexceptions"),
        };
        ApiResource {
            group: "kyverno.io".into(),
            version: version.into(),
            api_version: format!("kyverno.io/{version}"),
            kind: kind.into(),
            plural: plural.into(),
        }
    }

    fn has_status(self) -> bool {
        self != Watched::PolicyException
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
        let kind = self.kind.api_resource().kind;
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
    current: Option<Value>,
    outcome: Outcome,
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
    initialised: [bool; 3],
    dirty: bool,
    status_tx: mpsc::UnboundedSender<StatusWrite>,
}

impl State {
    /// Compiles an object unless what it compiles from is unchanged.
    fn upsert(&mut self, kind: Watched, obj: &DynamicObject) {
        let ar = kind.api_resource();
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
            let outcome = match &entry {
                Ok(Entry::Policy(p)) => Some(Outcome::ready(p)),
                Ok(_) => None,
                Err(e) => Some(Outcome::failed(e, &input)),
            };
            if let Some(outcome) = outcome {
                // The receiver lives as long as the watch loop; a send error means shutdown.
                let _ = self.status_tx.send(StatusWrite {
                    key: key.clone(),
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

/// Watches the three kinds until the process ends; installs a new set in `cache` after each
/// change (the first one once all three kinds are listed, which marks the cache loaded).
pub async fn run(client: Client, cache: Arc<PolicyCache>) -> Result<(), Error> {
    let (status_tx, status_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_statuses(client.clone(), status_rx));
    let streams = Watched::ALL.map(|kind| {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &kind.api_resource());
        watcher(api, watcher::Config::default())
            .default_backoff()
            .map(move |ev| (kind, ev))
            .boxed()
    });
    let mut events = stream::select_all(streams);
    let mut state = State {
        entries: BTreeMap::new(),
        relisting: BTreeMap::new(),
        initialised: [false; 3],
        dirty: false,
        status_tx,
    };
    let mut deadline: Option<Instant> = None;
    let mut burst_start: Option<Instant> = None;
    loop {
        tokio::select! {
            next = events.next() => {
                let Some((kind, event)) = next else { break };
                match event {
                    Ok(ev) => state.on_event(kind, ev),
                    Err(e) => tracing::warn!(kind = ?kind, error = %e, "watch failed; retrying"),
                }
                if state.dirty && state.initialised.iter().all(|i| *i) {
                    let now = Instant::now();
                    let first = *burst_start.get_or_insert(now);
                    deadline = Some((now + DEBOUNCE).min(first + MAX_DELAY));
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                deadline = None;
                burst_start = None;
                state.dirty = false;
                let set = state.set();
                tracing::info!(policies = set.len(), exceptions = set.exceptions().len(), "policy set updated");
                cache.replace(set);
            }
        }
    }
    writer.abort();
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d).await;
    }
}

/// Writes statuses one at a time, through the status subresource, only when they change.
async fn write_statuses(client: Client, mut rx: mpsc::UnboundedReceiver<StatusWrite>) {
    while let Some(w) = rx.recv().await {
        let ar = w.key.kind.api_resource();
        let api: Api<DynamicObject> = match &w.key.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let Some(status) = status::render(w.current.as_ref(), &w.outcome, &now) else {
            continue;
        };
        let mut status = status;
        // A merge patch keeps keys it does not mention: drop old autogen rules explicitly.
        if status.pointer("/autogen/rules").is_none() {
            status["autogen"] = json!({"rules": null});
        }
        let patch = Patch::Merge(json!({"status": status}));
        if let Err(e) = api
            .patch_status(&w.key.name, &PatchParams::default(), &patch)
            .await
        {
            tracing::warn!(policy = %w.key.source(), error = %e, "cannot write status");
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
        let state = State {
            entries: BTreeMap::new(),
            relisting: BTreeMap::new(),
            initialised: [false; 3],
            dirty: false,
            status_tx,
        };
        (state, rx)
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
        assert!(matches!(writes[0].outcome, Outcome::Ready { .. }));
        match &writes[1].outcome {
            Outcome::Failed { message, .. } => {
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
        assert_eq!(s.initialised, [true, false, false]);
    }
}
