//! Strategic merge patch with the semantics Kyverno gets from kustomize's kyaml
//! `patchstrategicmerge` filter, plus the Kubernetes-only directives kyaml lacks.
//!
//! The walk takes the resource by value and the patch by reference, so each resource node is moved
//! into the result instead of copied; only patch content that lands in the result is cloned.

mod directives;
mod list;

use crate::error::PatchError;
use crate::meta::{self, Ctx, FieldMeta, Meta};
use crate::path::Path;
use crate::value::{MAX_DEPTH, kind_name, scalar_text};
use serde_json::{Map, Value};

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
    let table = meta::table().map_err(PatchError::SchemaTable)?;
    let merger = Merger { meta: table };
    let ctx = table.root(api_version, kind);
    let merged = merger.merge(Some(original.clone()), Some(patch), ctx, None, &Path::ROOT)?;
    // A root-level `$patch: delete` leaves nothing; an empty object is the closest valid document.
    Ok(merged.unwrap_or_else(|| Value::Object(Map::new())))
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
        patch: Option<&Value>,
        ctx: Ctx,
        field: Option<&FieldMeta>,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        if path.depth() > MAX_DEPTH {
            return Err(PatchError::TooDeep { limit: MAX_DEPTH });
        }
        let dest = dest.filter(|v| !v.is_null());
        let patch_value = patch.filter(|v| !v.is_null());
        if let (Some(d), Some(p)) = (&dest, patch_value)
            && kind_class(d) != kind_class(p)
        {
            return Err(PatchError::KindMismatch {
                path: path.render(),
                expected: kind_name(d),
                found: kind_name(p),
            });
        }
        match dest.as_ref().or(patch_value) {
            None => Ok(None),
            Some(Value::Object(_)) => self.merge_map(dest, patch, ctx, path),
            Some(Value::Array(_)) => self.merge_list(dest, patch, ctx, field, path),
            Some(_) => Ok(match patch {
                Some(p) if p.is_null() => None,
                Some(p) => Some(p.clone()),
                None => dest,
            }),
        }
    }

    fn merge_map(
        &self,
        dest: Option<Value>,
        patch: Option<&Value>,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        let dest_map = match dest {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        };
        let patch_map = match patch {
            None => {
                return Ok(Some(Value::Object(self.walk_map_alone(
                    dest_map.unwrap_or_default(),
                    ctx,
                    path,
                )?)));
            }
            Some(Value::Object(p)) => p,
            Some(_) => return Ok(None),
        };
        let directive = match patch_map.get("$patch") {
            Some(v) => parse_directive(v, &path.key("$patch"))?,
            None => Directive::Merge,
        };
        let base = match (directive, dest_map) {
            (Directive::Delete, _) => return Ok(None),
            (Directive::Merge, Some(m)) => m,
            _ => Map::new(),
        };
        self.merge_fields(base, patch_map, ctx, path)
            .map(|m| Some(Value::Object(m)))
    }

    /// Merges a patch map into a resource map, field by field, then applies the map's directives.
    fn merge_fields(
        &self,
        mut rest: Map<String, Value>,
        patch: &Map<String, Value>,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<Map<String, Value>, PatchError> {
        if let Some(retain) = patch.get("$retainKeys") {
            directives::retain_keys(&mut rest, patch, retain, path)?;
        }
        let orders = directives::collect_orders(&rest, patch, path)?;
        let mut out = Map::new();
        for (key, pv) in patch {
            if is_directive_key(key) {
                continue;
            }
            let (owned_key, dv) = match rest.remove_entry(key) {
                Some((k, v)) => (k, Some(v)),
                None => (key.clone(), None),
            };
            let (child_ctx, field) = self.meta.field(ctx, key);
            if let Some(v) = self.merge(dv, Some(pv), child_ctx, field, &path.key(key))? {
                out.insert(owned_key, v);
            }
        }
        for (key, dv) in rest {
            let (child_ctx, field) = self.meta.field(ctx, &key);
            if let Some(v) = self.merge(Some(dv), None, child_ctx, field, &path.key(&key))? {
                out.insert(key, v);
            }
        }
        directives::delete_from_primitive_lists(&mut out, patch, path)?;
        directives::apply_orders(&mut out, orders, self.meta, ctx);
        Ok(out)
    }

    /// Walks a resource map the patch does not touch: kyaml drops its null fields on the way.
    fn walk_map_alone(
        &self,
        map: Map<String, Value>,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<Map<String, Value>, PatchError> {
        let mut out = Map::new();
        for (key, dv) in map {
            let (child_ctx, field) = self.meta.field(ctx, &key);
            if let Some(v) = self.merge(Some(dv), None, child_ctx, field, &path.key(&key))? {
                out.insert(key, v);
            }
        }
        Ok(out)
    }
}
