//! The Kubernetes directives kyaml does not implement: `$retainKeys`,
//! `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`. Their semantics follow
//! k8s.io/apimachinery's strategicpatch (kyaml would copy them into the resource as fields).

use crate::error::PatchError;
use crate::meta::{Ctx, Meta};
use crate::path::Path;
use crate::value::json_eq;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub(super) const SET_ORDER_PREFIX: &str = "$setElementOrder/";
pub(super) const DELETE_PRIMITIVE_PREFIX: &str = "$deleteFromPrimitiveList/";

fn invalid(path: &Path<'_>, reason: impl Into<String>) -> PatchError {
    PatchError::InvalidDirective {
        path: path.render(),
        reason: reason.into(),
    }
}

/// `$retainKeys`: drop resource fields not listed; every (non-null) patch field must be listed.
pub(super) fn retain_keys(
    dest: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    retain: &Value,
    path: &Path<'_>,
) -> Result<(), PatchError> {
    let Some(list) = retain.as_array() else {
        return Err(invalid(path, "$retainKeys must be a list of field names"));
    };
    let mut keep: Vec<&str> = Vec::with_capacity(list.len());
    for k in list {
        keep.push(
            k.as_str()
                .ok_or_else(|| invalid(path, "$retainKeys entries must be strings"))?,
        );
    }
    for (k, v) in patch {
        if v.is_null() || super::is_directive_key(k) {
            continue;
        }
        if !keep.contains(&k.as_str()) {
            return Err(invalid(
                path,
                format!("field {k:?} is in the patch but not in $retainKeys"),
            ));
        }
    }
    dest.retain(|k, _| keep.contains(&k.as_str()));
    Ok(())
}

/// A pending `$setElementOrder` directive.
pub(super) struct Order {
    field: String,
    order: Vec<Value>,
    original: Vec<Value>,
}

/// Reads the `$setElementOrder/<field>` directives, remembering the resource's original lists.
pub(super) fn collect_orders(
    dest: &Map<String, Value>,
    patch: &Map<String, Value>,
    path: &Path<'_>,
) -> Result<Vec<Order>, PatchError> {
    let mut orders = Vec::new();
    for (k, v) in patch {
        let Some(field) = k.strip_prefix(SET_ORDER_PREFIX) else {
            continue;
        };
        if field.is_empty() {
            return Err(invalid(path, format!("{k:?} names no field")));
        }
        let order = v
            .as_array()
            .ok_or_else(|| invalid(path, format!("{k} must be a list")))?
            .clone();
        let original = dest
            .get(field)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        orders.push(Order {
            field: field.to_string(),
            order,
            original,
        });
    }
    Ok(orders)
}

/// `$deleteFromPrimitiveList/<field>`: removes the listed values from the merged list.
pub(super) fn delete_from_primitive_lists(
    out: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &Path<'_>,
) -> Result<(), PatchError> {
    for (k, v) in patch {
        let Some(field) = k.strip_prefix(DELETE_PRIMITIVE_PREFIX) else {
            continue;
        };
        if field.is_empty() {
            return Err(invalid(path, format!("{k:?} names no field")));
        }
        let doomed = v
            .as_array()
            .ok_or_else(|| invalid(path, format!("{k} must be a list")))?;
        if let Some(Value::Array(list)) = out.get_mut(field) {
            list.retain(|e| !doomed.iter().any(|d| json_eq(d, e)));
        }
    }
    Ok(())
}

/// Reorders the merged lists as `$setElementOrder` asks, the way apimachinery does: listed
/// elements in the given order, the others interleaved by their position in the original list.
pub(super) fn apply_orders(
    out: &mut Map<String, Value>,
    orders: Vec<Order>,
    meta: &Meta,
    ctx: Ctx,
) {
    for o in orders {
        let schema_key = meta
            .field(ctx, &o.field)
            .1
            .and_then(|f| f.list.as_ref())
            .and_then(|l| l.merge_key.clone());
        let key = schema_key.or_else(|| inferred_key(&o.order));
        if let Some(Value::Array(list)) = out.get_mut(&o.field) {
            let merged = std::mem::take(list);
            *list = reorder(merged, &o.order, &o.original, key.as_deref());
        }
    }
}

/// Without a schema, an order list of single-key maps names its merge key.
fn inferred_key(order: &[Value]) -> Option<String> {
    let first = order.first()?.as_object()?;
    if first.len() == 1 {
        first.keys().next().cloned()
    } else {
        None
    }
}

fn ident<'a>(v: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(k) => v.as_object()?.get(k),
        None => Some(v),
    }
}

/// Positions of elements by identity (merge-key value or the element itself), first wins,
/// so reordering stays linear in the list sizes.
struct Positions(HashMap<String, usize>);

impl Positions {
    fn of(list: &[Value], key: Option<&str>) -> Self {
        let mut map = HashMap::with_capacity(list.len());
        for (i, e) in list.iter().enumerate() {
            if let Some(id) = ident(e, key) {
                map.entry(identity(id)).or_insert(i);
            }
        }
        Positions(map)
    }

    fn get(&self, v: &Value, key: Option<&str>) -> Option<usize> {
        self.0.get(&identity(ident(v, key)?)).copied()
    }
}

/// A canonical text for an identity value (numbers compare by value, like `json_eq`).
fn identity(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if v.is_number() => format!("#{f}"),
        _ => v.to_string(),
    }
}

fn reorder(
    merged: Vec<Value>,
    order: &[Value],
    original: &[Value],
    key: Option<&str>,
) -> Vec<Value> {
    let (order_pos, original_pos) = (Positions::of(order, key), Positions::of(original, key));
    let (mut listed, server_only): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|e| order_pos.get(e, key).is_some());
    listed.sort_by_key(|e| order_pos.get(e, key));
    let mut out = Vec::with_capacity(listed.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = listed.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!(
                (original_pos.get(l, key), original_pos.get(r, key)),
                (Some(li), Some(ri)) if li < ri
            ),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(v: &[Value]) -> Vec<i64> {
        v.iter()
            .filter_map(|e| e.get("name").and_then(Value::as_i64))
            .collect()
    }

    #[test]
    fn reorder_interleaves_server_only_items_like_apimachinery() {
        // apimachinery's "set elements order in a list with server-only items".
        let original: Vec<Value> = [1, 3, 4, 2, 9].iter().map(|n| json!({"name": n})).collect();
        let order: Vec<Value> = [4, 2, 3, 1].iter().map(|n| json!({"name": n})).collect();
        let merged = original.clone();
        let out = reorder(merged, &order, &original, Some("name"));
        assert_eq!(names(&out), vec![4, 2, 3, 1, 9]);
    }

    #[test]
    fn reorder_primitives() {
        let original = vec![json!("a"), json!("b"), json!("c")];
        let order = vec![json!("c"), json!("a")];
        let out = reorder(original.clone(), &order, &original, None);
        // "b" is not listed and sat before "c" in the original, so it stays in front.
        assert_eq!(out, vec![json!("b"), json!("c"), json!("a")]);
    }
}
