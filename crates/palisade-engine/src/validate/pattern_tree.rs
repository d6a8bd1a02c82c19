//! A validate pattern prepared for matching: anchors parsed, each map's keys in Kyverno's
//! evaluation order, and leaves kept as values. Preparing costs about one walk; a rule's
//! own pattern (without variables) is prepared once, when the policy is compiled.

use std::sync::Arc;

use palisade_primitives::wildcard;
use serde_json::{Map, Value};

use crate::anchor::{self, Anchor, AnchorKind};
use crate::pattern::Leaf;
use crate::value::go_type;

/// One node of a prepared pattern.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Map(Box<MapNode>),
    Array(Vec<Node>),
    /// A scalar pattern: string, number, bool or null, parsed once.
    Leaf(Leaf),
}

/// A pattern map.
#[derive(Debug, Clone)]
pub(crate) struct MapNode {
    /// Condition, existence and negation anchors, as (key as written, key in the resource):
    /// a failure is an error when one of them never appears in the resource.
    pub(crate) noted: Vec<(Arc<str>, Box<str>)>,
    /// Anchors other than global and add-if-not-present, in key order: evaluated first.
    pub(crate) anchors: Vec<AnchorEntry>,
    /// Plain keys and global anchors, in evaluation order.
    pub(crate) plain: Vec<PlainEntry>,
    /// The map as written, when its `metadata` labels or annotations have wildcard keys that
    /// are replaced by the resource's matching keys before evaluation.
    pub(crate) expandable: Option<Map<String, Value>>,
    /// For a map of 2 to [`MERGED_KEYS`] entries: the resource keys they read, sorted, each
    /// with its entry's slot (anchors first, then plain entries, in their orders), so the
    /// resource map is read in one pass instead of one search per key. Empty otherwise.
    pub(crate) sorted: Box<[(Box<str>, u8)]>,
}

/// The most entries a pattern map reads in one pass (see [`MapNode::sorted`]).
pub(crate) const MERGED_KEYS: usize = 8;

/// An anchored key.
#[derive(Debug, Clone)]
pub(crate) struct AnchorEntry {
    pub(crate) kind: AnchorKind,
    /// The key without the anchor syntax.
    pub(crate) key: Box<str>,
    pub(crate) node: Node,
}

/// A plain key (add-if-not-present anchors are plain keys here, as in Kyverno's validation),
/// or a global anchor.
#[derive(Debug, Clone)]
pub(crate) enum PlainEntry {
    Key(Box<str>, Node),
    Global(Box<str>, Node),
}

impl Node {
    /// Prepares `pattern`.
    pub(crate) fn new(pattern: &Value) -> Node {
        match pattern {
            Value::Object(map) => Node::Map(Box::new(MapNode::new(map))),
            Value::Array(items) => Node::Array(items.iter().map(Node::new).collect()),
            leaf => Node::Leaf(Leaf::new(leaf)),
        }
    }

    /// Go's type name of the pattern value, for messages.
    pub(crate) fn go_type(&self) -> &'static str {
        match self {
            Node::Map(_) => "map[string]interface {}",
            Node::Array(_) => "[]interface {}",
            Node::Leaf(v) => go_type(v.pattern()),
        }
    }
}

impl MapNode {
    pub(crate) fn new(map: &Map<String, Value>) -> MapNode {
        let mut noted = Vec::new();
        let mut anchors = Vec::new();
        for (key, value) in map {
            let Some(a) = Anchor::parse(key) else {
                continue;
            };
            if matches!(
                a.kind,
                AnchorKind::Condition | AnchorKind::Existence | AnchorKind::Negation
            ) {
                noted.push((Arc::from(key.as_str()), Box::from(a.key)));
            }
            if !matches!(a.kind, AnchorKind::Global | AnchorKind::AddIfNotPresent) {
                anchors.push(AnchorEntry {
                    kind: a.kind,
                    key: Box::from(a.key),
                    node: Node::new(value),
                });
            }
        }
        // Kyverno queues global anchors and keys whose values hold anchors at the front (so
        // they run last-first), and the other plain keys at the back.
        let mut plain = Vec::new();
        let mut back = Vec::new();
        for (key, value) in map.iter().rev() {
            let global = match Anchor::parse(key) {
                Some(a) if a.kind == AnchorKind::Global => Some(a.key),
                Some(a) if a.kind != AnchorKind::AddIfNotPresent => continue,
                _ => None,
            };
            match global {
                Some(k) => plain.push(PlainEntry::Global(Box::from(k), Node::new(value))),
                None if has_nested_anchors(value) => {
                    plain.push(PlainEntry::Key(Box::from(key.as_str()), Node::new(value)));
                }
                None => back.push(PlainEntry::Key(Box::from(key.as_str()), Node::new(value))),
            }
        }
        plain.extend(back.into_iter().rev());
        let keys: Vec<&str> = anchors
            .iter()
            .map(|a| &*a.key)
            .chain(plain.iter().map(|p| match p {
                PlainEntry::Key(k, _) | PlainEntry::Global(k, _) => &**k,
            }))
            .collect();
        let sorted = if (2..=MERGED_KEYS).contains(&keys.len()) {
            let mut sorted: Vec<(Box<str>, u8)> = keys
                .iter()
                .zip(0u8..)
                .map(|(k, slot)| (Box::from(*k), slot))
                .collect();
            sorted.sort();
            sorted.into_boxed_slice()
        } else {
            Box::default()
        };
        MapNode {
            noted,
            anchors,
            plain,
            expandable: has_metadata_wildcards(map).then(|| map.clone()),
            sorted,
        }
    }
}

