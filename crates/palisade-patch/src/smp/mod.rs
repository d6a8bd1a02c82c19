//! Strategic merge patch with the semantics Kyverno gets from kustomize's kyaml
//! `patchstrategicmerge` filter, plus the Kubernetes-only directives kyaml lacks.
//!
//! The walk takes the resource by value, so each resource node is moved into the result instead
//! of copied. The patch is borrowed or owned ([`strategic_merge_owned`]): borrowed patch content
//! that lands in the result is cloned, owned content is moved.

mod directives;
mod list;

use crate::error::PatchError;
use crate::meta::{self, Ctx, FieldMeta, Meta};
use crate::path::Path;
use crate::value::{MAX_DEPTH, kind_name, scalar_text};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cell::Cell;

/// Applies a strategic merge patch to `original`, a resource of `apiVersion`/`kind`.
///
/// Kinds found in the embedded OpenAPI table merge lists by their merge keys; other kinds (custom
/// resources) merge maps and replace lists, as merge patch does. See the crate docs for the exact
/// semantics and where they follow kyaml rather than the API server.
pub fn strategic_merge(
    original: &Value,
    patch: &Value,
    api_version: &str,
    kind: &str,
) -> Result<Value, PatchError> {
    if !original.is_object() {
        return Err(PatchError::NotAnObject {
            what: "the resource",
        });
    }
    if !patch.is_object() {
        return Err(PatchError::NotAnObject {
            what: "a strategic merge patch",
        });
    }
    merge_root(original.clone(), Cow::Borrowed(patch), api_version, kind).map(|(v, _)| v)
}

/// As [`strategic_merge`], consuming the resource and the patch: their content is moved into
/// the result rather than copied (the caller's patch is usually a preprocessed copy anyway).
pub fn strategic_merge_owned(
    original: Value,
    patch: Value,
    api_version: &str,
    kind: &str,
) -> Result<Value, PatchError> {
    if !original.is_object() {
        return Err(PatchError::NotAnObject {
            what: "the resource",
        });
    }
    if !patch.is_object() {
        return Err(PatchError::NotAnObject {
            what: "a strategic merge patch",
        });
    }
    merge_root(original, Cow::Owned(patch), api_version, kind).map(|(v, _)| v)
}

/// As [`strategic_merge_owned`], also telling whether the merge changed only what the patch
/// names: no content it does not name was pruned, no directive applied, and every merged list
/// kept each element at its index (patch elements matched the resource's in order, none added
/// or dropped), while no list of the resource was replaced. Then the result differs from
/// `original` only under the patch's keys, which [`crate::diff::diff_guided`] relies on.
pub fn strategic_merge_traced(
    original: Value,
    patch: Value,
    api_version: &str,
    kind: &str,
) -> Result<(Value, bool), PatchError> {
    if !original.is_object() {
        return Err(PatchError::NotAnObject {
            what: "the resource",
        });
    }
    if !patch.is_object() {
        return Err(PatchError::NotAnObject {
            what: "a strategic merge patch",
        });
    }
    merge_root(original, Cow::Owned(patch), api_version, kind)
}

fn merge_root(
    original: Value,
    patch: Cow<'_, Value>,
    api_version: &str,
    kind: &str,
) -> Result<(Value, bool), PatchError> {
    let table = meta::table().map_err(PatchError::SchemaTable)?;
    let merger = Merger {
        meta: table,
        disturbed: Cell::new(false),
    };
    let ctx = table.root(api_version, kind);
    let merged = merger.merge(Some(original), Some(patch), ctx, None, &Path::ROOT)?;
    // A root-level `$patch: delete` leaves nothing; an empty object is the closest valid document.
    match merged {
        Some(v) => Ok((v, !merger.disturbed.get())),
        None => Ok((Value::Object(Map::new()), false)),
    }
}

/// Which `$patch` directive a patch node carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Directive {
    Merge,
    Replace,
    Delete,
}

