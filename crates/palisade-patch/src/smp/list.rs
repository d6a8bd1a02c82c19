//! Lists: replaced unless the schema gives them the `merge` strategy, in which case elements are
//! matched on the merge keys (kyaml prefers `x-kubernetes-list-map-keys`) and merged.
//!
//! Order follows kyaml's prepend mode, which is what Kyverno produces: the patch's elements first,
//! in patch order, then the resource's remaining elements in their original order.

use super::{Directive, Merger, parse_directive};
use crate::error::PatchError;
use crate::meta::{Ctx, FieldMeta, ListMeta};
use crate::path::Path;
use crate::value::{scalar_text, scalar_text_eq};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;

/// The merge-key values one patch element is matched on; `None` where the element lacks a key.
type KeyTuple = Vec<Option<String>>;

impl Merger {
    /// Merges a patch list (never null: `Merger::merge` handles that) into the resource's.
    pub(super) fn merge_list(
        &self,
        dest: Option<Value>,
        patch: Cow<'_, Value>,
        ctx: Ctx,
        field: Option<&FieldMeta>,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        let Some(list) = field.and_then(|f| f.list.as_ref()).filter(|l| l.merge) else {
            // Non-associative list: the patch's value wins as is.
            if dest.is_some() {
                self.disturb();
            }
            return Ok(Some(patch.into_owned()));
        };
        let dest_items = match dest {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let (directive, items) = match patch {
            Cow::Borrowed(Value::Array(p)) => {
                let (directive, position) = list_directive(p, path)?;
                let items = p
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != position)
                    .map(|(_, v)| Cow::Borrowed(v))
                    .collect();
                (directive, items)
            }
            Cow::Owned(Value::Array(p)) => {
                let (directive, position) = list_directive(&p, path)?;
                let items = p
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != position)
                    .map(|(_, v)| Cow::Owned(v))
                    .collect();
                (directive, items)
            }
            _ => return Ok(None),
        };
        if directive != Directive::Merge {
            self.disturb();
        }
        match directive {
            Directive::Delete => Ok(None),
            Directive::Replace => self.merge_elements(Vec::new(), items, ctx, list, path),
            Directive::Merge => self.merge_elements(dest_items, items, ctx, list, path),
        }
    }

    pub(super) fn merge_elements(
        &self,
        dest: Vec<Value>,
        patch: Vec<Cow<'_, Value>>,
        ctx: Ctx,
        list: &ListMeta,
        path: &Path<'_>,
    ) -> Result<Option<Value>, PatchError> {
        if list.match_keys.is_empty() {
            // Only a list the patch names moves its values; untouched ones change when they
            // lose nulls or duplicates.
            let whole = dest.len() + patch.len();
            let merged = merge_primitives(dest, patch, path)?;
            if merged.len() != whole {
                self.disturb();
            }
            return Ok(Some(Value::Array(merged)));
        }
        let dest_len = dest.len();
        let keys = &list.match_keys;
        if aligned(&dest, &patch, keys) {
            // What the general walk below does for such lists: patch element i merges into
            // resource element i, no index moves, and the rest are pruned in order.
            let mut out: Vec<Value> = Vec::with_capacity(dest_len);
            let mut dest = dest.into_iter();
            let matched = patch.len();
            for (i, (p, d)) in patch.into_iter().zip(dest.by_ref()).enumerate() {
                // A map with its merge key and no directive never merges to nothing.
                match self.merge(Some(d), Some(p), ctx, None, &path.index(i))? {
                    Some(v) => out.push(v),
                    None => self.disturb(),
                }
            }
            let rest = dest.enumerate().map(|(i, d)| (matched + i, d));
            self.merge_rest(rest, &mut out, ctx, path)?;
            if out.len() != dest_len {
                self.disturb();
            }
            return Ok(Some(Value::Array(out)));
        }
        let mut out: Vec<Value> = Vec::with_capacity(dest.len() + patch.len());
        let mut rest: Vec<Option<Value>> = dest.into_iter().map(Some).collect();
        let mut seen = Seen::new(patch.len());
        for (i, p) in patch.into_iter().enumerate() {
            let elem_path = path.index(i);
            let tuple = key_tuple(&p, list, &elem_path)?;
            // kyaml walks each distinct key tuple once; a repeated patch element is ignored.
            if seen.contains(&tuple) {
                continue;
            }
            let current = take_match(&mut out, &mut rest, keys, &tuple);
            // Elements keep their index only when each patch element merges into the next
            // resource element.
            if current.slot.is_some() || current.from != Some(out.len()) {
                self.disturb();
            }
            let merged = self.merge(current.value, Some(p), ctx, None, &elem_path)?;
            match merged {
                Some(v) if !is_empty_map(&v) => match current.slot {
                    Some(j) => out.insert(j, v),
                    None => out.push(v),
                },
                _ => {
                    self.disturb();
                    // An element merged to nothing is a deletion of every element with these keys.
                    out.retain(|e| !matches_keys(e, keys, &tuple));
                    rest.retain(|e| !e.as_ref().is_some_and(|e| matches_keys(e, keys, &tuple)));
                }
            }
            seen.insert(tuple);
        }
        let rest = rest
            .into_iter()
            .enumerate()
            .filter_map(|(i, d)| d.map(|d| (i, d)));
        self.merge_rest(rest, &mut out, ctx, path)?;
        if out.len() != dest_len {
            self.disturb();
        }
        Ok(Some(Value::Array(out)))
    }

    /// Appends the resource elements no patch element matched (with their index in the
    /// resource's list), pruned; null elements and maps pruned to nothing go.
    fn merge_rest(
        &self,
        rest: impl Iterator<Item = (usize, Value)>,
        out: &mut Vec<Value>,
        ctx: Ctx,
        path: &Path<'_>,
    ) -> Result<(), PatchError> {
        for (i, d) in rest {
            if i != out.len() {
                self.disturb();
            }
            if !d.is_object() {
                if !d.is_null() {
                    out.push(d);
                }
                continue;
            }
            if let Some(v) = self.merge(Some(d), None, ctx, None, &path.index(i))?
                && !is_empty_map(&v)
            {
                out.push(v);
            }
        }
        Ok(())
    }
}

