//! Serde types for Kyverno's policy resources (`kyverno.io/v1` ClusterPolicy and Policy,
//! `kyverno.io/v2` PolicyException) and the Kyverno CLI's file formats, plus loaders that
//! report file, line and field path for every error.
//!
//! Decoding is strict: an unknown field is an error, as a typo in a policy should be.
//! Resources stay `serde_json::Value`, because Kyverno works on unstructured objects.

pub mod cli;
pub mod conditions;
pub mod context;
pub mod exception;
pub mod generate;
pub mod load;
pub mod matching;
pub mod meta;
pub mod mutate;
pub mod policy;
pub mod validate;

pub use conditions::{AnyAllConditions, Condition, Conditions};
pub use exception::PolicyException;
pub use load::{LoadError, Located, PolicyDocument};
pub use matching::{MatchResources, ResourceDescription, ResourceFilter};
pub use policy::{FailureAction, Policy, Rule, RuleType, Spec};
