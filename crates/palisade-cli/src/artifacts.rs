//! What mutate and generate rules leave behind besides rule responses, and the pretend cluster
//! they read clone sources and mutate-existing targets from.

use std::path::{Path, PathBuf};

use anyhow::Result;
use palisade_api::cli::Test;
use palisade_engine::ports::{ApiCallRequest, ContextSource, Lookup};
use palisade_engine::{Generated, PatchedTarget};
use serde_json::Value;

use crate::files;
use crate::source::default_namespace;

/// The resources one policy produced for one resource.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    /// The resource after the policy's mutate rules (set for mutate outcomes).
    pub patched: Option<Value>,
    /// Existing objects the policy's mutate-existing rules changed.
    pub targets: Vec<PatchedTarget>,
    /// The downstream resources the policy's generate rules ask for.
    pub generated: Vec<Generated>,
}

/// A context source that also answers reads of cluster objects from a fixed list (target
/// resources, clone sources, cluster resources), deferring everything else to `inner`.
pub struct ClusterView<'a> {
    /// The source for values, config maps and API calls.
    pub inner: &'a dyn ContextSource,
    /// The objects of the pretend cluster.
    pub objects: Vec<&'a Value>,
}

fn text<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl ClusterView<'_> {
    fn of_kind<'s>(
        &'s self,
        api_version: &'s str,
        kind: &'s str,
    ) -> impl Iterator<Item = &'s Value> + 's {
        self.objects.iter().copied().filter(move |o| {
            (api_version.is_empty() || text(o, "/apiVersion") == api_version)
                && text(o, "/kind") == kind
        })
    }
}

impl ContextSource for ClusterView<'_> {
    fn config_map(&self, namespace: &str, name: &str) -> Lookup {
        self.inner.config_map(namespace, name)
    }
    fn api_call(&self, request: &ApiCallRequest) -> Lookup {
        self.inner.api_call(request)
    }
    fn global_context(&self, name: &str) -> Lookup {
        self.inner.global_context(name)
    }
    fn image_data(&self, reference: &str) -> Lookup {
        self.inner.image_data(reference)
    }
    fn rule_values(&self, policy: &str, rule: &str) -> Vec<(String, Value)> {
        self.inner.rule_values(policy, rule)
    }
    fn foreach_values(&self, policy: &str, rule: &str, index: usize) -> Vec<(String, Value)> {
        self.inner.foreach_values(policy, rule, index)
    }
    fn get_resource(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Lookup {
        let found = self.of_kind(api_version, kind).find(|o| {
            text(o, "/metadata/name") == name && text(o, "/metadata/namespace") == namespace
        });
        match found {
            Some(o) => Lookup::Found(o.clone()),
            None if namespace.is_empty() => Lookup::Failed(format!("{kind} \"{name}\" not found")),
            None => Lookup::Failed(format!(
                "{kind} \"{name}\" not found in namespace {namespace}"
            )),
        }
    }
    fn list_resources(&self, api_version: &str, kind: &str, namespace: &str) -> Lookup {
        let items: Vec<Value> = self
            .of_kind(api_version, kind)
            .filter(|o| namespace.is_empty() || text(o, "/metadata/namespace") == namespace)
            .cloned()
            .collect();
        Lookup::Found(Value::Array(items))
    }
}

/// Clone sources with the name of the policy they are for.
pub type CloneSources = Vec<(String, Value)>;

/// A test's mutate-existing targets (`targetResources`) and clone sources
/// (`cloneSourceResource` of its results, by policy name).
pub fn test_objects(
    dir: &Path,
    test: &Test,
    cluster_kinds: &[String],
) -> Result<(Vec<Value>, CloneSources)> {
    let paths: Vec<PathBuf> = test.target_resources.iter().map(|p| dir.join(p)).collect();
    let mut targets = files::load_resources(&paths)?;
    for t in &mut targets {
        default_namespace(t, cluster_kinds);
    }
    let mut sources = Vec::new();
    for result in &test.results {
        let Some(file) = result.clone_source_resource.as_deref() else {
            continue;
        };
        let policy = result.policy.rsplit('/').next().unwrap_or_default();
        for mut doc in files::load_resources(&[dir.join(file)])? {
            default_namespace(&mut doc, cluster_kinds);
            sources.push((policy.to_string(), doc));
        }
    }
    Ok((targets, sources))
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_engine::NoContext;
    use serde_json::json;

    #[test]
    fn reads_objects_by_identity_and_lists_by_kind() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a", "namespace": "x"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b", "namespace": "y"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}),
        ];
        let view = ClusterView {
            inner: &NoContext,
            objects: objects.iter().collect(),
        };
        assert!(matches!(
            view.get_resource("v1", "Secret", "x", "a"),
            Lookup::Found(_)
        ));
        assert!(matches!(
            view.get_resource("v1", "Secret", "y", "a"),
            Lookup::Failed(_)
        ));
        assert!(matches!(
            view.get_resource("v1", "Namespace", "", "x"),
            Lookup::Found(_)
        ));
        let Lookup::Found(Value::Array(all)) = view.list_resources("v1", "Secret", "") else {
            panic!("a list");
        };
        assert_eq!(all.len(), 2);
        let Lookup::Found(Value::Array(in_y)) = view.list_resources("", "Secret", "y") else {
            panic!("a list");
        };
        assert_eq!(in_y.len(), 1);
    }
}
