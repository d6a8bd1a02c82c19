//! RFC 7386 JSON merge patch.

use crate::error::PatchError;
use crate::value::MAX_DEPTH;
use serde_json::{Map, Value};

/// Applies an RFC 7386 merge patch: objects merge recursively, `null` deletes, anything else
/// (arrays included) replaces.
pub fn merge_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    apply(Some(target.clone()), patch, 0)
}

fn apply(target: Option<Value>, patch: &Value, depth: usize) -> Result<Value, PatchError> {
    if depth > MAX_DEPTH {
        return Err(PatchError::TooDeep { limit: MAX_DEPTH });
    }
    let Value::Object(p) = patch else {
        return Ok(patch.clone());
    };
    let mut base = match target {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (k, v) in p {
        if v.is_null() {
            base.remove(k);
            continue;
        }
        let merged = apply(base.remove(k), v, depth + 1)?;
        base.insert(k.clone(), merged);
    }
    Ok(Value::Object(base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7386_appendix_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, want) in cases {
            assert_eq!(
                merge_patch(&target, &patch).unwrap(),
                want,
                "{target} + {patch}"
            );
        }
    }
}
