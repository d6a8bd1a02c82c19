//! Watches of the resources the background policies match, one per API resource, started
//! and stopped as the policy set changes.
//!
//! Every created or updated object (and every object of a new or re-listed watch) is queued
//! for scanning. Deleted objects are not: their reports go with them through the owner
//! reference. Objects are cached as their JSON text ([`Compact`]), without managedFields (no
//! policy reads them, and they are often the largest part of an object): a scan parses the
//! object again, which costs far less than keeping every object parsed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use kube::Client;
use kube::api::{Api, DynamicObject, TypeMeta};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;

use crate::cache::{self, Compact};
use crate::kinds::WatchKind;
use crate::queue::WorkQueue;

/// Objects per list page.
const OBJECT_PAGE: u32 = 100;

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
    cache: Compact<Box<str>>,
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
        running.retain(|kind, _| {
            let keep = wanted.contains(kind);
            if !keep {
                // Dropping the cache stops its watch.
                tracing::info!(kind = %kind, "stopping watch: no background policy matches it");
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
            let cache = self.start(kind_arc.clone());
            running.insert(
                kind.clone(),
                Running {
                    kind: kind_arc,
                    cache,
                },
            );
            started.push(kind.clone());
        }
        started
    }

    fn start(&self, kind: Arc<WatchKind>) -> Compact<Box<str>> {
        let ar = kind.api_resource();
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
        let types = TypeMeta {
            api_version: ar.api_version.clone(),
            kind: ar.kind.clone(),
        };
        let queue = self.queue.clone();
        let excluded = self.excluded.clone();
        // A list page is held parsed until its last object is cached (kube's default page
        // is 500 objects: for Pods some 10 MiB as `Value`s).
        let config = watcher::Config::default().page_size(OBJECT_PAGE);
        let events = watcher(api, config).default_backoff();
        let k = kind.clone();
        Compact::start(
            kind.to_string(),
            events,
            // A field selector cannot exclude namespaces: cluster-scoped kinds refuse
            // `metadata.namespace`.
            move |mut o: DynamicObject| {
                if is_excluded(&o, &excluded) {
                    return None;
                }
                strip(&mut o, &types);
                serde_json::to_string(&o).ok().map(String::into_boxed_str)
            },
            move |(namespace, name): &cache::ObjKey, _: &_| {
                queue.push(Key {
                    kind: k.clone(),
                    namespace: namespace.clone(),
                    name: name.clone(),
                });
            },
        )
    }

    /// The cached object for `key`, parsed (`None`: deleted, or its kind is no longer
    /// watched).
    pub fn get(&self, key: &Key) -> Option<Value> {
        let text = {
            let running = self.lock();
            running
                .get(&key.kind)?
                .cache
                .get(key.namespace.as_deref(), &key.name)?
        };
        serde_json::from_str(&text).ok()
    }

    /// Every cached object's key (for a full rescan).
    pub fn all_keys(&self) -> Vec<Key> {
        let running = self.lock();
        let mut out = Vec::new();
        for r in running.values() {
            out.extend(r.cache.keys().into_iter().map(|(namespace, name)| Key {
                kind: r.kind.clone(),
                namespace,
                name,
            }));
        }
        out
    }

    /// The watched kinds.
    pub fn kinds(&self) -> BTreeSet<WatchKind> {
        self.lock().keys().cloned().collect()
    }

    /// Returns once every watch has listed its objects once.
    pub async fn wait_synced(&self) {
        let ready: Vec<_> = self.lock().values().map(|r| r.cache.readiness()).collect();
        for r in ready {
            cache::wait_ready(r).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<WatchKind, Running>> {
        // Every operation leaves the map consistent, so a poisoned lock is still usable.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// True for an object in one of the `excluded` namespaces.
fn is_excluded(o: &DynamicObject, excluded: &[String]) -> bool {
    o.metadata
        .namespace
        .as_ref()
        .is_some_and(|ns| excluded.contains(ns))
}

/// Drops managedFields and fills in apiVersion and kind, which list responses leave out of
/// their items (policies match on them).
pub(crate) fn strip(o: &mut DynamicObject, types: &TypeMeta) {
    o.metadata.managed_fields = None;
    if o.types.is_none() {
        o.types = Some(types.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_of_excluded_namespaces_are_dropped() {
        let excluded = ["kube-system".to_string()];
        let obj = |ns: Option<&str>| {
            let mut o: DynamicObject =
                serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}})).unwrap();
            o.metadata.namespace = ns.map(str::to_string);
            o
        };
        let cases = [
            (obj(Some("kube-system")), true),
            (obj(Some("team")), false),
            (obj(None), false),
        ];
        for (o, want) in cases {
            assert_eq!(is_excluded(&o, &excluded), want, "{o:?}");
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
