//! The strategic-merge table generated from the Kubernetes OpenAPI spec (`data/patch-meta.json`).
//!
//! Kinds are looked up by `apiVersion/kind`; each definition lists, per field, the definition it
//! refers to and, for lists, the patch strategy and merge keys. Definitions are resolved to indices
//! once, so a walk only does one hash lookup per field.

use palisade_primitives::fnv::FnvMap;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

const RAW: &str = include_str!("../data/patch-meta.json");

#[derive(Deserialize)]
struct RawTable {
    source: String,
    roots: BTreeMap<String, String>,
    definitions: BTreeMap<String, BTreeMap<String, RawField>>,
}

#[derive(Deserialize)]
struct RawField {
    #[serde(rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    map: bool,
    strategy: Option<String>,
    key: Option<String>,
    #[serde(default)]
    keys: Vec<String>,
}

/// How a list field merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListMeta {
    /// The strategy includes `merge`: elements are merged rather than the list replaced.
    pub(crate) merge: bool,
    /// `x-kubernetes-patch-merge-key`, used for `$setElementOrder`.
    pub(crate) merge_key: Option<String>,
    /// The keys elements are matched on: `x-kubernetes-list-map-keys` when present (as kyaml
    /// does), else the merge key; empty for lists of primitives.
    pub(crate) match_keys: Vec<String>,
}

/// One field of a definition.
#[derive(Debug, Clone)]
pub(crate) struct FieldMeta {
    reference: Option<usize>,
    is_map: bool,
    /// Present when the field declares a patch strategy.
    pub(crate) list: Option<ListMeta>,
}

/// Where a walk is in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// No schema (custom resources, unknown fields).
    Unknown,
    /// Inside a definition.
    Def(usize),
    /// Inside a map whose values are the given definition.
    MapOf(usize),
}

/// FNV-1a: field names are short and trusted, so a simple hash beats SipHash on every lookup.
type FastMap<V> = FnvMap<String, V>;

/// The parsed table.
pub(crate) struct Meta {
    source: String,
    /// apiVersion → kind → definition.
    roots: FastMap<FastMap<usize>>,
    defs: Vec<FastMap<FieldMeta>>,
}

static META: OnceLock<Result<Meta, String>> = OnceLock::new();

/// The embedded table, parsed on first use.
pub(crate) fn table() -> Result<&'static Meta, String> {
    META.get_or_init(|| Meta::parse(RAW))
        .as_ref()
        .map_err(Clone::clone)
}

impl Meta {
    fn parse(raw: &str) -> Result<Meta, String> {
        let raw: RawTable =
            serde_json::from_str(raw).map_err(|e| format!("patch-meta.json: {e}"))?;
        let mut index: HashMap<String, usize> = HashMap::new();
        for name in raw.definitions.keys() {
            let next = index.len();
            index.insert(name.clone(), next);
        }
        let mut defs: Vec<FastMap<FieldMeta>> = vec![FastMap::default(); index.len()];
        for (name, fields) in raw.definitions {
            let slot = index
                .get(&name)
                .copied()
                .ok_or("definition index out of sync")?;
            let mut out = FastMap::default();
            for (field, f) in fields {
                let reference = f.reference.map(|r| intern(&mut index, &mut defs, r));
                let list = f.strategy.map(|s| list_meta(&s, f.key, f.keys));
                out.insert(
                    field,
                    FieldMeta {
                        reference,
                        is_map: f.map,
                        list,
                    },
                );
            }
            if let Some(d) = defs.get_mut(slot) {
                *d = out;
            }
        }
        let mut roots: FastMap<FastMap<usize>> = FastMap::default();
        for (gvk, def) in raw.roots {
            let idx = intern(&mut index, &mut defs, def);
            let (api_version, kind) = gvk
                .rsplit_once('/')
                .ok_or_else(|| format!("root {gvk:?} lacks a kind"))?;
            roots
                .entry(api_version.to_string())
                .or_default()
                .insert(kind.to_string(), idx);
        }
        Ok(Meta {
            source: raw.source,
            roots,
            defs,
        })
    }

    /// The root context of a kind, `Unknown` for kinds the table does not know.
    pub(crate) fn root(&self, api_version: &str, kind: &str) -> Ctx {
        self.roots
            .get(api_version)
            .and_then(|kinds| kinds.get(kind))
            .map_or(Ctx::Unknown, |&i| Ctx::Def(i))
    }

