//! Generates `data/patch-meta.json`, the strategic-merge table, from the Kubernetes OpenAPI v2 spec.
//!
//! Usage (see the crate docs for how to fetch the spec):
//! `cargo run -p palisade-patch --example gen_patch_meta -- <swagger.json> <source-label> > data/patch-meta.json`
//!
//! For every definition reachable from a kind that has `x-kubernetes-group-version-kind`, the output
//! keeps only the fields that matter to a strategic merge: fields that refer to another definition
//! (directly, as list items, or as map values) and fields with a patch strategy or merge key.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

const REF_PREFIX: &str = "#/definitions/";

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(spec_path), Some(label)) = (args.get(1), args.get(2)) else {
        return Err("usage: gen_patch_meta <swagger.json> <source-label>".into());
    };
    let text = std::fs::read_to_string(spec_path).map_err(|e| format!("{spec_path}: {e}"))?;
    let spec: Value = serde_json::from_str(&text).map_err(|e| format!("{spec_path}: {e}"))?;
    let defs = spec
        .get("definitions")
        .and_then(Value::as_object)
        .ok_or("spec has no definitions")?;

    let roots = collect_roots(defs);
    let mut out_defs = BTreeMap::new();
    let mut queue: Vec<String> = roots.values().cloned().collect();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    while let Some(name) = queue.pop() {
        let Some(def) = defs.get(&name) else { continue };
        let fields = def_fields(def);
        for meta in fields.values() {
            if let Some(r) = meta.get("ref").and_then(Value::as_str)
                && seen.insert(r.to_string())
            {
                queue.push(r.to_string());
            }
        }
        if !fields.is_empty() {
            out_defs.insert(name, Value::Object(fields));
        }
    }
    // Roots whose definition has no interesting field still need an entry to be "known".
    for name in roots.values() {
        out_defs.entry(name.clone()).or_insert_with(|| json!({}));
    }
    let out = json!({ "source": label, "roots": roots, "definitions": out_defs });
    let rendered = serde_json::to_string(&out).map_err(|e| e.to_string())?;
    println!("{rendered}");
    Ok(())
}

/// Maps `apiVersion/kind` (core group: `v1/Pod`) to the definition name.
fn collect_roots(defs: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut roots = BTreeMap::new();
    for (name, def) in defs {
        let Some(gvks) = def
            .get("x-kubernetes-group-version-kind")
            .and_then(Value::as_array)
        else {
            continue;
        };
        for gvk in gvks {
            let field = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or_default();
            let (group, version, kind) = (field("group"), field("version"), field("kind"));
            let api_version = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            // Shared meta types (DeleteOptions, WatchEvent) list many GVKs; skip those that are not objects.
            if def
                .get("properties")
                .and_then(|p| p.get("metadata"))
                .is_none()
                && kind != "Status"
            {
                continue;
            }
            roots.insert(format!("{api_version}/{kind}"), name.clone());
        }
    }
    roots
}

fn ref_name(schema: &Value) -> Option<String> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix(REF_PREFIX)
        .map(str::to_string)
}

fn def_fields(def: &Value) -> Map<String, Value> {
    let mut fields = Map::new();
    let Some(props) = def.get("properties").and_then(Value::as_object) else {
        return fields;
    };
    for (field, prop) in props {
        let mut meta = Map::new();
        if let Some(r) = ref_name(prop) {
            meta.insert("ref".into(), r.into());
        } else if let Some(r) = prop.get("items").and_then(ref_name) {
            meta.insert("ref".into(), r.into());
        } else if let Some(r) = prop.get("additionalProperties").and_then(ref_name) {
            meta.insert("ref".into(), r.into());
            meta.insert("map".into(), true.into());
        }
        if let Some(s) = prop.get("x-kubernetes-patch-strategy") {
            meta.insert("strategy".into(), s.clone());
            if let Some(k) = prop.get("x-kubernetes-patch-merge-key") {
                meta.insert("key".into(), k.clone());
            }
            if let Some(keys) = prop.get("x-kubernetes-list-map-keys") {
                meta.insert("keys".into(), keys.clone());
            }
        }
        if !meta.is_empty() {
            fields.insert(field.clone(), Value::Object(meta));
        }
    }
    fields
}
