//! CEL in classic policies (`validate.cel`, `celPreconditions`) and the Kubernetes
//! admission-policy machinery Kyverno's CEL policy types reuse: the shared API types, the
//! offline kind ↔ resource mapping, the `request` and `namespaceObject` documents, and the
//! validator (match conditions, lazy variables, validations, audit annotations).

pub mod admission;
pub mod gvr;
pub mod inputs;
mod rule;
pub mod types;

pub(crate) use rule::validate_rule;
pub use rule::{CelRule, CompiledCelRule, check, compile_rule, parse};