/// Parses a `$patch` value.
pub(crate) fn parse_directive(value: &Value, path: &Path<'_>) -> Result<Directive, PatchError> {
    match value.as_str() {
        Some("merge") => Ok(Directive::Merge),
        Some("replace") => Ok(Directive::Replace),
        Some("delete") => Ok(Directive::Delete),
        _ => Err(PatchError::UnknownDirective {
            path: path.render(),
            value: scalar_text(value).unwrap_or_else(|| value.to_string()),
        }),
    }
}

/// Keys of a patch map that are directives rather than fields.
pub(crate) fn is_directive_key(key: &str) -> bool {
    key == "$patch"
        || key == "$retainKeys"
        || key.starts_with(directives::SET_ORDER_PREFIX)
        || key.starts_with(directives::DELETE_PRIMITIVE_PREFIX)
}

pub(crate) struct Merger {
    pub(crate) meta: &'static Meta,
    /// Set when the merge changed something the patch does not name, or moved list elements
    /// (see [`strategic_merge_traced`]).
    pub(crate) disturbed: Cell<bool>,
}

impl Merger {
    pub(crate) fn disturb(&self) {
        self.disturbed.set(true);
    }
}

/// Node kind for the kind check kyaml does before merging.
fn kind_class(v: &Value) -> u8 {
    match v {
        Value::Object(_) => 0,
        Value::Array(_) => 1,
        _ => 2,
    }
}

impl Merger {
    /// Merges one node. `None` for `dest` or `patch` means the field is absent; a `None` result
    /// means the field is cleared (kyaml also clears fields that are null in the resource).
    pub(crate) fn merge(
        &self,
        dest: Option<Value>,
        patch: Option<Cow<'_, Value>>,
        ctx: Ctx,
        field: Option<&FieldMeta>,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        if path.depth() > MAX_DEPTH {
            return Err(PatchError::TooDeep { limit: MAX_DEPTH });
        }
        let Some(patch) = patch else {
            // Resource content the patch does not touch: pruned in place, not rebuilt.
            let Some(mut d) = dest else { return Ok(None) };
            if is_clean(&d, path.depth()) {
                return Ok(Some(d));
            }
            return Ok(self.prune(&mut d, ctx, field, path)?.then_some(d));
        };
        let dest = dest.filter(|v| !v.is_null());
        if patch.is_null() {
            return Ok(None);
        }
        // A new field whose patch value the merge would rebuild unchanged is taken as it is.
        if dest.is_none() && self.settles_as_is(&patch, ctx, field, path.depth()) {
            return Ok(Some(patch.into_owned()));
        }
        if let Some(d) = &dest
            && kind_class(d) != kind_class(&patch)
        {
            return Err(PatchError::KindMismatch {
                path: path.render(),
                expected: kind_name(d),
                found: kind_name(&patch),
            });
        }
        match patch {
            Cow::Borrowed(Value::Object(p)) => self.merge_map(dest, Cow::Borrowed(p), ctx, path),
            Cow::Owned(Value::Object(p)) => self.merge_map(dest, Cow::Owned(p), ctx, path),
            Cow::Borrowed(Value::Array(_)) | Cow::Owned(Value::Array(_)) => {
                self.merge_list(dest, patch, ctx, field, path)
            }
            // A scalar the resource already holds (a list element's merge key) is kept, not copied.
            _ => match dest {
                Some(d) if d == *patch => Ok(Some(d)),
                _ => Ok(Some(patch.into_owned())),
            },
        }
    }

    /// Whether merging `v` into an absent field gives `v` itself: no null, no directive key,
    /// no list with the `merge` strategy (which drops duplicates and empty elements), nothing
    /// past the depth limit (which the merge reports).
    pub(crate) fn settles_as_is(
        &self,
        v: &Value,
        ctx: Ctx,
        field: Option<&FieldMeta>,
        depth: usize,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match v {
            Value::Null => false,
            Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::Array(_) => !field.and_then(|f| f.list.as_ref()).is_some_and(|l| l.merge),
            Value::Object(m) => m.iter().all(|(k, c)| {
                if k.starts_with('$') {
                    return false;
                }
                match c {
                    Value::Object(_) | Value::Array(_) => {
                        let (child_ctx, f) = self.meta.field(ctx, k);
                        self.settles_as_is(c, child_ctx, f, depth + 1)
                    }
                    other => !other.is_null(),
                }
            }),
        }
    }

