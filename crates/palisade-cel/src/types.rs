//! Static types used by the checker and in declarations.

use std::collections::HashMap;
use std::fmt;

/// A CEL type for declarations and checking. JSON documents are declared `Dyn`.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// Any type; checks against it always pass.
    Dyn,
    /// `null_type`.
    Null,
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `uint`.
    Uint,
    /// `double`.
    Double,
    /// `string`.
    String,
    /// `bytes`.
    Bytes,
    /// `google.protobuf.Timestamp`.
    Timestamp,
    /// `google.protobuf.Duration`.
    Duration,
    /// `list(T)`.
    List(Box<Type>),
    /// `map(K, V)`.
    Map(Box<Type>, Box<Type>),
    /// `optional_type(T)`.
    Optional(Box<Type>),
    /// `type`: the type of type values.
    TypeType,
    /// A host-defined type by name, e.g. `net.IP`.
    Opaque(&'static str),
    /// A type parameter in a function signature, e.g. `A` in `list(A).indexOf(A)`.
    Param(&'static str),
}

impl Type {
    /// `list(t)`.
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    /// `map(k, v)`.
    pub fn map(k: Type, v: Type) -> Type {
        Type::Map(Box::new(k), Box::new(v))
    }

    /// `optional_type(t)`.
    pub fn optional(t: Type) -> Type {
        Type::Optional(Box::new(t))
    }

    pub(crate) fn is_dyn(&self) -> bool {
        matches!(self, Type::Dyn)
    }

    /// Replaces bound type parameters; unbound ones become `Dyn`.
    pub(crate) fn substitute(&self, b: &Bindings) -> Type {
        match self {
            Type::Param(p) => b.get(p).cloned().unwrap_or(Type::Dyn),
            Type::List(t) => Type::list(t.substitute(b)),
            Type::Map(k, v) => Type::map(k.substitute(b), v.substitute(b)),
            Type::Optional(t) => Type::optional(t.substitute(b)),
            t => t.clone(),
        }
    }

    /// The most specific common type of two, or `Dyn` if they differ.
    pub(crate) fn join(&self, other: &Type) -> Type {
        if self == other {
            return self.clone();
        }
        match (self, other) {
            (Type::Null, t) | (t, Type::Null) if t.nullable() => t.clone(),
            (Type::List(a), Type::List(b)) => Type::list(a.join(b)),
            (Type::Map(k1, v1), Type::Map(k2, v2)) => Type::map(k1.join(k2), v1.join(v2)),
            (Type::Optional(a), Type::Optional(b)) => Type::optional(a.join(b)),
            _ => Type::Dyn,
        }
    }

    fn nullable(&self) -> bool {
        matches!(
            self,
            Type::Dyn | Type::Timestamp | Type::Duration | Type::Opaque(_) | Type::Null
        )
    }

    /// True if the two types can be equal values under some assignment (used for literals).
    pub(crate) fn compatible(&self, other: &Type) -> bool {
        let mut b = Bindings::new();
        assignable(self, other, &mut b) || assignable(other, self, &mut Bindings::new())
    }
}

/// Type-parameter bindings collected while matching a signature.
pub(crate) type Bindings = HashMap<&'static str, Type>;

/// Whether an argument of type `arg` may be passed where `param` is expected.
pub(crate) fn assignable(param: &Type, arg: &Type, b: &mut Bindings) -> bool {
    match (param, arg) {
        (Type::Dyn, _) | (_, Type::Dyn) => true,
        (Type::Param(p), a) => match b.get(p).cloned() {
            None => {
                b.insert(p, a.clone());
                true
            }
            Some(Type::Dyn) => true,
            Some(bound) => {
                if assignable(&bound, a, b) {
                    true
                } else if assignable(a, &bound, b) {
                    // Widen the binding (e.g. null then int) instead of failing.
                    b.insert(p, bound.join(a));
                    true
                } else {
                    false
                }
            }
        },
        (Type::List(p), Type::List(a)) => assignable(p, a, b),
        (Type::Map(pk, pv), Type::Map(ak, av)) => assignable(pk, ak, b) && assignable(pv, av, b),
        (Type::Optional(p), Type::Optional(a)) => assignable(p, a, b),
        (p, Type::Null) if p.nullable() => true,
        (p, a) => p == a,
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Dyn => write!(f, "dyn"),
            Type::Null => write!(f, "null_type"),
            Type::Bool => write!(f, "bool"),
            Type::Int => write!(f, "int"),
            Type::Uint => write!(f, "uint"),
            Type::Double => write!(f, "double"),
            Type::String => write!(f, "string"),
            Type::Bytes => write!(f, "bytes"),
            Type::Timestamp => write!(f, "google.protobuf.Timestamp"),
            Type::Duration => write!(f, "google.protobuf.Duration"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Map(k, v) => write!(f, "map({k}, {v})"),
            Type::Optional(t) => write!(f, "optional_type({t})"),
            Type::TypeType => write!(f, "type"),
            Type::Opaque(n) => write!(f, "{n}"),
            Type::Param(p) => write!(f, "{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignability() {
        let cases = [
            (Type::Int, Type::Int, true),
            (Type::Int, Type::String, false),
            (Type::Dyn, Type::String, true),
            (Type::list(Type::Int), Type::list(Type::Dyn), true),
            (Type::list(Type::Int), Type::list(Type::Double), false),
            (Type::Timestamp, Type::Null, true),
            (Type::Int, Type::Null, false),
            (
                Type::map(Type::String, Type::Int),
                Type::map(Type::String, Type::Int),
                true,
            ),
        ];
        for (p, a, want) in cases {
            assert_eq!(assignable(&p, &a, &mut Bindings::new()), want, "{p} <- {a}");
        }
    }

    #[test]
    fn params_bind_consistently() {
        let mut b = Bindings::new();
        assert!(assignable(
            &Type::list(Type::Param("A")),
            &Type::list(Type::Int),
            &mut b
        ));
        assert!(!assignable(&Type::Param("A"), &Type::String, &mut b));
        assert!(assignable(&Type::Param("A"), &Type::Int, &mut b));
        assert_eq!(Type::Param("A").substitute(&b), Type::Int);
    }
}