    /// The context and metadata of field `key` inside `ctx`.
    pub(crate) fn field(&self, ctx: Ctx, key: &str) -> (Ctx, Option<&FieldMeta>) {
        match ctx {
            Ctx::Unknown => (Ctx::Unknown, None),
            Ctx::MapOf(d) => (Ctx::Def(d), None),
            Ctx::Def(d) => match self.defs.get(d).and_then(|fields| fields.get(key)) {
                None => (Ctx::Unknown, None),
                Some(f) => {
                    let child = match (f.reference, f.is_map) {
                        (Some(r), true) => Ctx::MapOf(r),
                        (Some(r), false) => Ctx::Def(r),
                        (None, _) => Ctx::Unknown,
                    };
                    (child, Some(f))
                }
            },
        }
    }

    /// Where the spec was taken from.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }
}

/// Returns the index of definition `name`, adding an empty definition when it has no entry
/// (the generator omits definitions without interesting fields).
fn intern(
    index: &mut HashMap<String, usize>,
    defs: &mut Vec<FastMap<FieldMeta>>,
    name: String,
) -> usize {
    if let Some(&i) = index.get(&name) {
        return i;
    }
    let i = defs.len();
    defs.push(FastMap::default());
    index.insert(name, i);
    i
}

fn list_meta(strategy: &str, merge_key: Option<String>, keys: Vec<String>) -> ListMeta {
    let merge = strategy.split(',').any(|s| s.trim() == "merge");
    let match_keys = if !keys.is_empty() {
        keys
    } else {
        merge_key.iter().cloned().collect()
    };
    ListMeta {
        merge,
        merge_key,
        match_keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_of(api_version: &str, kind: &str, path: &[&str]) -> Option<ListMeta> {
        let meta = table().ok()?;
        let mut ctx = meta.root(api_version, kind);
        let mut last = None;
        for seg in path {
            let (next, f) = meta.field(ctx, seg);
            ctx = next;
            last = f;
        }
        last.and_then(|f| f.list.clone())
    }

    #[test]
    fn embedded_table_loads() {
        let meta = table().expect("table parses");
        assert!(meta.source().contains("swagger.json"));
        assert!(matches!(meta.root("apps/v1", "Deployment"), Ctx::Def(_)));
        assert!(matches!(meta.root("v1", "Pod"), Ctx::Def(_)));
        assert_eq!(meta.root("example.com/v1", "Widget"), Ctx::Unknown);
    }

    #[test]
    fn merge_keys_follow_the_openapi_spec() {
        // (apiVersion, kind, path to the list, match keys, merge key)
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a [&'a str],
            &'a [&'a str],
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (
                "v1",
                "Pod",
                &["spec", "containers"],
                &["name"],
                Some("name"),
            ),
            ("v1", "Pod", &["spec", "volumes"], &["name"], Some("name")),
            (
                "v1",
                "Pod",
                &["spec", "containers", "ports"],
                &["containerPort", "protocol"],
                Some("containerPort"),
            ),
            (
                "v1",
                "Pod",
                &["spec", "containers", "volumeMounts"],
                &["mountPath"],
                Some("mountPath"),
            ),
            (
                "v1",
                "Pod",
                &["spec", "containers", "env"],
                &["name"],
                Some("name"),
            ),
            (
                "v1",
                "Pod",
                &["spec", "imagePullSecrets"],
                &["name"],
                Some("name"),
            ),
            (
                "apps/v1",
                "Deployment",
                &["spec", "template", "spec", "initContainers"],
                &["name"],
                Some("name"),
            ),
            (
                "v1",
                "Service",
                &["spec", "ports"],
                &["port", "protocol"],
                Some("port"),
            ),
            ("v1", "Pod", &["metadata", "finalizers"], &[], None),
        ];
        for (av, kind, path, keys, key) in cases {
            let list =
                list_of(av, kind, path).unwrap_or_else(|| panic!("{kind} {path:?} has list meta"));
            assert!(list.merge, "{path:?}");
            assert_eq!(
                list.match_keys,
                keys.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{path:?}"
            );
            assert_eq!(list.merge_key.as_deref(), *key, "{path:?}");
        }
    }

    #[test]
    fn lists_without_strategy_have_no_list_meta() {
        assert_eq!(list_of("v1", "Pod", &["spec", "containers", "args"]), None);
        assert_eq!(list_of("v1", "Pod", &["spec", "tolerations"]), None);
    }

    #[test]
    fn map_valued_fields_descend_into_values() {
        let meta = table().expect("table parses");
        let root = meta.root("v1", "Pod");
        let (labels, _) = meta.field(root, "metadata");
        let (_, f) = meta.field(labels, "labels");
        assert!(f.is_none(), "labels are plain strings");
    }
}