    fn merge_map(
        &self,
        dest: Option<Value>,
        patch: Cow<'_, Map<String, Value>>,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        let directive = match patch.get("$patch") {
            Some(v) => parse_directive(v, &path.key("$patch"))?,
            None => Directive::Merge,
        };
        if directive != Directive::Merge {
            self.disturb();
        }
        let base = match (directive, dest) {
            (Directive::Delete, _) => return Ok(None),
            (Directive::Merge, Some(Value::Object(m))) => m,
            _ => Map::new(),
        };
        let merged = match patch {
            // Directives need the whole patch map after the merge: such maps are borrowed.
            Cow::Owned(p) if !p.keys().any(|k| k.starts_with('$')) => {
                self.merge_owned_fields(base, p, ctx, path)?
            }
            Cow::Owned(p) => self.merge_fields(base, &p, ctx, path)?,
            Cow::Borrowed(p) => self.merge_fields(base, p, ctx, path)?,
        };
        Ok(Some(Value::Object(merged)))
    }

    /// [`Merger::merge_fields`] for an owned patch map without directives: its values are moved
    /// into the result, and a field the resource has is merged in its slot rather than removed
    /// and inserted again. The merges and the pruning run in the same order as there.
    fn merge_owned_fields(
        &self,
        mut rest: Map<String, Value>,
        mut patch: Map<String, Value>,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<Map<String, Value>, PatchError> {
        // In the patch, null marks a field that adds nothing (or one the resource has).
        let mut added = false;
        for (key, slot) in patch.iter_mut() {
            let pv = std::mem::take(slot);
            if let Some(v) = self.merge_field(&mut rest, key, pv, ctx, path)? {
                *slot = v;
                added = true;
            }
        }
        self.finish_fields(&mut rest, patch.keys().map(String::as_str), ctx, path)?;
        if added {
            for (key, v) in patch {
                if !v.is_null() {
                    rest.insert(key, v);
                }
            }
        }
        Ok(rest)
    }

    /// Merges one owned patch field into the resource map `rest` at `path`. A field the
    /// resource has is merged in its slot (null when it merged to nothing, which a merge never
    /// yields otherwise); a new field's merged value is returned for the caller to insert
    /// (before or after [`Merger::finish_fields`], which passes over the named fields).
    pub(crate) fn merge_field(
        &self,
        rest: &mut Map<String, Value>,
        key: &str,
        pv: Value,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        // A scalar patch value needs no schema: only maps and lists descend or merge by key.
        let (child_ctx, field) = if pv.is_object() || pv.is_array() {
            self.meta.field(ctx, key)
        } else {
            (Ctx::Unknown, None)
        };
        let child = path.key(key);
        match rest.get_mut(key) {
            Some(d) => {
                let dv = std::mem::take(d);
                let merged =
                    self.merge(Some(dv), Some(Cow::Owned(pv)), child_ctx, field, &child)?;
                *d = merged.unwrap_or(Value::Null);
                Ok(None)
            }
            None => self.merge(None, Some(Cow::Owned(pv)), child_ctx, field, &child),
        }
    }

    /// After [`Merger::merge_field`] for each of the `named` keys (in key order): the resource's
    /// fields the patch does not name are pruned, and named ones merged to nothing go. Both
    /// iterate in key order, so one merged walk tells them apart.
    pub(crate) fn finish_fields<'k>(
        &self,
        rest: &mut Map<String, Value>,
        named: impl Iterator<Item = &'k str>,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<(), PatchError> {
        let mut doomed: Vec<String> = Vec::new();
        let mut named = named.peekable();
        for (key, v) in rest.iter_mut() {
            while named.next_if(|k| *k < key.as_str()).is_some() {}
            if named.next_if(|k| *k == key.as_str()).is_some() {
                if v.is_null() {
                    doomed.push(key.clone());
                }
                continue;
            }
            if !self.prune_field(key, v, ctx, path, true)? {
                doomed.push(key.clone());
            }
        }
        for key in &doomed {
            rest.remove(key);
        }
        Ok(())
    }

    /// Merges a patch map into a resource map, field by field, then applies the map's directives.
    fn merge_fields(
        &self,
        mut rest: Map<String, Value>,
        patch: &Map<String, Value>,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<Map<String, Value>, PatchError> {
        self.disturb();
        // Every directive key starts with `$`; most patch maps have none and skip their passes.
        let has_directives = patch.keys().any(|k| k.starts_with('$'));
        let orders = if has_directives {
            if let Some(retain) = patch.get("$retainKeys") {
                directives::retain_keys(&mut rest, patch, retain, path)?;
            }
            directives::collect_orders(&rest, patch, path)?
        } else {
            Vec::new()
        };
        let mut merged: Vec<(String, Value)> = Vec::with_capacity(patch.len());
        for (key, pv) in patch {
            if has_directives && is_directive_key(key) {
                continue;
            }
            let (owned_key, dv) = match rest.remove_entry(key) {
                Some((k, v)) => (k, Some(v)),
                None => (key.clone(), None),
            };
            // A scalar patch value needs no schema: only maps and lists descend or merge by key.
            let (child_ctx, field) = if pv.is_object() || pv.is_array() {
                self.meta.field(ctx, key)
            } else {
                (Ctx::Unknown, None)
            };
            if let Some(v) = self.merge(
                dv,
                Some(Cow::Borrowed(pv)),
                child_ctx,
                field,
                &path.key(key),
            )? {
                merged.push((owned_key, v));
            }
        }
        // What is left in `rest` is untouched by the patch.
        self.prune_map(&mut rest, ctx, path, true)?;
        rest.extend(merged);
        if has_directives {
            directives::delete_from_primitive_lists(&mut rest, patch, path)?;
            directives::apply_orders(&mut rest, orders, self.meta, ctx);
        }
        Ok(rest)
    }

    /// kyaml's walk over resource content the patch does not touch: null map fields are dropped
    /// and merge lists lose null or empty elements and duplicate primitives. Returns whether the
    /// value itself survives (it does not when it is null).
    fn prune(
        &self,
        v: &mut Value,
        ctx: Ctx,
        field: Option<&FieldMeta>,
        path: &Path<'_>,
    ) -> Result<bool, PatchError> {
        if path.depth() > MAX_DEPTH {
            return Err(PatchError::TooDeep { limit: MAX_DEPTH });
        }
        match v {
            Value::Null => {
                self.disturb();
                Ok(false)
            }
            Value::Object(m) => self.prune_map(m, ctx, path, false).map(|()| true),
            Value::Array(items) => {
                if let Some(list) = field.and_then(|f| f.list.as_ref()).filter(|l| l.merge) {
                    let taken = std::mem::take(items);
                    if let Some(Value::Array(kept)) =
                        self.merge_elements(taken, Vec::new(), ctx, list, path)?
                    {
                        *items = kept;
                    }
                }
                Ok(true)
            }
            _ => Ok(true),
        }
    }

    /// Prunes a map's fields. `check_clean` first skips fields with nothing to prune; it is
    /// set only where an untouched subtree is entered, so a subtree is checked once.
    fn prune_map(
        &self,
        map: &mut Map<String, Value>,
        ctx: Ctx,
        path: &Path<'_>,
        check_clean: bool,
    ) -> Result<(), PatchError> {
        let mut doomed: Vec<String> = Vec::new();
        for (key, v) in map.iter_mut() {
            if !self.prune_field(key, v, ctx, path, check_clean)? {
                doomed.push(key.clone());
            }
        }
        for key in doomed {
            map.remove(&key);
        }
        Ok(())
    }

    /// Prunes one field of a map at `path`; returns whether it survives.
    fn prune_field(
        &self,
        key: &str,
        v: &mut Value,
        ctx: Ctx,
        path: &Path<'_>,
        check_clean: bool,
    ) -> Result<bool, PatchError> {
        if matches!(v, Value::Bool(_) | Value::Number(_) | Value::String(_))
            || (check_clean && is_clean(v, path.depth() + 1))
        {
            return Ok(true);
        }
        let (child_ctx, field) = self.meta.field(ctx, key);
        self.prune(v, child_ctx, field, &path.key(key))
    }
}

