//! Watches of the resources the background policies match, one reflector per API resource,
//! started and stopped as the policy set changes.
//!
//! Every created or updated object (and every object of a new or re-listed watch) is queued
//! for scanning. Deleted objects are not: their reports go with them through the owner
//! reference. managedFields are dropped before caching (no policy reads them, and they are
//! often the largest part of an object).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::{StreamExt, future};
use kube::api::{Api, DynamicObject, TypeMeta};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::task::JoinHandle;

use crate::kinds::WatchKind;
use crate::queue::WorkQueue;

/// A resource to scan: its API resource, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The API resource.
    pub kind: Arc<WatchKind>,
    /// The namespace (`None`: cluster-scoped).
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

struct Running {
    kind: Arc<WatchKind>,
    store: Store<DynamicObject>,
    task: JoinHandle<()>,
}

/// The running watches.
pub struct Watchers {
    client: Client,
    /// Namespaces whose objects are dropped before caching.
    excluded: Arc<Vec<String>>,
    queue: Arc<WorkQueue<Key>>,
    running: Mutex<HashMap<WatchKind, Running>>,
}

impl Watchers {
    /// No watches yet; objects outside `excluded` namespaces will be queued on `queue`.
    pub fn new(client: Client, queue: Arc<WorkQueue<Key>>, excluded: &[String]) -> Watchers {
        Watchers {
            client,
            excluded: Arc::new(excluded.to_vec()),
            queue,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Starts watches for kinds in `wanted` not watched yet and stops the others. Returns the
    /// kinds started (their initial lists queue every object).
    pub fn reconcile(&self, wanted: &BTreeSet<WatchKind>) -> Vec<WatchKind> {
        let mut running = self.lock();
        running.retain(|kind, r| {
            let keep = wanted.contains(kind);
            if !keep {
                tracing::info!(kind = %kind, "stopping watch: no background policy matches it");
                r.task.abort();
            }
            keep
        });
        let mut started = Vec::new();
        for kind in wanted {
            if running.contains_key(kind) {
                continue;
            }
            tracing::info!(kind = %kind, "watching for background scans");
            let kind_arc = Arc::new(kind.clone());
            let (store, task) = self.start(kind_arc.clone());
            running.insert(
                kind.clone(),
                Running {
                    kind: kind_arc,
                    store,
                    task,
                },
            );
            started.push(kind.clone());
        }
        started
    }

    fn start(&self, kind: Arc<WatchKind>) -> (Store<DynamicObject>, JoinHandle<()>) {
        let ar = kind.api_resource();
        let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
        let store = writer.as_reader();
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
        let types = TypeMeta {
            api_version: ar.api_version.clone(),
            kind: ar.kind.clone(),
        };
        let queue = self.queue.clone();
        let excluded = self.excluded.clone();
        // A field selector cannot do this: cluster-scoped kinds refuse `metadata.namespace`.
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .filter(move |event| future::ready(!is_excluded(event, &excluded)))
            .modify(move |o: &mut DynamicObject| strip(o, &types))
            .reflect(writer);
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                        queue.push(Key {
                            kind: kind.clone(),
                            namespace: obj.metadata.namespace.clone(),
                            name: obj.name_any(),
                        });
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(kind = %kind, error = %e, "watch failed; retrying"),
                }
            }
        });
        (store, task)
    }

    /// The cached object for `key` (`None`: deleted, or its kind is no longer watched).
    pub fn get(&self, key: &Key) -> Option<Arc<DynamicObject>> {
        let running = self.lock();
        let r = running.get(&key.kind)?;
        let mut oref = ObjectRef::new_with(&key.name, r.kind.api_resource());
        oref.namespace = key.namespace.clone();
        r.store.get(&oref)
    }

    /// Every cached object's key (for a full rescan).
    pub fn all_keys(&self) -> Vec<Key> {
        let running = self.lock();
        let mut out = Vec::new();
        for r in running.values() {
            out.extend(r.store.state().iter().map(|o| Key {
                kind: r.kind.clone(),
                namespace: o.metadata.namespace.clone(),
                name: o.name_any(),
            }));
        }
        out
    }

    /// The watched kinds.
    pub fn kinds(&self) -> BTreeSet<WatchKind> {
        self.lock().keys().cloned().collect()
    }

    /// True when every watch has listed its objects once.
    pub async fn wait_synced(&self) {
        let stores: Vec<Store<DynamicObject>> =
            self.lock().values().map(|r| r.store.clone()).collect();
        for s in stores {
            // An error means the watch was stopped meanwhile: nothing to wait for.
            let _ = s.wait_until_ready().await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<WatchKind, Running>> {
        // Every operation leaves the map consistent, so a poisoned lock is still usable.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// True for an event about an object in one of the `excluded` namespaces.
fn is_excluded(
    event: &Result<watcher::Event<DynamicObject>, watcher::Error>,
    excluded: &[String],
) -> bool {
    match event {
        Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o) | watcher::Event::Delete(o)) => {
            o.metadata
                .namespace
                .as_ref()
                .is_some_and(|ns| excluded.contains(ns))
        }
        _ => false,
    }
}

/// Drops managedFields and fills in apiVersion and kind, which list responses leave out of
/// their items (policies match on them).
pub(crate) fn strip(o: &mut DynamicObject, types: &TypeMeta) {
    o.metadata.managed_fields = None;
    if o.types.is_none() {
        o.types = Some(types.clone());
    }
}

impl Drop for Watchers {
    fn drop(&mut self) {
        for r in self.lock().values() {
            r.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_of_excluded_namespaces_are_dropped() {
        let excluded = ["kube-system".to_string()];
        let obj = |ns: Option<&str>| {
            let mut o: DynamicObject =
                serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}})).unwrap();
            o.metadata.namespace = ns.map(str::to_string);
            o
        };
        let cases = [
            (Ok(watcher::Event::Apply(obj(Some("kube-system")))), true),
            (
                Ok(watcher::Event::InitApply(obj(Some("kube-system")))),
                true,
            ),
            (Ok(watcher::Event::Delete(obj(Some("kube-system")))), true),
            (Ok(watcher::Event::Apply(obj(Some("team")))), false),
            (Ok(watcher::Event::Apply(obj(None))), false),
            (Ok(watcher::Event::InitDone), false),
        ];
        for (event, want) in cases {
            assert_eq!(is_excluded(&event, &excluded), want, "{event:?}");
        }
    }

    #[test]
    fn strip_drops_managed_fields_and_fills_in_types() {
        let mut o: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "managedFields": [{"manager": "kubectl"}]},
            "spec": {"x": 1}
        }))
        .unwrap();
        let types = TypeMeta {
            api_version: "v1".into(),
            kind: "Pod".into(),
        };
        strip(&mut o, &types);
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(
            (v["apiVersion"].as_str(), v["kind"].as_str()),
            (Some("v1"), Some("Pod"))
        );
        assert!(v["metadata"].get("managedFields").is_none());
        assert_eq!(v["spec"]["x"], 1);
        // Objects that carry their own types keep them.
        let mut own = o.clone();
        own.types = Some(TypeMeta {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
        });
        strip(&mut own, &types);
        assert_eq!(own.types.unwrap().kind, "Deployment");
    }
}
