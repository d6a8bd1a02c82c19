//! Removing anchors from a preprocessed patch (Kyverno's `deleteConditionElements` and
//! `deleteAnchors`): condition keys are dropped or unwrapped, and maps and lists left with nothing
//! to patch are dropped so they cannot delete anything from the resource.

use super::key::{is_condition, is_mutate_anchor, parse};
use serde_json::{Map, Value};

/// Whether `v` contains an anchor key accepted by `pred`, or a scalar string that is a condition
/// anchor (Kyverno checks scalar values too).
pub(crate) fn has_anchors(v: &Value, pred: fn(&str) -> bool) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| pred(k) || (!is_nil_or_empty(v) && has_anchors(v, pred))),
        Value::Array(items) => items.iter().any(|e| has_anchors(e, pred)),
        Value::String(s) => is_condition(s),
        _ => false,
    }
}

/// kyaml's `IsNilOrEmpty` for a value: null, `{}` or `[]`.
pub(crate) fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Strips the anchors from a node; returns whether the node should be removed from its parent.
/// Scalars are removed only when `delete_scalar` (they were the value of a condition).
pub(crate) fn delete_anchors(node: &mut Value, delete_scalar: bool, traverse_maps: bool) -> bool {
    match node {
        Value::Object(m) => delete_anchors_in_map(m, traverse_maps),
        Value::Array(items) => delete_anchors_in_list(items, traverse_maps),
        _ => delete_scalar,
    }
}

fn delete_anchors_in_map(map: &mut Map<String, Value>, traverse_maps: bool) -> bool {
    // Condition keys are rare: the map's keys are copied only when it has one.
    if map.keys().any(|k| is_condition(k)) {
        let conditions: Vec<String> = map.keys().filter(|k| is_condition(k)).cloned().collect();
        let mut anchors_left = false;
        for key in &conditions {
            let remove = map
                .get_mut(key)
                .is_some_and(|v| delete_anchors(v, true, traverse_maps));
            if remove {
                map.remove(key);
            } else {
                anchors_left = true;
            }
        }
        if anchors_left {
            strip_condition_keys(map);
        }
    }
    // Cleans every value in place and copies only the keys of values to drop (usually none):
    // cheaper than `retain`, whose removal-capable cursor costs more per entry than the work.
    let mut doomed: Vec<String> = Vec::new();
    for (k, v) in map.iter_mut() {
        if delete_anchors(v, false, traverse_maps) {
            doomed.push(k.clone());
        }
    }
    for k in &doomed {
        map.remove(k);
    }
    map.is_empty()
}

/// Renames `(key)` and `<(key)` to `key`.
fn strip_condition_keys(map: &mut Map<String, Value>) {
    let conditions: Vec<String> = map.keys().filter(|k| is_condition(k)).cloned().collect();
    for anchored in conditions {
        let Some(bare) = parse(&anchored).map(|a| a.key.to_string()) else {
            continue;
        };
        if let Some(v) = map.remove(&anchored) {
            map.insert(bare, v);
        }
    }
}

/// Drops anchored elements (Kyverno deletes them by a stale index, which can remove the wrong
/// element when a list holds several anchored templates; this removes the intended ones).
fn delete_anchors_in_list(items: &mut Vec<Value>, traverse_maps: bool) -> bool {
    let was_empty = items.is_empty();
    if !traverse_maps {
        // An element with anchors is dropped whatever its content, so one walk both looks
        // for anchors and cleans: it stops at the first anchor, and the element goes.
        items.retain_mut(|elem| clean_plain(elem).is_some_and(|remove| !remove));
        return items.is_empty() && !was_empty;
    }
    items.retain_mut(|elem| {
        if has_anchors(elem, is_mutate_anchor) {
            let remove = if traverse_maps && elem.is_object() {
                delete_anchors(elem, true, traverse_maps)
            } else {
                true
            };
            !remove
        } else {
            !delete_anchors(elem, false, traverse_maps)
        }
    });
    items.is_empty() && !was_empty
}

/// `delete_anchors(v, false, false)` for a value in which [`has_anchors`] (with
/// [`is_mutate_anchor`]) finds nothing; `None` as soon as it finds an anchor, leaving `v`
/// partly cleaned.
fn clean_plain(v: &mut Value) -> Option<bool> {
    match v {
        Value::Object(m) => {
            let mut doomed: Vec<String> = Vec::new();
            for (k, c) in m.iter_mut() {
                if is_mutate_anchor(k) {
                    return None;
                }
                if clean_plain(c)? {
                    doomed.push(k.clone());
                }
            }
            for k in &doomed {
                m.remove(k);
            }
            Some(m.is_empty())
        }
        Value::Array(items) => {
            let was_empty = items.is_empty();
            let mut anchored = false;
            items.retain_mut(|e| match clean_plain(e) {
                _ if anchored => true,
                None => {
                    anchored = true;
                    true
                }
                Some(remove) => !remove,
            });
            (!anchored).then_some(items.is_empty() && !was_empty)
        }
        Value::String(s) if is_condition(s) => None,
        _ => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delete_anchors_table() {
        let cases = [
            // Condition with a scalar value: removed.
            (
                json!({"(name)": "*", "image": "x"}),
                false,
                json!({"image": "x"}),
            ),
            // Only conditions: the whole map goes.
            (json!({"(name)": "*"}), true, json!({})),
            // A condition with a map value that still patches something is unwrapped.
            (
                json!({"(spec)": {"(a)": 1, "b": 2}}),
                false,
                json!({"spec": {"b": 2}}),
            ),
            // Empty maps are dropped, as in Kyverno.
            (json!({"a": {}, "b": 1}), false, json!({"b": 1})),
            // Lists of anchored templates become empty and are dropped.
            (json!({"c": [{"(name)": "*", "x": 1}]}), true, json!({})),
            // Anchor-free elements stay.
            (
                json!({"c": [{"name": "a", "x": 1}]}),
                false,
                json!({"c": [{"name": "a", "x": 1}]}),
            ),
        ];
        for (mut input, want_remove, want) in cases {
            let original = input.clone();
            assert_eq!(
                delete_anchors(&mut input, false, false),
                want_remove,
                "{original}"
            );
            assert_eq!(input, want, "{original}");
        }
    }

    #[test]
    fn several_anchored_templates_are_all_removed() {
        let mut v =
            json!([{"(name)": "a"}, {"(name)": "b"}, {"name": "a", "x": 1}, {"name": "b", "x": 2}]);
        assert!(!delete_anchors(&mut v, false, false));
        assert_eq!(v, json!([{"name": "a", "x": 1}, {"name": "b", "x": 2}]));
    }

    #[test]
    fn has_anchors_sees_nested_keys_and_scalar_conditions() {
        assert!(has_anchors(&json!({"a": {"+(b)": 1}}), is_mutate_anchor));
        assert!(has_anchors(&json!(["(x)"]), is_mutate_anchor));
        assert!(!has_anchors(&json!({"a": {"=(b)": 1}}), is_mutate_anchor));
        assert!(has_anchors(
            &json!({"a": {"<(b)": null}}),
            super::super::key::is_global
        ));
        assert!(!has_anchors(
            &json!({"a": {"(b)": 1}}),
            super::super::key::is_global
        ));
    }
}
