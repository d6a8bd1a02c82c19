//! The parameters of ValidatingAdmissionPolicies, cached: one watch per `paramKind` that a
//! loaded binding's `paramRef` can select, so a background scan reads them from memory
//! instead of asking the API server once per scanned resource and bound policy.
//!
//! [`ParamCache`] answers [`CelData`] reads of a watched kind from its cache once the kind
//! is listed, and everything else (a kind not listed yet, Kyverno's `resource` library on
//! other kinds) live through [`ClusterData`]. A change of a cached parameter is announced on
//! the channel [`ParamCache::new`] returns, so the controller can rescan what the policies
//! bound to it decide.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use palisade_admission::PolicySet;
use palisade_celpolicy::CelData;
use palisade_engine::validate::cel::gvr;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::celdata::ClusterData;

/// A parameter kind as the CEL data port names it: `apiVersion` and plural resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParamKind {
    /// `v1`, `example.io/v1`.
    pub api_version: String,
    /// The plural resource (`configmaps`).
    pub resource: String,
    /// The kind (`ConfigMap`).
    pub kind: String,
}

impl ParamKind {
    /// The kind a policy's `paramKind` names, with the plural the evaluation reads it by.
    pub fn of(api_version: &str, kind: &str) -> ParamKind {
        let (group, _) = gvr::split_api_version(api_version);
        ParamKind {
            api_version: api_version.to_string(),
            resource: gvr::resource_for(group, kind),
            kind: kind.to_string(),
        }
    }

    fn api_resource(&self) -> ApiResource {
        crate::discovery::api_resource(&self.api_version, &self.kind, &self.resource)
    }

    /// True when a policy's `paramKind` names this kind.
    pub fn is(&self, api_version: &str, kind: &str) -> bool {
        self.api_version == api_version && self.kind == kind
    }
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.api_version, self.kind)
    }
}

/// The parameter kinds of `set`: those of policies with a binding that has a `paramRef`
/// (a policy's `paramKind` alone selects nothing).
pub fn param_kinds(set: &PolicySet) -> BTreeSet<ParamKind> {
    set.admission_policies()
        .iter()
        .filter(|b| b.bindings.iter().any(|b| b.spec.param_ref.is_some()))
        .filter_map(|b| b.policy.policy.spec.param_kind.as_ref())
        .filter(|k| !k.kind.is_empty() && !k.api_version.is_empty())
        .map(|k| ParamKind::of(&k.api_version, &k.kind))
        .collect()
}

struct Watch {
    store: Store<DynamicObject>,
    /// Set once the first list is in the store: reads fall back to the API server before.
    listed: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

/// Cached parameters (see the module documentation).
pub struct ParamCache {
    client: Client,
    live: ClusterData,
    watches: Mutex<HashMap<ParamKind, Watch>>,
    changes: mpsc::UnboundedSender<ParamKind>,
}

impl fmt::Debug for ParamCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ParamCache")
    }
}

impl ParamCache {
    /// No kinds watched yet; call it inside the runtime. The receiver hears of every change of
    /// a cached parameter (after its kind's first list).
    pub fn new(client: Client) -> (ParamCache, mpsc::UnboundedReceiver<ParamKind>) {
        let (changes, rx) = mpsc::unbounded_channel();
        let cache = ParamCache {
            live: ClusterData::new(client.clone()),
            client,
            watches: Mutex::new(HashMap::new()),
            changes,
        };
        (cache, rx)
    }

    /// Watches exactly the parameter kinds of `set`.
    pub fn reconcile(&self, set: &PolicySet) {
        let wanted = param_kinds(set);
        let mut watches = self.lock();
        watches.retain(|k, w| {
            let keep = wanted.contains(k);
            if !keep {
                tracing::info!(kind = %k, "stopping the watch of admission policy parameters");
                w.task.abort();
            }
            keep
        });
        for k in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = watches.entry(k) {
                tracing::info!(kind = %slot.key(), "watching admission policy parameters");
                let w = self.start(slot.key());
                slot.insert(w);
            }
        }
    }

    /// The watched kinds.
    pub fn kinds(&self) -> BTreeSet<ParamKind> {
        self.lock().keys().cloned().collect()
    }

    fn start(&self, kind: &ParamKind) -> Watch {
        let ar = kind.api_resource();
        let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
        let store = writer.as_reader();
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|o: &mut DynamicObject| o.metadata.managed_fields = None)
            .reflect(writer);
        let listed = Arc::new(AtomicBool::new(false));
        let (flag, changes, kind) = (listed.clone(), self.changes.clone(), kind.clone());
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) => {
                        let _ = changes.send(kind.clone());
                    }
                    Ok(watcher::Event::InitDone) => {
                        // A re-list after the first may hide changes missed meanwhile.
                        if flag.swap(true, Ordering::AcqRel) {
                            let _ = changes.send(kind.clone());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(kind = %kind, error = %e, "watch of admission policy parameters failed; retrying")
                    }
                }
            }
        });
        Watch {
            store,
            listed,
            task,
        }
    }

    /// The store of a listed kind.
    fn cached(
        &self,
        api_version: &str,
        resource: &str,
    ) -> Option<(Store<DynamicObject>, ParamKind)> {
        let watches = self.lock();
        watches
            .iter()
            .find(|(k, _)| k.api_version == api_version && k.resource == resource)
            .filter(|(_, w)| w.listed.load(Ordering::Acquire))
            .map(|(k, w)| (w.store.clone(), k.clone()))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ParamKind, Watch>> {
        self.watches.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ParamCache {
    fn drop(&mut self) {
        for w in self.lock().values() {
            w.task.abort();
        }
    }
}

/// A cached object as a live read returns it: with its apiVersion and kind.
fn to_json(obj: &DynamicObject, api_version: &str, kind: &str) -> Result<Value, String> {
    let mut v = serde_json::to_value(obj).map_err(|e| e.to_string())?;
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(api_version.to_string()));
        m.insert("kind".into(), Value::String(kind.to_string()));
    }
    Ok(v)
}

