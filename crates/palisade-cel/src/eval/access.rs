//! Field selection and indexing, including the optional forms `.?f` and `[?i]`.

use std::sync::Arc;

use crate::error::{RtError, err};
use crate::eval::ops;
use crate::value::{Key, Value};

/// Field selection, including optional selection and selection through an optional value.
pub(crate) fn select(v: &Value, field: &Arc<str>, optional: bool) -> Result<Value, RtError> {
    match v {
        Value::Map(m) => match m.get(&Key::String(field.clone())) {
            Some(x) if optional => Ok(Value::some(x.clone())),
            Some(x) => Ok(x.clone()),
            None if optional => Ok(Value::none()),
            None => err(format!("no such key: {field}")),
        },
        Value::Doc(d) if !d.is_list() => match d.get(field) {
            Some(x) if optional => Ok(Value::some(x)),
            Some(x) => Ok(x),
            None if optional => Ok(Value::none()),
            None => err(format!("no such key: {field}")),
        },
        Value::Optional(None) => Ok(Value::none()),
        Value::Optional(Some(inner)) => select(inner, field, true),
        Value::Opaque(o) => match o.field(field) {
            Some(Ok(x)) if optional => Ok(Value::some(x)),
            Some(Ok(x)) => Ok(x),
            Some(Err(e)) => Err(RtError::from(e)),
            None if optional => Ok(Value::none()),
            None => err(format!("no such key: {field}")),
        },
        v @ (Value::List(_) | Value::Doc(_)) => err(format!(
            "type '{}' does not support field selection ('.{field}')",
            v.type_name()
        )),
        // cel-go's presence tests find nothing in scalars (null included) instead of failing.
        _ if optional => Ok(Value::none()),
        _ => err(format!("no such key: {field}")),
    }
}

/// Indexing of lists and maps, including `[?i]` and indexing through an optional value.
pub(crate) fn index_value(v: &Value, i: &Value, optional: bool) -> Result<Value, RtError> {
    let wrap = |x: &Value| {
        if optional {
            Value::some(x.clone())
        } else {
            x.clone()
        }
    };
    let found = match v {
        Value::List(items) => list_index(v, i)?.and_then(|n| items.get(n)).map(wrap),
        Value::Doc(d) if d.is_list() => list_index(v, i)?
            .and_then(|n| d.item(n))
            .map(|x| if optional { Value::some(x) } else { x }),
        Value::Map(m) => ops::map_get(m, i).map(wrap),
        // JSON maps have string keys only, which numeric keys never match.
        Value::Doc(d) => match i {
            Value::String(k) => d.get(k).map(|x| if optional { Value::some(x) } else { x }),
            _ => None,
        },
        Value::Optional(None) => return Ok(Value::none()),
        Value::Optional(Some(inner)) => return index_value(inner, i, true),
        _ => return ops::no_such_overload("_[_]", &[v, i]),
    };
    match found {
        Some(x) => Ok(x),
        None if optional => Ok(Value::none()),
        None if matches!(v, Value::List(_)) || matches!(v, Value::Doc(d) if d.is_list()) => {
            err(format!("index out of bounds: {}", display_index(i)))
        }
        None => err(format!("no such key: {}", display_index(i))),
    }
}

/// The position a list index names (`None` when negative or too large).
fn list_index(list: &Value, i: &Value) -> Result<Option<usize>, RtError> {
    Ok(match i {
        Value::Int(n) => usize::try_from(*n).ok(),
        Value::Uint(n) => usize::try_from(*n).ok(),
        Value::Double(d) if d.fract() == 0.0 && *d >= 0.0 => Some(*d as usize),
        Value::Double(_) => return err(format!("unsupported index value {i:?}")),
        _ => return ops::no_such_overload("_[_]", &[list, i]),
    })
}

fn display_index(i: &Value) -> String {
    match i {
        Value::String(s) => s.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Uint(n) => n.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.type_name().to_string(),
    }
}
