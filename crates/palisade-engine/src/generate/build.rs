//! The desired downstream resources of one generate pattern (`data`, `clone` or `cloneList`),
//! after variable substitution (Kyverno's `generator.generate`, `manageData`, `manageClone`,
//! `manageCloneList`).

use palisade_api::generate::{CloneFrom, CloneList};
use palisade_api::meta::LabelSelector;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::labels::label_clone;
use crate::EvalEnv;
use crate::context::EvalContext;
use crate::matching::{labels_of, name_of, namespace_of, selector_matches};
use crate::ports::Lookup;
use crate::variables::{Mode, Resolver, substitute_all};

/// A generate pattern: the fields shared by a rule and its foreach blocks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pattern {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub clone: Option<CloneFrom>,
    #[serde(default)]
    pub clone_list: Option<CloneList>,
}

/// Where a resource goes (or comes from).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Spec {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Spec {
    fn describe(&self) -> String {
        match self.namespace.as_str() {
            "" => format!("{}/{} {}", self.api_version, self.kind, self.name),
            ns => format!("{}/{} {ns}/{}", self.api_version, self.kind, self.name),
        }
    }
}

/// Substitutes the pattern's variables (strictly) and builds its resources. Each resource is
/// complete but not yet labelled.
pub(crate) fn desired(
    raw: &Value,
    env: &EvalEnv<'_>,
    ctx: &EvalContext,
) -> Result<Vec<Value>, String> {
    let r = Resolver {
        ctx,
        cache: env.cache,
        clock: env.clock,
        mode: Mode::Strict,
    };
    let substituted =
        substitute_all(raw, &r).map_err(|e| format!("variable substitution failed: {e}"))?;
    let pattern: Pattern = serde_json::from_value(substituted.into_owned())
        .map_err(|e| format!("invalid generate pattern: {e}"))?;
    let target = Spec {
        api_version: pattern.api_version.clone().unwrap_or_default(),
        kind: pattern.kind.clone().unwrap_or_default(),
        namespace: pattern.namespace.clone().unwrap_or_default(),
        name: pattern.name.clone().unwrap_or_default(),
    };
    if let Some(clone) = pattern
        .clone
        .as_ref()
        .filter(|c| c.name.as_deref().is_some_and(|n| !n.is_empty()))
    {
        let source = Spec {
            api_version: target.api_version.clone(),
            kind: target.kind.clone(),
            namespace: clone.namespace.clone().unwrap_or_default(),
            name: clone.name.clone().unwrap_or_default(),
        };
        return clone_one(&target, &source, false, env).map(|c| c.into_iter().collect());
    }
    if let Some(list) = pattern
        .clone_list
        .as_ref()
        .filter(|l| l.kinds.as_ref().is_some_and(|k| !k.is_empty()))
    {
        return clone_list(&target.namespace, list, env);
    }
    Ok(from_data(&target, pattern.data).into_iter().collect())
}

/// Puts the target's identity on a resource body.
fn place(mut body: Map<String, Value>, target: &Spec) -> Value {
    let meta = body
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(meta) = meta {
        for (key, value) in [("name", &target.name), ("namespace", &target.namespace)] {
            if value.is_empty() {
                meta.remove(key);
            } else {
                meta.insert(key.to_string(), Value::String(value.clone()));
            }
        }
    }
    if body
        .get("kind")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        body.insert("kind".into(), Value::String(target.kind.clone()));
    }
    body.insert(
        "apiVersion".into(),
        Value::String(target.api_version.clone()),
    );
    Value::Object(body)
}

fn from_data(target: &Spec, data: Option<Value>) -> Option<Value> {
    match data {
        Some(Value::Object(body)) => Some(place(body, target)),
        // Kyverno skips a rule whose data is empty.
        _ => None,
    }
}

/// Copies one source object to the target; `None` for a self-clone.
fn clone_one(
    target: &Spec,
    source: &Spec,
    from_list: bool,
    env: &EvalEnv<'_>,
) -> Result<Option<Value>, String> {
    let same_place = source.namespace == target.namespace;
    if same_place && (from_list || source.name == target.name) {
        return Ok(None);
    }
    let object = match env.source.get_resource(
        &source.api_version,
        &source.kind,
        &source.namespace,
        &source.name,
    ) {
        Lookup::Found(o) => o,
        Lookup::Failed(e) => {
            return Err(format!(
                "source resource {} not found: {e}",
                source.describe()
            ));
        }
        Lookup::Unavailable => {
            return Err(format!(
                "source resource {} not found: no cluster data is available",
                source.describe()
            ));
        }
    };
    Ok(Some(copy_of(&object, target)))
}