impl CelData for ParamCache {
    fn get_resource(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        let Some((store, kind)) = self.cached(api_version, resource) else {
            return self
                .live
                .get_resource(api_version, resource, namespace, name);
        };
        // Keys of the store carry the ApiResource its writer was made with.
        let mut key = ObjectRef::new_with(name, kind.api_resource());
        if !namespace.is_empty() {
            key = key.within(namespace);
        }
        match store.get(&key) {
            Some(obj) => to_json(&obj, api_version, &kind.kind),
            None => Err(palisade_celpolicy::libs::resource_not_found(resource, name)),
        }
    }

    fn list_resources(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<Value, String> {
        let Some((store, kind)) = self.cached(api_version, resource) else {
            return self.live.list_resources(api_version, resource, namespace);
        };
        let mut objects: Vec<Arc<DynamicObject>> = store
            .state()
            .into_iter()
            .filter(|o| namespace.is_empty() || o.metadata.namespace.as_deref() == Some(namespace))
            .collect();
        // The API server lists by namespace and name; so does the cache, for the same result.
        objects.sort_by(|a, b| {
            (&a.metadata.namespace, &a.metadata.name)
                .cmp(&(&b.metadata.namespace, &b.metadata.name))
        });
        let items = objects
            .iter()
            .map(|o| to_json(o, api_version, &kind.kind))
            .collect::<Result<Vec<Value>, String>>()?;
        Ok(serde_json::json!({"apiVersion": api_version, "kind": "List", "items": items}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_admission::compile_document;
    use serde_json::json;

    fn entry(doc: Value) -> palisade_admission::Entry {
        compile_document("t", 1, &doc).unwrap()
    }

    fn vap(name: &str, param_kind: Option<Value>) -> Value {
        let mut spec = json!({"matchConstraints": {"resourceRules": [{"apiGroups": [""],
            "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]},
            "validations": [{"expression": "true"}]});
        if let Some(k) = param_kind {
            spec["paramKind"] = k;
        }
        json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name}, "spec": spec})
    }

    fn binding(name: &str, policy: &str, param_ref: Option<Value>) -> Value {
        let mut spec = json!({"policyName": policy, "validationActions": ["Audit"]});
        if let Some(r) = param_ref {
            spec["paramRef"] = r;
        }
        json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name}, "spec": spec})
    }

    #[test]
    fn only_kinds_a_binding_selects_are_watched() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        let widget = json!({"apiVersion": "example.io/v1", "kind": "Widget"});
        let set = PolicySet::new([
            entry(vap("bound", Some(cm))),
            entry(binding(
                "b1",
                "bound",
                Some(json!({"name": "p", "namespace": "n"})),
            )),
            entry(vap("unbound", Some(widget.clone()))),
            entry(vap("no-ref", Some(widget))),
            entry(binding("b2", "no-ref", None)),
            entry(vap("plain", None)),
            entry(binding("b3", "plain", None)),
        ]);
        let kinds: Vec<ParamKind> = param_kinds(&set).into_iter().collect();
        assert_eq!(
            kinds,
            [ParamKind {
                api_version: "v1".into(),
                resource: "configmaps".into(),
                kind: "ConfigMap".into(),
            }]
        );
        assert!(kinds[0].is("v1", "ConfigMap"));
        assert_eq!(kinds[0].to_string(), "v1/ConfigMap");
    }

    fn config_map(namespace: &str, name: &str, banned: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": namespace}, "data": {"banned": banned}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn listed_kinds_are_read_from_the_cache() {
        // Nothing listens there: a read that reached the API server would fail.
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let (cache, _changes) = ParamCache::new(Client::try_from(config).unwrap());
        let kind = ParamKind::of("v1", "ConfigMap");
        let mut writer = reflector::store::Writer::<DynamicObject>::new(kind.api_resource());
        for o in [
            config_map("params", "b", "token"),
            config_map("params", "a", "password"),
            config_map("other", "c", "key"),
        ] {
            writer.apply_watcher_event(&watcher::Event::Apply(o));
        }
        cache.lock().insert(
            kind,
            Watch {
                store: writer.as_reader(),
                listed: Arc::new(AtomicBool::new(true)),
                task: tokio::spawn(async {}),
            },
        );
        let one = cache
            .get_resource("v1", "configmaps", "params", "a")
            .unwrap();
        assert_eq!(one["data"]["banned"], "password");
        assert_eq!(one["kind"], "ConfigMap");
        let missing = cache.get_resource("v1", "configmaps", "params", "c");
        assert_eq!(
            missing.unwrap_err(),
            "failed to get resource: configmaps \"c\" not found"
        );
        let list = cache.list_resources("v1", "configmaps", "params").unwrap();
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b"]);
        let all = cache.list_resources("v1", "configmaps", "").unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn cached_objects_read_like_live_ones() {
        let obj: DynamicObject = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "n"}, "data": {"banned": "password"}
        }))
        .unwrap();
        let v = to_json(&obj, "v1", "ConfigMap").unwrap();
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["kind"], "ConfigMap");
        assert_eq!(v["data"]["banned"], "password");
        assert_eq!(v["metadata"]["namespace"], "n");
    }
}
