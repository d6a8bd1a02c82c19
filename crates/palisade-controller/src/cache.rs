//! A watch cache that keeps a compact form of each object instead of the parsed object.
//!
//! kube-runtime's reflector keeps every object as a `serde_json::Value` tree, several times
//! its JSON size: 10,000 Pods took about 200 MiB that way, and their 10,000 reports more. The
//! controller needs the objects only now and then (a scan parses one again; a report needs
//! only a [`Digest`](palisade_reports::change::Digest)), so each watch keeps what its user
//! converts an object into: the JSON text, a digest.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures::{Stream, StreamExt};
use kube::ResourceExt;
use kube::api::DynamicObject;
use kube::runtime::watcher;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// An object's namespace (`None`: cluster-scoped) and name.
pub type ObjKey = (Option<String>, String);

struct State<T> {
    objects: HashMap<ObjKey, Arc<T>>,
    /// Filled during a (re)list, swapped in when it is complete.
    relist: Option<HashMap<ObjKey, Arc<T>>>,
}

/// The compact cache of one watch.
pub struct Compact<T> {
    state: Arc<RwLock<State<T>>>,
    ready: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl<T: Send + Sync + 'static> Compact<T> {
    /// Follows `events` (a kube-runtime watcher stream) on the current tokio runtime, keeping
    /// `convert(object)` for each object (`None`: not kept). `changed` is told of every
    /// created or updated object (including those of each list); `what` names the watch in
    /// logs.
    pub fn start<S, C, F>(what: String, events: S, convert: C, changed: F) -> Compact<T>
    where
        S: Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Send + 'static,
        C: Fn(DynamicObject) -> Option<T> + Send + 'static,
        F: Fn(&ObjKey, &T) + Send + 'static,
    {
        let state = Arc::new(RwLock::new(State {
            objects: HashMap::new(),
            relist: None,
        }));
        let (ready_tx, ready) = watch::channel(false);
        let st = state.clone();
        let task = tokio::spawn(async move {
            let mut events = std::pin::pin!(events);
            while let Some(event) = events.next().await {
                let event = match event {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(watch = %what, error = %e, "watch failed; retrying");
                        continue;
                    }
                };
                match event {
                    watcher::Event::Init => write(&st).relist = Some(HashMap::new()),
                    watcher::Event::InitApply(o) => {
                        let key = key_of(&o);
                        if let Some(v) = convert(o) {
                            let v = Arc::new(v);
                            write(&st)
                                .relist
                                .get_or_insert_with(HashMap::new)
                                .insert(key.clone(), v.clone());
                            changed(&key, &v);
                        }
                    }
                    watcher::Event::InitDone => {
                        let mut s = write(&st);
                        if let Some(all) = s.relist.take() {
                            s.objects = all;
                        }
                        drop(s);
                        let _ = ready_tx.send(true);
                    }
                    watcher::Event::Apply(o) => {
                        let key = key_of(&o);
                        match convert(o) {
                            Some(v) => {
                                let v = Arc::new(v);
                                write(&st).objects.insert(key.clone(), v.clone());
                                changed(&key, &v);
                            }
                            None => {
                                write(&st).objects.remove(&key);
                            }
                        }
                    }
                    watcher::Event::Delete(o) => {
                        write(&st).objects.remove(&key_of(&o));
                    }
                }
            }
        });
        Compact { state, ready, task }
    }

    /// The kept form of an object: during a (re)list, the listed version when it has been
    /// listed already (objects are queued for scanning as they are listed, before the list
    /// is complete).
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<T>> {
        let key = (namespace.map(str::to_string), name.to_string());
        let state = read(&self.state);
        state
            .relist
            .as_ref()
            .and_then(|r| r.get(&key))
            .or_else(|| state.objects.get(&key))
            .cloned()
    }

    /// Every object's key and kept form.
    pub fn entries(&self) -> Vec<(ObjKey, Arc<T>)> {
        read(&self.state)
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every object's key.
    pub fn keys(&self) -> Vec<ObjKey> {
        read(&self.state).objects.keys().cloned().collect()
    }

    /// Waits until the objects have been listed once (returns at once if the watch stopped).
    pub async fn wait_ready(&self) {
        wait_ready(self.readiness()).await;
    }

    /// What [`wait_ready`] waits for, to wait without borrowing the cache.
    pub fn readiness(&self) -> watch::Receiver<bool> {
        self.ready.clone()
    }
}

/// Waits until a [`Compact::readiness`] turns true (or its watch stops).
pub async fn wait_ready(mut ready: watch::Receiver<bool>) {
    let _ = ready.wait_for(|r| *r).await;
}

impl<T> Drop for Compact<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn key_of(o: &DynamicObject) -> ObjKey {
    (o.metadata.namespace.clone(), o.name_any())
}

// Every operation leaves the maps consistent, so a poisoned lock is still usable.
fn read<T>(s: &RwLock<State<T>>) -> RwLockReadGuard<'_, State<T>> {
    s.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(s: &RwLock<State<T>>) -> RwLockWriteGuard<'_, State<T>> {
    s.write().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn obj(ns: Option<&str>, name: &str, v: i64) -> DynamicObject {
        let mut o: DynamicObject =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "v": v}))
                .unwrap();
        o.metadata.namespace = ns.map(str::to_string);
        o
    }

    #[tokio::test]
    async fn lists_relists_updates_and_deletes() {
        use watcher::Event::*;
        let events = vec![
            Init,
            InitApply(obj(Some("a"), "x", 1)),
            InitApply(obj(None, "y", 2)),
            InitDone,
            Apply(obj(Some("a"), "x", 3)),
            Apply(obj(Some("a"), "dropped", -1)),
            Delete(obj(None, "y", 2)),
            // A relist replaces everything once it is complete.
            Init,
            InitApply(obj(Some("b"), "z", 4)),
            InitDone,
        ];
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let cache: Compact<i64> = Compact::start(
            "test".into(),
            rx,
            |o: DynamicObject| o.data["v"].as_i64().filter(|v| *v >= 0),
            move |k: &ObjKey, _: &i64| s.lock().unwrap().push(k.1.clone()),
        );
        let step = |e: watcher::Event<DynamicObject>| tx.unbounded_send(Ok(e)).unwrap();
        let mut events = events.into_iter();
        for e in events.by_ref().take(2) {
            step(e);
        }
        // Listed objects can be read before the list is complete.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(cache.get(Some("a"), "x").as_deref(), Some(&1));
        assert!(cache.keys().is_empty());
        for e in events.by_ref().take(2) {
            step(e);
        }
        cache.wait_ready().await;
        assert_eq!(cache.get(Some("a"), "x").as_deref(), Some(&1));
        assert_eq!(cache.get(None, "y").as_deref(), Some(&2));
        for e in events.by_ref().take(3) {
            step(e);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(cache.get(Some("a"), "x").as_deref(), Some(&3));
        assert_eq!(cache.get(None, "y"), None);
        assert_eq!(cache.keys().len(), 1);
        for e in events {
            step(e);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(cache.keys(), vec![(Some("b".to_string()), "z".to_string())]);
        assert_eq!(*seen.lock().unwrap(), ["x", "y", "x", "z"]);
    }
}