/// The source object as a new object: server-set fields dropped, source labels added.
fn copy_of(object: &Value, target: &Spec) -> Value {
    let mut copy = object.clone();
    label_clone(&mut copy, object);
    let moved = namespace_of(object) != target.namespace;
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "uid",
            "selfLink",
            "creationTimestamp",
            "managedFields",
            "resourceVersion",
        ] {
            meta.remove(key);
        }
        if moved {
            meta.remove("ownerReferences");
        }
    }
    match copy {
        Value::Object(body) => place(body, target),
        other => other,
    }
}

fn clone_list(
    target_namespace: &str,
    list: &CloneList,
    env: &EvalEnv<'_>,
) -> Result<Vec<Value>, String> {
    let namespace = list.namespace.clone().unwrap_or_default();
    let mut out = Vec::new();
    for kind_selector in list.kinds.iter().flatten() {
        let (api_version, kind) = split_kind(kind_selector);
        let items = match env.source.list_resources(api_version, kind, &namespace) {
            Lookup::Found(Value::Array(items)) => items,
            Lookup::Found(_) | Lookup::Unavailable => Vec::new(),
            Lookup::Failed(e) => {
                return Err(format!(
                    "failed to list source resource for cloneList {api_version} {kind}/{namespace}. {e}"
                ));
            }
        };
        for item in items.iter().filter(|i| selected(i, list.selector.as_ref())) {
            let api = item
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or(api_version);
            let item_kind = item.get("kind").and_then(Value::as_str).unwrap_or(kind);
            let target = Spec {
                api_version: api.to_string(),
                kind: item_kind.to_string(),
                namespace: target_namespace.to_string(),
                name: name_of(item).to_string(),
            };
            let source = Spec {
                namespace: namespace_of(item).to_string(),
                ..target.clone()
            };
            if let Some(copy) = clone_one(&target, &source, true, env)? {
                out.push(copy);
            }
        }
    }
    Ok(out)
}

fn selected(item: &Value, selector: Option<&LabelSelector>) -> bool {
    selector.is_none_or(|s| selector_matches(s, &labels_of(item)))
}

/// `v1/Secret` → (`v1`, `Secret`); `apps/v1/Deployment` → (`apps/v1`, `Deployment`).
fn split_kind(selector: &str) -> (&str, &str) {
    match selector.rsplit_once('/') {
        Some((api, kind)) => (api, kind),
        None => ("", selector),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_split_into_api_version_and_kind() {
        assert_eq!(split_kind("v1/Secret"), ("v1", "Secret"));
        assert_eq!(split_kind("apps/v1/Deployment"), ("apps/v1", "Deployment"));
        assert_eq!(split_kind("ConfigMap"), ("", "ConfigMap"));
    }

    #[test]
    fn data_is_placed_at_the_target() {
        let target = Spec {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: "team".into(),
            name: "defaults".into(),
        };
        let got = from_data(
            &target,
            Some(json!({"data": {"a": "b"}, "metadata": {"labels": {"x": "y"}}})),
        );
        assert_eq!(
            got,
            Some(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"},
                "metadata": {"name": "defaults", "namespace": "team", "labels": {"x": "y"}}})
            )
        );
        assert_eq!(from_data(&target, None), None);
    }

    #[test]
    fn copies_drop_server_fields_and_foreign_owners() {
        let source = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": "regcred", "namespace": "default", "uid": "1", "resourceVersion": "7",
            "creationTimestamp": "2024-01-01T00:00:00Z", "ownerReferences": [{"name": "o"}]},
            "data": {"k": "dg=="}});
        let target = Spec {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: "team".into(),
            name: "regcred".into(),
        };
        let copy = copy_of(&source, &target);
        let meta = copy["metadata"].as_object().unwrap();
        for gone in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "ownerReferences",
        ] {
            assert!(!meta.contains_key(gone), "{gone}");
        }
        assert_eq!(copy["metadata"]["namespace"], "team");
        assert_eq!(copy["data"]["k"], "dg==");
        assert_eq!(
            copy["metadata"]["labels"]["generate.kyverno.io/source-namespace"],
            "default"
        );
    }
}
