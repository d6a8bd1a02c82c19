//! RFC 6902 JSON patch: parsing, lenient application as Kyverno configures evanphx/json-patch,
//! and serialisation in the form the API server accepts in an `AdmissionResponse`.

mod apply;
pub use apply::{MAX_COPIED_NODES, MAX_PADDING};
pub mod pointer;

use crate::error::PatchError;
use serde::Serialize;
use serde_json::Value;

/// One RFC 6902 operation. Paths are JSON pointers, kept escaped.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Operation {
    /// Adds `value` at `path` (inserting into arrays).
    Add {
        /// Target pointer.
        path: String,
        /// Value to add.
        value: Value,
    },
    /// Removes the value at `path`.
    Remove {
        /// Target pointer.
        path: String,
    },
    /// Replaces the value at `path`.
    Replace {
        /// Target pointer.
        path: String,
        /// New value.
        value: Value,
    },
    /// Moves the value at `from` to `path`.
    Move {
        /// Source pointer.
        from: String,
        /// Target pointer.
        path: String,
    },
    /// Copies the value at `from` to `path`.
    Copy {
        /// Source pointer.
        from: String,
        /// Target pointer.
        path: String,
    },
    /// Fails the patch unless the value at `path` equals `value`.
    Test {
        /// Target pointer.
        path: String,
        /// Expected value.
        value: Value,
    },
}

impl Operation {
    /// The operation's name (`"add"`, `"remove"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Add { .. } => "add",
            Operation::Remove { .. } => "remove",
            Operation::Replace { .. } => "replace",
            Operation::Move { .. } => "move",
            Operation::Copy { .. } => "copy",
            Operation::Test { .. } => "test",
        }
    }

    /// The operation's target pointer.
    pub fn path(&self) -> &str {
        match self {
            Operation::Add { path, .. }
            | Operation::Remove { path }
            | Operation::Replace { path, .. }
            | Operation::Move { path, .. }
            | Operation::Copy { path, .. }
            | Operation::Test { path, .. } => path,
        }
    }
}

/// An RFC 6902 patch: a list of operations applied in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Patch(pub Vec<Operation>);

impl Patch {
    /// Parses a patch from its JSON value (an array of operation objects). Kyverno's
    /// `patchesJson6902` string is YAML or JSON text; parse it into a `Value` first.
    pub fn from_value(value: &Value) -> Result<Self, PatchError> {
        let Value::Array(ops) = value else {
            return Err(PatchError::InvalidJsonPatch {
                index: 0,
                reason: "a JSON patch must be a list of operations".into(),
            });
        };
        ops.iter()
            .enumerate()
            .map(|(i, op)| {
                parse_op(op).map_err(|reason| PatchError::InvalidJsonPatch { index: i, reason })
            })
            .collect::<Result<_, _>>()
            .map(Patch)
    }

    /// Applies the patch to a copy of `doc`, with Kyverno's options: negative array indices,
    /// removal of missing paths is a no-op, and `add` creates missing parents.
    pub fn apply(&self, doc: &Value) -> Result<Value, PatchError> {
        apply::apply(&self.0, doc)
    }

    /// The operations.
    pub fn operations(&self) -> &[Operation] {
        &self.0
    }

    /// Whether the patch has no operations.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The patch as JSON bytes, as `AdmissionResponse.patch` carries it (before base64).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Serialising Values and Strings cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The patch as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn field<'a>(op: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    op.get(name).ok_or_else(|| format!("missing {name:?}"))
}

fn string_field(op: &serde_json::Map<String, Value>, name: &str) -> Result<String, String> {
    field(op, name)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{name:?} must be a string"))
}

fn parse_op(op: &Value) -> Result<Operation, String> {
    let Value::Object(op) = op else {
        return Err("an operation must be an object".into());
    };
    let kind = string_field(op, "op")?;
    let path = string_field(op, "path")?;
    pointer::parse(&path)?;
    let from = || -> Result<String, String> {
        let from = string_field(op, "from")?;
        pointer::parse(&from)?;
        Ok(from)
    };
    Ok(match kind.as_str() {
        "add" => Operation::Add {
            path,
            value: field(op, "value")?.clone(),
        },
        "replace" => Operation::Replace {
            path,
            value: field(op, "value")?.clone(),
        },
        // evanphx treats a test without a value as a test for null.
        "test" => Operation::Test {
            path,
            value: op.get("value").cloned().unwrap_or(Value::Null),
        },
        "remove" => Operation::Remove { path },
        "move" => Operation::Move {
            from: from()?,
            path,
        },
        "copy" => Operation::Copy {
            from: from()?,
            path,
        },
        other => return Err(format!("unsupported operation {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_all_operations_and_serialises_back() {
        let doc = json!([
            {"op": "add", "path": "/a", "value": 1},
            {"op": "remove", "path": "/b"},
            {"op": "replace", "path": "/c", "value": [1]},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "copy", "from": "/f", "path": "/g"},
            {"op": "test", "path": "/h", "value": "x"}
        ]);
        let patch = Patch::from_value(&doc).unwrap();
        assert_eq!(patch.0.len(), 6);
        assert_eq!(patch.to_value(), doc);
        assert_eq!(
            serde_json::from_slice::<Value>(&patch.to_json_bytes()).unwrap(),
            doc
        );
    }

    #[test]
    fn rejects_malformed_operations_naming_the_index() {
        let cases = [
            (json!({"op": "add"}), "list of operations"),
            (
                json!([{"op": "add", "path": "/a", "value": 1}, {"op": "add", "path": "/a"}]),
                "operation 1: missing \"value\"",
            ),
            (
                json!([{"op": "frobnicate", "path": "/a"}]),
                "unsupported operation",
            ),
            (json!([{"op": "move", "path": "/a"}]), "missing \"from\""),
            (
                json!([{"op": "remove", "path": "a"}]),
                "must be empty or start with '/'",
            ),
            (json!([{"path": "/a"}]), "missing \"op\""),
            (json!(["add"]), "must be an object"),
        ];
        for (doc, want) in cases {
            let err = Patch::from_value(&doc).unwrap_err().to_string();
            assert!(err.contains(want), "{doc}: {err}");
        }
    }
}
