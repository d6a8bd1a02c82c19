//! Answers Kubernetes API GET paths from an in-memory list of resources.

use palisade_engine::ports::Lookup;
use serde_json::{Value, json};

/// Answers `/api/v1/...` and `/apis/<group>/<version>/...` paths: a list, or a named object.
pub fn answer(url: &str, cluster: &[Value]) -> Lookup {
    let path = url.split('?').next().unwrap_or(url);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (api_version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => ((*version).to_string(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return Lookup::Failed(format!("unsupported API path {url}")),
    };
    let (namespace, resource, name) = match rest {
        ["namespaces", ns, resource] => (Some(*ns), *resource, None),
        ["namespaces", ns, resource, name] => (Some(*ns), *resource, Some(*name)),
        [resource] => (None, *resource, None),
        [resource, name] => (None, *resource, Some(*name)),
        _ => return Lookup::Failed(format!("unsupported API path {url}")),
    };
    let items: Vec<Value> = cluster
        .iter()
        .filter(|r| r.get("apiVersion").and_then(Value::as_str) == Some(api_version.as_str()))
        .filter(|r| plural(r.get("kind").and_then(Value::as_str).unwrap_or_default()) == resource)
        .filter(|r| {
            namespace.is_none_or(|ns| {
                r.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
                    == ns
            })
        })
        .cloned()
        .collect();
    match name {
        Some(n) => match items
            .into_iter()
            .find(|r| r.pointer("/metadata/name").and_then(Value::as_str) == Some(n))
        {
            Some(r) => Lookup::Found(r),
            None => Lookup::Failed(format!("{resource} \"{n}\" not found")),
        },
        None => Lookup::Found(
            json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}),
        ),
    }
}

/// The lower-case plural resource name of a kind, as the API server derives it.
pub fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with('s')
        || lower.ends_with("sh")
        || lower.ends_with("ch")
        || lower.ends_with('x')
    {
        format!("{lower}es")
    } else if let Some(stem) = lower
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}
