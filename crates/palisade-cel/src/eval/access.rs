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
        Value::Optional(None) => Ok(Value::none()),
        Value::Optional(Some(inner)) => select(inner, field, true),
        Value::Opaque(o) => match o.field(field) {
            Some(Ok(x)) if optional => Ok(Value::some(x)),
            Some(Ok(x)) => Ok(x),
            Some(Err(e)) => Err(RtError::from(e)),
            None if optional => Ok(Value::none()),
            None => err(format!("no such key: {field}")),
        },
        v @ Value::List(_) => err(format!(
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
    match v {
        Value::List(items) => {
            let idx = match i {
                Value::Int(n) => usize::try_from(*n).ok(),
                Value::Uint(n) => usize::try_from(*n).ok(),
                Value::Double(d) if d.fract() == 0.0 && *d >= 0.0 => Some(*d as usize),
                Value::Double(_) => return err(format!("unsupported index value {i:?}")),
                _ => return ops::no_such_overload("_[_]", &[v, i]),
            };
            match idx.and_then(|n| items.get(n)) {
                Some(x) => Ok(wrap(x)),
                None if optional => Ok(Value::none()),
                None => err(format!("index out of bounds: {}", display_index(i))),
            }
        }
        Value::Map(m) => match ops::map_get(m, i) {
            Some(x) => Ok(wrap(x)),
            None if optional => Ok(Value::none()),
            None => err(format!("no such key: {}", display_index(i))),
        },
        Value::Optional(None) => Ok(Value::none()),
        Value::Optional(Some(inner)) => index_value(inner, i, true),
        _ => ops::no_such_overload("_[_]", &[v, i]),
    }
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