/// Whether the general walk would merge patch element i into resource element i for every
/// patch element: one merge key, whose values in the patch are distinct non-empty strings
/// (so no element repeats another or matches an already merged one), each equal to the
/// resource element's at the same index, and no directive in the patch elements. Short
/// lists only (the distinctness check is quadratic).
fn aligned(dest: &[Value], patch: &[Cow<'_, Value>], keys: &[String]) -> bool {
    let [key] = keys else { return false };
    if patch.len() > dest.len() || patch.len() > 16 {
        return false;
    }
    fn name<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
        v.get(key)?.as_str().filter(|s| !s.is_empty())
    }
    patch.iter().zip(dest).enumerate().all(|(i, (p, d))| {
        let Value::Object(m) = p.as_ref() else {
            return false;
        };
        let Some(n) = name(p, key) else {
            return false;
        };
        !m.keys().any(|k| k.starts_with('$'))
            && name(d, key) == Some(n)
            && patch.iter().take(i).all(|q| name(q, key) != Some(n))
    })
}

/// The key tuples of the patch elements merged so far. Patch lists are short, where scanning
/// a few tuples is cheaper than hashing them; long ones use a set.
enum Seen {
    Few(Vec<KeyTuple>),
    Many(HashSet<KeyTuple>),
}

impl Seen {
    fn new(patch_len: usize) -> Self {
        if patch_len <= 16 {
            Seen::Few(Vec::with_capacity(patch_len))
        } else {
            Seen::Many(HashSet::with_capacity(patch_len))
        }
    }

    fn contains(&self, tuple: &KeyTuple) -> bool {
        match self {
            Seen::Few(v) => v.contains(tuple),
            Seen::Many(set) => set.contains(tuple),
        }
    }

    fn insert(&mut self, tuple: KeyTuple) {
        match self {
            Seen::Few(v) => v.push(tuple),
            Seen::Many(set) => {
                set.insert(tuple);
            }
        }
    }
}

