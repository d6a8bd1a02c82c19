//! Watches of the clone sources of synchronized `clone` and `cloneList` rules, as Kyverno
//! keeps them: a changed source is copied again to its downstream resources ([`Job::SourceChanged`]),
//! a deleted one takes its copies with it ([`Job::SourceGone`]).
//!
//! Only the kinds the loaded rules clone are watched, each in the source namespace the rule
//! names (every namespace when it is a variable) and, for `clone`, by name (a field selector)
//! when the name is written without variables.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use palisade_admission::PolicySet;
use palisade_api::Rule;
use tokio::task::JoinHandle;

use super::Job;
use super::cluster::split_api_version;
use super::rules;
use crate::kinds::WatchKind;
use crate::queue::WorkQueue;

/// Where a synchronized rule clones from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    /// The policy key.
    pub policy: String,
    /// The rule.
    pub rule: String,
    /// The source's apiVersion.
    pub api_version: String,
    /// The source's kind.
    pub kind: String,
    /// The source namespace (`Some("")` for a cluster-scoped source; `None` when written with
    /// variables: any namespace).
    pub namespace: Option<String>,
    /// The source name (`None`: any, for `cloneList` or a name with variables).
    pub name: Option<String>,
}

impl Source {
    /// True when `obj` (of this source's kind) may be this source.
    fn covers(&self, namespace: &str, name: &str) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == namespace)
            && self.name.as_deref().is_none_or(|n| n == name)
    }
}

/// A deleted source object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRef {
    /// apiVersion.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (`""` when cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
}

fn fixed(value: Option<&String>) -> Option<String> {
    match value {
        Some(v) if v.contains("{{") => None,
        Some(v) => Some(v.clone()),
        None => Some(String::new()),
    }
}

/// The clone sources of `rule` of the policy `key` when it synchronizes (none otherwise:
/// Kyverno leaves unsynchronized copies alone). Kinds written with variables cannot be
/// watched in advance and are left out.
pub fn sources(key: &str, rule: &Rule) -> Vec<Source> {
    let mut out = Vec::new();
    let Some(g) = rule.generate.as_ref().filter(|_| rules::synchronizes(rule)) else {
        return out;
    };
    let source = |api_version: &str, kind: &str, namespace, name| Source {
        policy: key.to_string(),
        rule: rule.name.clone(),
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        namespace,
        name,
    };
    let blocks = std::iter::once((
        g.api_version.as_ref(),
        g.kind.as_ref(),
        &g.clone,
        &g.clone_list,
    ))
    .chain(g.foreach.iter().flatten().map(|f| {
        (
            f.api_version.as_ref(),
            f.kind.as_ref(),
            &f.clone,
            &f.clone_list,
        )
    }));
    for (api_version, kind, clone, clone_list) in blocks {
        if let (Some(c), Some(a), Some(k)) = (clone, api_version, kind)
            && !a.contains("{{")
            && !k.contains("{{")
        {
            let name = c.name.as_ref().filter(|n| !n.contains("{{")).cloned();
            out.push(source(a, k, fixed(c.namespace.as_ref()), name));
        }
        let Some(list) = clone_list else {
            continue;
        };
        // As `rules::downstream_kinds` reads them: `apiVersion/Kind`, without variables.
        let kinds = list.kinds.iter().flatten().filter(|k| !k.contains("{{"));
        for (a, k) in kinds.filter_map(|k| k.rsplit_once('/')) {
            out.push(source(a, k, fixed(list.namespace.as_ref()), None));
        }
    }
    out
}

/// Every clone source of the set's synchronized rules.
pub fn all_sources(set: &PolicySet) -> BTreeSet<Source> {
    set.policies()
        .iter()
        .flat_map(|p| {
            let key = p.name();
            p.rules
                .iter()
                .flat_map(move |r| sources(&key, r))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One watch: a kind in one namespace (`None`: all), optionally one name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceWatch {
    /// The kind.
    pub kind: WatchKind,
    /// The namespace; `None` watches every namespace (and cluster-scoped kinds).
    pub namespace: Option<String>,
    /// One object's name, or every object.
    pub name: Option<String>,
}

impl SourceWatch {
    /// The watch that sees `source` (of kind `kind`).
    pub fn of(source: &Source, kind: WatchKind) -> SourceWatch {
        SourceWatch {
            kind,
            namespace: source.namespace.clone().filter(|n| !n.is_empty()),
            name: source.name.clone(),
        }
    }
}

impl std::fmt::Display for SourceWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} in {} named {}",
            self.kind,
            self.namespace.as_deref().unwrap_or("*"),
            self.name.as_deref().unwrap_or("*")
        )
    }
}

