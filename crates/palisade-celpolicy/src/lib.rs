//! Kyverno's CEL policy types and Kubernetes admission policies, evaluated like Kyverno.
//!
//! - [`api`]: strict serde types for `policies.kyverno.io` ValidatingPolicy, MutatingPolicy,
//!   PolicyException and `admissionregistration.k8s.io` ValidatingAdmissionPolicy,
//!   MutatingAdmissionPolicy and their bindings; [`api::decode`] recognises them.
//! - [`CompiledValidatingPolicy`], [`CompiledVap`], [`CompiledException`]: every expression
//!   parsed and type-checked once; errors name the policy, field path and position.
//! - [`CelRequest`]: a request converted once for every policy; [`libs::CelData`] answers
//!   Kyverno's `resource`, `http`, `globalContext` and image-data libraries.
//! - Results are palisade-engine [`palisade_engine::PolicyResponse`]s, so reports and the CLI
//!   treat CEL policies like classic ones.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod autogen;
pub mod env;
pub mod exception;
pub mod libs;
pub mod matching;
pub mod mpol;
pub mod mutation;
pub mod request;
pub mod vap;
pub mod vpol;

pub use env::PolicyError;
pub use exception::CompiledException;
pub use libs::{CelData, NoData};
pub use mpol::{CompiledMap, CompiledMutatingPolicy, MutateOutcome};
pub use request::CelRequest;
pub use vap::CompiledVap;
pub use vpol::CompiledValidatingPolicy;