/// A resource element taken out for merging, and where it sat in `out` if it was already merged.
struct Taken {
    value: Option<Value>,
    slot: Option<usize>,
    /// The element's index in the resource's list, when it came from there.
    from: Option<usize>,
}

/// Finds the element matching the key tuple, first among already-merged elements, then in the
/// resource.
fn take_match(
    out: &mut Vec<Value>,
    rest: &mut [Option<Value>],
    keys: &[String],
    tuple: &KeyTuple,
) -> Taken {
    if let Some(j) = out.iter().position(|e| matches_keys(e, keys, tuple)) {
        return Taken {
            value: Some(out.remove(j)),
            slot: Some(j),
            from: None,
        };
    }
    let found = rest
        .iter_mut()
        .enumerate()
        .find(|(_, e)| e.as_ref().is_some_and(|e| matches_keys(e, keys, tuple)));
    match found {
        Some((i, e)) => Taken {
            value: e.take(),
            slot: None,
            from: Some(i),
        },
        None => Taken {
            value: None,
            slot: None,
            from: None,
        },
    }
}

/// Whether `elem` has the tuple's values for the merge keys (keys the tuple lacks are ignored).
fn matches_keys(elem: &Value, keys: &[String], tuple: &KeyTuple) -> bool {
    let Value::Object(m) = elem else { return false };
    keys.iter().zip(tuple).all(|(k, v)| match v {
        Some(v) => m.get(k).is_some_and(|x| scalar_text_eq(x, v)),
        None => true,
    })
}

fn is_empty_map(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.is_empty())
}

/// The element's merge-key values; an element lacking all of them cannot be matched.
fn key_tuple(elem: &Value, list: &ListMeta, path: &Path<'_>) -> Result<KeyTuple, PatchError> {
    let Value::Object(m) = elem else {
        return Err(PatchError::KindMismatch {
            path: path.render(),
            expected: "a map",
            found: crate::value::kind_name(elem),
        });
    };
    let tuple: KeyTuple = list
        .match_keys
        .iter()
        .map(|k| {
            m.get(k)
                .filter(|v| !v.is_null() && v.as_str() != Some(""))
                .and_then(scalar_text)
        })
        .collect();
    if tuple.iter().all(Option::is_none) {
        return Err(PatchError::MissingMergeKey {
            path: path.render(),
            keys: list.match_keys.join(", "),
        });
    }
    Ok(tuple)
}

/// The list-level directive and the position of its element (a map whose only key is `$patch`).
fn list_directive(
    patch: &[Value],
    path: &Path<'_>,
) -> Result<(Directive, Option<usize>), PatchError> {
    let position = patch.iter().position(|e| {
        e.as_object()
            .is_some_and(|m| m.len() == 1 && m.contains_key("$patch"))
    });
    let directive = match position
        .and_then(|i| patch.get(i))
        .and_then(|e| e.get("$patch"))
    {
        Some(v) => parse_directive(v, &path.key("$patch"))?,
        None => Directive::Merge,
    };
    Ok((directive, position))
}

/// Merges a list of primitives: union, patch values first, duplicates dropped (compared as YAML text).
fn merge_primitives(
    dest: Vec<Value>,
    patch: Vec<Cow<'_, Value>>,
    path: &Path<'_>,
) -> Result<Vec<Value>, PatchError> {
    let mut out: Vec<Value> = Vec::with_capacity(dest.len() + patch.len());
    // A set keeps long resource lists (thousands of finalizers) linear.
    let mut texts: HashSet<String> = HashSet::with_capacity(dest.len() + patch.len());
    for (i, v) in patch.into_iter().enumerate() {
        if v.is_null() {
            continue;
        }
        let Some(text) = scalar_text(&v) else {
            return Err(PatchError::KindMismatch {
                path: path.index(i).render(),
                expected: "a scalar",
                found: crate::value::kind_name(&v),
            });
        };
        if texts.insert(text) {
            out.push(v.into_owned());
        }
    }
    for v in dest {
        match scalar_text(&v) {
            _ if v.is_null() => {}
            // A malformed resource list keeps its structured elements rather than failing.
            None => out.push(v),
            Some(text) => {
                if texts.insert(text) {
                    out.push(v);
                }
            }
        }
    }
    Ok(out)
}