/// The running source watches and the sources they serve.
pub struct Sources {
    client: Client,
    queue: Arc<WorkQueue<Job>>,
    /// Sources by the watch that sees them; read by the watch tasks on every event.
    wanted: Arc<RwLock<BTreeMap<SourceWatch, Vec<Source>>>>,
    running: Mutex<HashMap<SourceWatch, JoinHandle<()>>>,
}

impl Sources {
    /// No watches yet; events queue jobs on `queue`.
    pub fn new(client: Client, queue: Arc<WorkQueue<Job>>) -> Sources {
        Sources {
            client,
            queue,
            wanted: Arc::new(RwLock::new(BTreeMap::new())),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Watches exactly what `wanted` needs.
    pub fn reconcile(&self, wanted: BTreeMap<SourceWatch, Vec<Source>>) {
        let mut running = self.lock();
        running.retain(|w, task| {
            let keep = wanted.contains_key(w);
            if !keep {
                tracing::info!(watch = %w, "stopping the watch of clone sources");
                task.abort();
            }
            keep
        });
        for w in wanted.keys() {
            if !running.contains_key(w) {
                tracing::info!(watch = %w, "watching clone sources (synchronize)");
                running.insert(w.clone(), self.start(w));
            }
        }
        *self.wanted.write().unwrap_or_else(|e| e.into_inner()) = wanted;
    }

    fn start(&self, w: &SourceWatch) -> JoinHandle<()> {
        let ar = w.kind.api_resource();
        let api: Api<DynamicObject> = match &w.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        };
        let mut config = watcher::Config::default();
        if let Some(name) = &w.name {
            config = config.fields(&format!("metadata.name={name}"));
        }
        // Nothing is cached: an event is all a source change needs.
        let stream = watcher(api, config).default_backoff();
        let queue = self.queue.clone();
        let wanted = self.wanted.clone();
        let watch = w.clone();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                // The initial list is not a change: a new policy or leader regenerates its
                // downstream anyway.
                let (obj, deleted) = match event {
                    Ok(watcher::Event::Apply(o)) => (o, false),
                    Ok(watcher::Event::Delete(o)) => (o, true),
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(watch = %watch, error = %e, "watch of clone sources failed; retrying");
                        continue;
                    }
                };
                let namespace = obj.namespace().unwrap_or_default();
                let name = obj.name_any();
                let sources = wanted.read().unwrap_or_else(|e| e.into_inner());
                for s in sources
                    .get(&watch)
                    .into_iter()
                    .flatten()
                    .filter(|s| s.covers(&namespace, &name))
                {
                    queue.push(job(s, &watch.kind, &namespace, &name, deleted));
                }
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SourceWatch, JoinHandle<()>>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn job(s: &Source, kind: &WatchKind, namespace: &str, name: &str, deleted: bool) -> Job {
    if deleted {
        Job::SourceGone {
            policy: s.policy.clone(),
            rule: s.rule.clone(),
            source: SourceRef {
                api_version: kind.api_version(),
                kind: kind.kind.clone(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
        }
    } else {
        Job::SourceChanged {
            policy: s.policy.clone(),
            rule: s.rule.clone(),
        }
    }
}

/// The label selector of the copies of `source` made by `rule` of `policy`.
pub fn copies_selector(policy_key: &str, rule: &str, source: &SourceRef) -> String {
    use palisade_engine::generate::labels;
    let (group, version) = split_api_version(&source.api_version);
    let mut s = rules::selector(policy_key, rule, None);
    for (k, v) in [
        (labels::SOURCE_GROUP, group),
        (labels::SOURCE_VERSION, version),
        (labels::SOURCE_KIND, source.kind.as_str()),
        (labels::SOURCE_NAMESPACE, source.namespace.as_str()),
        (labels::SOURCE_NAME, source.name.as_str()),
    ] {
        // An empty value (the core group, a cluster-scoped source) cannot be written as
        // `key=`; such labels are checked on the listed objects instead.
        if !v.is_empty() {
            s.push_str(&format!(",{k}={v}"));
        }
    }
    s
}

/// True when a listed copy's source labels name `source` (empty values included).
pub fn is_copy_of(labels: &BTreeMap<String, String>, source: &SourceRef) -> bool {
    use palisade_engine::generate::labels;
    let (group, version) = split_api_version(&source.api_version);
    let get = |k: &str| labels.get(k).map(String::as_str).unwrap_or_default();
    get(labels::SOURCE_GROUP) == group
        && get(labels::SOURCE_VERSION) == version
        && get(labels::SOURCE_KIND) == source.kind
        && get(labels::SOURCE_NAMESPACE) == source.namespace
        && get(labels::SOURCE_NAME) == source.name
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_admission::compile_document;
    use serde_json::json;

    fn set(rules: serde_json::Value) -> PolicySet {
        let doc = json!({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
            "metadata": {"name": "p"}, "spec": {"rules": rules}});
        PolicySet::new([compile_document("t", 1, &doc).unwrap()])
    }

    fn rule(name: &str, sync: bool, generate: serde_json::Value) -> serde_json::Value {
        let mut g = generate;
        g["synchronize"] = json!(sync);
        json!({"name": name, "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
            "generate": g})
    }

    #[test]
    fn synchronized_clones_name_their_sources() {
        let s = set(json!([
            rule(
                "one",
                true,
                json!({"apiVersion": "v1", "kind": "Secret", "name": "regcred",
                "namespace": "{{ request.object.metadata.name }}",
                "clone": {"namespace": "default", "name": "regcred"}})
            ),
            rule(
                "list",
                true,
                json!({"namespace": "{{ request.object.metadata.name }}",
                "cloneList": {"namespace": "staging", "kinds": ["v1/Secret", "v1/ConfigMap"],
                    "selector": {"matchLabels": {"allowedToBeCloned": "true"}}}})
            ),
            rule(
                "var",
                true,
                json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "c",
                "namespace": "{{ request.object.metadata.name }}",
                "clone": {"namespace": "{{ request.object.metadata.labels.from }}",
                    "name": "{{ request.object.metadata.labels.cm }}"}})
            ),
            rule(
                "unsynced",
                false,
                json!({"apiVersion": "v1", "kind": "Secret", "name": "s",
                "namespace": "{{ request.object.metadata.name }}",
                "clone": {"namespace": "default", "name": "s"}})
            ),
            rule(
                "data",
                true,
                json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "d",
                "namespace": "{{ request.object.metadata.name }}", "data": {}})
            ),
        ]));
        let got: Vec<(String, String, Option<String>, Option<String>)> = all_sources(&s)
            .into_iter()
            .map(|s| (s.rule, s.kind, s.namespace, s.name))
            .collect();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            got,
            [
                ("list".into(), "ConfigMap".into(), some("staging"), None),
                ("list".into(), "Secret".into(), some("staging"), None),
                (
                    "one".into(),
                    "Secret".into(),
                    some("default"),
                    some("regcred")
                ),
                ("var".into(), "ConfigMap".into(), None, None),
            ]
        );
    }

    #[test]
    fn copies_are_found_by_their_source_labels() {
        let source = SourceRef {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: "default".into(),
            name: "regcred".into(),
        };
        assert_eq!(
            copies_selector("p", "r", &source),
            "generate.kyverno.io/policy-name=p,generate.kyverno.io/rule-name=r,\
             generate.kyverno.io/source-version=v1,generate.kyverno.io/source-kind=Secret,\
             generate.kyverno.io/source-namespace=default,generate.kyverno.io/source-name=regcred"
        );
        let mut labels: BTreeMap<String, String> = [
            ("generate.kyverno.io/source-group", ""),
            ("generate.kyverno.io/source-version", "v1"),
            ("generate.kyverno.io/source-kind", "Secret"),
            ("generate.kyverno.io/source-namespace", "default"),
            ("generate.kyverno.io/source-name", "regcred"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(is_copy_of(&labels, &source));
        labels.insert("generate.kyverno.io/source-group".into(), "apps".into());
        assert!(!is_copy_of(&labels, &source));
        let watch = SourceWatch::of(
            &Source {
                policy: "p".into(),
                rule: "r".into(),
                api_version: "v1".into(),
                kind: "Secret".into(),
                namespace: Some(String::new()),
                name: None,
            },
            WatchKind {
                group: String::new(),
                version: "v1".into(),
                kind: "Secret".into(),
                plural: "secrets".into(),
            },
        );
        assert_eq!(watch.namespace, None);
    }
}
