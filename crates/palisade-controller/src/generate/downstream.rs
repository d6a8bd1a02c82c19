//! Watches of the resources synchronized generate rules created, by Kyverno's labels: a
//! change or deletion of one queues its rule and trigger for generation again, which restores
//! it (or removes it when its trigger is gone).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use palisade_engine::generate::labels;
use tokio::task::JoinHandle;

use super::Job;
use super::rules::Origin;
use crate::kinds::WatchKind;
use crate::queue::WorkQueue;

struct Running {
    store: Store<DynamicObject>,
    task: JoinHandle<()>,
}

/// The running downstream watches.
pub struct Downstream {
    client: Client,
    queue: Arc<WorkQueue<Job>>,
    running: Mutex<HashMap<WatchKind, Running>>,
}

impl Downstream {
    /// No watches yet; events queue [`Job::Resync`] on `queue`.
    pub fn new(client: Client, queue: Arc<WorkQueue<Job>>) -> Downstream {
        Downstream {
            client,
            queue,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Watches exactly `wanted`.
    pub fn reconcile(&self, wanted: &BTreeSet<WatchKind>) {
        let mut running = self.lock();
        running.retain(|kind, r| {
            let keep = wanted.contains(kind);
            if !keep {
                tracing::info!(kind = %kind, "stopping the watch of generated resources");
                r.task.abort();
            }
            keep
        });
        for kind in wanted {
            if running.contains_key(kind) {
                continue;
            }
            tracing::info!(kind = %kind, "watching generated resources (synchronize)");
            running.insert(kind.clone(), self.start(kind));
        }
    }

    fn start(&self, kind: &WatchKind) -> Running {
        let ar = kind.api_resource();
        let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
        let store = writer.as_reader();
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
        let config = watcher::Config::default().labels(labels::POLICY_NAME);
        let stream = watcher(api, config)
            .default_backoff()
            .modify(|o: &mut DynamicObject| o.metadata.managed_fields = None)
            .reflect(writer);
        let queue = self.queue.clone();
        let name = kind.to_string();
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                let obj = match event {
                    Ok(
                        watcher::Event::Apply(o)
                        | watcher::Event::InitApply(o)
                        | watcher::Event::Delete(o),
                    ) => o,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(kind = %name, error = %e, "watch of generated resources failed; retrying");
                        continue;
                    }
                };
                if let Some(origin) = Origin::of(obj.labels()) {
                    queue.push(Job::Resync(origin));
                }
            }
        });
        Running { store, task }
    }

    /// The origins of every cached generated resource of `policy` (to regenerate them after
    /// the policy changed).
    pub fn origins_of(&self, policy: &str) -> BTreeSet<Origin> {
        let running = self.lock();
        running
            .values()
            .flat_map(|r| r.store.state())
            .filter_map(|o| Origin::of(o.labels()))
            .filter(|o| o.policy == policy)
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<WatchKind, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}