fn has_nested_anchors(pattern: &Value) -> bool {
    match pattern {
        Value::Object(map) => {
            map.keys()
                .any(|k| Anchor::parse(k).is_some_and(|a| a.kind != AnchorKind::AddIfNotPresent))
                || map.values().any(has_nested_anchors)
        }
        Value::Array(items) => items.iter().any(has_nested_anchors),
        _ => false,
    }
}

/// The `metadata` entry of a pattern map, found as Kyverno finds it (anchors stripped).
fn metadata_entry(pattern: &Map<String, Value>) -> Option<(&String, &Map<String, Value>)> {
    match pattern
        .iter()
        .find(|(k, _)| anchor::strip(k) == "metadata")?
    {
        (k, Value::Object(m)) => Some((k, m)),
        _ => None,
    }
}

/// The first `labels` or `annotations` entry of a metadata pattern.
fn tag_entry<'a>(
    meta: &'a Map<String, Value>,
    tag: &str,
) -> Option<(&'a String, &'a Map<String, Value>)> {
    match meta.iter().find(|(k, _)| anchor::strip(k) == tag)? {
        (k, Value::Object(m)) => Some((k, m)),
        _ => None,
    }
}

fn has_metadata_wildcards(pattern: &Map<String, Value>) -> bool {
    let Some((_, meta)) = metadata_entry(pattern) else {
        return false;
    };
    ["labels", "annotations"].into_iter().any(|tag| {
        tag_entry(meta, tag).is_some_and(|(_, m)| {
            m.keys()
                .any(|k| wildcard::contains_wildcard(anchor::strip(k)))
        })
    })
}

/// Wildcard keys under `metadata.labels` / `metadata.annotations` of a pattern are replaced
/// by the matching key of the resource (Kyverno's `wildcards.ExpandInMetadata`).
pub(crate) fn expand_metadata_wildcards(
    pattern: &Map<String, Value>,
    resource: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let Value::Object(meta_resource) = resource.get("metadata")? else {
        return None;
    };
    let (meta_key, meta_pattern) = metadata_entry(pattern)?;
    let mut new_meta = meta_pattern.clone();
    let mut changed = false;
    for tag in ["labels", "annotations"] {
        let Some((tag_key, tag_pattern)) = tag_entry(meta_pattern, tag) else {
            continue;
        };
        let Some(Value::Object(tag_resource)) = meta_resource.get(tag) else {
            continue;
        };
        let mut expanded = Map::new();
        for (k, v) in tag_pattern {
            let bare = anchor::strip(k);
            if !wildcard::contains_wildcard(bare) {
                expanded.insert(k.clone(), v.clone());
                continue;
            }
            let prefix = Anchor::parse(k).map(|a| a.prefix()).unwrap_or_default();
            let hit = tag_resource.keys().find(|rk| wildcard::matches(bare, rk));
            let new_key = match (hit, Anchor::parse(k)) {
                (Some(rk), Some(_)) => format!("{prefix}({rk})"),
                (Some(rk), None) => rk.clone(),
                (None, _) => k.clone(),
            };
            changed |= new_key != *k;
            expanded.insert(new_key, v.clone());
        }
        new_meta.insert(tag_key.clone(), Value::Object(expanded));
    }
    if !changed {
        return None;
    }
    let mut out = pattern.clone();
    out.insert(meta_key.clone(), Value::Object(new_meta));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(node: &Node) -> Vec<String> {
        let Node::Map(m) = node else {
            return vec![];
        };
        let anchors = m.anchors.iter().map(|a| format!("anchor:{}", a.key));
        let plain = m.plain.iter().map(|p| match p {
            PlainEntry::Key(k, _) => format!("key:{k}"),
            PlainEntry::Global(k, _) => format!("global:{k}"),
        });
        anchors.chain(plain).collect()
    }

    #[test]
    fn keys_in_kyverno_order() {
        // Anchors first; then keys holding anchors and global anchors, last-first; then the
        // other plain keys in order.
        let pattern = json!({
            "a": 1, "b": {"=(x)": 1}, "<(c)": 1, "=(d)": 1, "e": 1, "f": [{"X(y)": 1}], "+(g)": 1
        });
        assert_eq!(
            keys(&Node::new(&pattern)),
            [
                "anchor:d", "key:f", "key:b", "global:c", "key:+(g)", "key:a", "key:e"
            ]
        );
    }

    #[test]
    fn noted_anchors_and_expansion_flag() {
        let pattern = json!({"(a)": 1, "^(b)": [{}], "X(c)": null, "=(d)": 1,
                             "metadata": {"labels": {"app-*": "?*"}}});
        let Node::Map(m) = Node::new(&pattern) else {
            panic!("a map")
        };
        let noted: Vec<&str> = m.noted.iter().map(|(k, _)| &**k).collect();
        assert_eq!(noted, ["(a)", "X(c)", "^(b)"]);
        assert!(m.expandable.is_some());
        let Node::Map(plain) = Node::new(&json!({"metadata": {"labels": {"app": "x"}}})) else {
            panic!("a map")
        };
        assert!(plain.expandable.is_none());
    }
}