/// Whether pruning `v` (at nesting `depth`) would leave it as it is: it holds no null, no list
/// with an empty map (dropped from merge lists; an empty map elsewhere stays, as `emptyDir: {}`
/// does) and no list of two or more scalars (a merge list of them is deduplicated). A read-only walk without schema lookups, so the resource content a patch does
/// not touch is checked cheaply; anything it cannot vouch for (including nesting past the
/// depth limit, which pruning reports) goes through [`Merger::prune`].
fn is_clean(v: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match v {
        Value::Null => false,
        Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
        // Scalar children, most of a resource, are judged here rather than in a call each.
        Value::Object(m) => m.values().all(|c| match c {
            Value::Null => false,
            Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            _ => is_clean(c, depth + 1),
        }),
        Value::Array(items) => {
            let mut scalars = 0;
            items.iter().all(|e| match e {
                Value::Null => false,
                Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                    scalars += 1;
                    scalars < 2
                }
                Value::Object(m) if m.is_empty() => false,
                _ => is_clean(e, depth + 1),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn is_clean_vouches_only_for_content_pruning_leaves_alone() {
        let cases = [
            (json!({"a": 1, "b": [{"c": "x"}], "d": {"e": true}}), true),
            (json!([1]), true),
            (json!({"a": null}), false),
            // Pruning keeps an empty map field; only a merge list drops empty elements.
            (json!({"a": {}}), true),
            (json!({}), true),
            (json!([{}]), false),
            (json!({"a": [{"b": {}}]}), true),
            (json!({"a": [{"b": 1}, {}]}), false),
            (json!({"a": ["x", "y"]}), false),
            (json!({"a": [[null]]}), false),
        ];
        for (v, want) in cases {
            assert_eq!(is_clean(&v, 0), want, "{v}");
        }
        assert!(!is_clean(&json!({"a": 1}), MAX_DEPTH + 1));
    }

    fn pod_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            Just(json!("x")),
            Just(json!(1)),
            Just(json!({})),
            Just(json!([])),
        ];
        leaf.prop_recursive(5, 48, 4, |inner| {
            let keys = vec![
                "spec",
                "containers",
                "env",
                "volumes",
                "name",
                "emptyDir",
                "a",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(prop::sample::select(keys), inner, 0..4).prop_map(
                    |m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                ),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// What `is_clean` vouches for, pruning leaves as it is (at a Pod's root, where `spec`
        /// leads to the merge lists `containers`, `env` and `volumes`).
        #[test]
        fn pruning_leaves_clean_content_alone(v in pod_value()) {
            let meta = meta::table().unwrap();
            let merger = Merger { meta, disturbed: Cell::new(false) };
            let wrapped = json!({"spec": v});
            if is_clean(&wrapped, 0) {
                let mut pruned = wrapped.clone();
                let kept = merger.prune(&mut pruned, meta.root("v1", "Pod"), None, &Path::ROOT).unwrap();
                proptest::prop_assert!(kept && !merger.disturbed.get());
                proptest::prop_assert_eq!(pruned, wrapped);
            }
        }
    }

    #[test]
    fn untouched_content_is_pruned_as_before() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "annotations": null},
        "spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80}, {}], "env": null},
            {"name": "b", "image": "x"}
        ]}});
        let patch = json!({"metadata": {"labels": {"x": "1"}}});
        let merged = strategic_merge(&pod, &patch, "v1", "Pod").unwrap();
        assert_eq!(
            merged,
            json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"x": "1"}},
            "spec": {"containers": [
                {"name": "a", "ports": [{"containerPort": 80}]},
                {"name": "b", "image": "x"}
            ]}})
        );
    }
}
