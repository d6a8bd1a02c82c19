//! Namespaces, for the namespace labels and objects policies read, and to rescan a namespace's
//! resources when its labels change (a `namespaceSelector` may now match, or not).
//!
//! The store is updated before the change is announced, so a rescan sees the new labels.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use palisade_admission::ClusterView;
use serde_json::Value;
use tokio::sync::mpsc;

/// A [`ClusterView`] of Namespaces from a watch cache.
pub struct Namespaces {
    store: Store<Namespace>,
}

impl Namespaces {
    /// Starts the watch; the receiver gets the name of every namespace whose labels change.
    pub fn start(client: Client) -> (Arc<Namespaces>, mpsc::UnboundedReceiver<String>) {
        let (store, writer) = reflector::store::<Namespace>();
        let (tx, rx) = mpsc::unbounded_channel();
        let stream = watcher(Api::<Namespace>::all(client), watcher::Config::default())
            .default_backoff()
            .modify(|n: &mut Namespace| n.metadata.managed_fields = None)
            .reflect(writer);
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            let mut labels = LabelChanges::default();
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::Apply(n) | watcher::Event::InitApply(n)) => {
                        if labels.changed(&n.name_any(), n.labels())
                            && tx.send(n.name_any()).is_err()
                        {
                            return;
                        }
                    }
                    Ok(watcher::Event::Delete(n)) => labels.forget(&n.name_any()),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "namespace watch failed; retrying"),
                }
            }
        });
        (Arc::new(Namespaces { store }), rx)
    }

    /// Waits until the namespaces have been listed once.
    pub async fn wait_synced(&self) {
        let _ = self.store.wait_until_ready().await;
    }
}

impl ClusterView for Namespaces {
    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        let ns = self.store.get(&ObjectRef::new(namespace))?;
        Some(ns.labels().clone())
    }

    fn namespace(&self, namespace: &str) -> Option<Value> {
        let ns = self.store.get(&ObjectRef::new(namespace))?;
        serde_json::to_value(&*ns).ok()
    }
}

/// The labels last seen per namespace.
#[derive(Debug, Default)]
pub struct LabelChanges {
    seen: HashMap<String, BTreeMap<String, String>>,
}

impl LabelChanges {
    /// Records `labels` for `name`; true when they differ from those seen before (a namespace
    /// seen for the first time is not a change: its resources are scanned anyway).
    pub fn changed(&mut self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        match self.seen.insert(name.to_string(), labels.clone()) {
            Some(before) => before != *labels,
            None => false,
        }
    }

    /// Forgets a deleted namespace.
    pub fn forget(&mut self, name: &str) {
        self.seen.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_label_changes_of_known_namespaces_count() {
        let mut c = LabelChanges::default();
        assert!(!c.changed("a", &labels(&[("team", "x")])), "first sight");
        assert!(!c.changed("a", &labels(&[("team", "x")])), "same labels");
        assert!(c.changed("a", &labels(&[("team", "y")])));
        assert!(c.changed("a", &labels(&[])));
        assert!(!c.changed("b", &labels(&[])));
        c.forget("a");
        assert!(!c.changed("a", &labels(&[("team", "z")])), "recreated");
    }
}
