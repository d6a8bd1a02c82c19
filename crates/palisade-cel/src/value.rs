//! Runtime values.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

/// A CEL map: keys are ordered so iteration and JSON output are deterministic.
pub type MapValue = BTreeMap<Key, Value>;

/// A map key (CEL allows bool, int, uint and string keys).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A boolean key.
    Bool(bool),
    /// A signed integer key.
    Int(i64),
    /// An unsigned integer key.
    Uint(u64),
    /// A string key.
    String(Arc<str>),
}

impl Key {
    /// The key as a value.
    pub fn to_value(&self) -> Value {
        match self {
            Key::Bool(b) => Value::Bool(*b),
            Key::Int(i) => Value::Int(*i),
            Key::Uint(u) => Value::Uint(*u),
            Key::String(s) => Value::String(s.clone()),
        }
    }

    /// Converts a value to a key; doubles with an integral value become integer keys.
    pub fn from_value(v: &Value) -> Option<Key> {
        match v {
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::Int(i) => Some(Key::Int(*i)),
            Value::Uint(u) => Some(Key::Uint(*u)),
            Value::String(s) => Some(Key::String(s.clone())),
            _ => None,
        }
    }
}

/// A host-defined value type (IP, CIDR, URL, Quantity, Semver, or one registered by the embedder).
pub trait Opaque: Debug + Send + Sync + Any {
    /// The CEL type name, e.g. `net.IP`.
    fn type_name(&self) -> &str;
    /// Access for downcasting in library functions.
    fn as_any(&self) -> &dyn Any;
    /// CEL equality with another opaque value (usually same type and same content).
    fn equals(&self, other: &dyn Opaque) -> bool;
    /// JSON form of the value, used when a result leaves CEL.
    fn to_json(&self) -> serde_json::Value;
    /// Field selection `obj.name` on this object: `None` if there is no such field, `Some(Err)`
    /// to fail the selection. Lets a host expose lazily computed, memoized fields (such as
    /// ValidatingAdmissionPolicy `variables`); the default has no fields.
    fn field(&self, name: &str) -> Option<Result<Value, String>> {
        let _ = name;
        None
    }
}

/// A CEL value.
#[derive(Debug, Clone)]
pub enum Value {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// An unsigned 64-bit integer.
    Uint(u64),
    /// A 64-bit float.
    Double(f64),
    /// A UTF-8 string.
    String(Arc<str>),
    /// A byte sequence.
    Bytes(Arc<[u8]>),
    /// A list.
    List(Arc<Vec<Value>>),
    /// A map.
    Map(Arc<MapValue>),
    /// `google.protobuf.Timestamp`.
    Timestamp(jiff::Timestamp),
    /// `google.protobuf.Duration`.
    Duration(jiff::SignedDuration),
    /// A type value such as `int` (the result of `type(x)`).
    Type(Arc<str>),
    /// An optional value: `optional.of(v)` or `optional.none()`.
    Optional(Option<Arc<Value>>),
    /// A host-defined value.
    Opaque(Arc<dyn Opaque>),
    /// A list or map read in place from a JSON document ([`Value::from_json_view`], which
    /// [`crate::Activation::bind_json`] uses). It reads, compares and converts like the
    /// [`Value::List`] or [`Value::Map`] that [`Value::from_json`] builds; code that matches
    /// on lists and maps can ask for those with [`Value::without_views`].
    Doc(crate::doc::DocRef),
}

impl Value {
    /// The CEL type name of the value, as `type(v)` reports it.
    pub fn type_name(&self) -> &str {
        match self {
            Value::Null => "null_type",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Double(_) => "double",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Timestamp(_) => "google.protobuf.Timestamp",
            Value::Duration(_) => "google.protobuf.Duration",
            Value::Type(_) => "type",
            Value::Optional(_) => "optional_type",
            Value::Opaque(o) => o.type_name(),
            Value::Doc(d) => d.type_name(),
        }
    }

    /// Builds a list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    /// Builds a map value.
    pub fn map(entries: MapValue) -> Value {
        Value::Map(Arc::new(entries))
    }

    /// Wraps a host value.
    pub fn opaque<T: Opaque>(v: T) -> Value {
        Value::Opaque(Arc::new(v))
    }

    /// Downcasts an opaque value to a concrete host type.
    pub fn downcast<T: Opaque>(&self) -> Option<&T> {
        match self {
            Value::Opaque(o) => o.as_any().downcast_ref::<T>(),
            _ => None,
        }
    }

    /// The string content if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// An empty optional.
    pub fn none() -> Value {
        Value::Optional(None)
    }

    /// A present optional.
    pub fn some(v: Value) -> Value {
        Value::Optional(Some(Arc::new(v)))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(Arc::from(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(Arc::from(v))
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::list(v)
    }
}

impl PartialEq for Value {
    /// CEL equality (heterogeneous: `1 == 1.0`, different kinds are unequal).
    fn eq(&self, other: &Self) -> bool {
        crate::eval::ops::equals(self, other)
    }
}
