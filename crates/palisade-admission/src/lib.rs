//! Kyverno-compatible admission review: pure and synchronous.
//!
//! - [`compile_document`] compiles one watched object or file document into an [`Entry`];
//!   [`load_dir`] loads policy files; [`PolicySet`] groups entries immutably and
//!   [`PolicyCache`] holds the active set, swapped atomically.
//! - [`AdmissionReview`] and friends are the `admission.k8s.io/v1` wire types.
//! - [`Scanner`] evaluates existing resources for background scans (no request, no user).
//! - [`review`] evaluates one [`AdmissionRequest`] in a [`Phase`] and returns a [`Verdict`]:
//!   the decision with Kyverno's wording, warnings, the RFC 6902 patch and every rule result.
//!   Cluster data comes through [`ReviewEnv`]'s ports ([`ClusterView`], the engine's
//!   `ContextSource`, the CEL policies' `CelData`), so this crate does no I/O.
//!
//! ```
//! use palisade_admission::{review, AdmissionReview, Phase, PolicySet, ReviewEnv};
//!
//! let body = br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
//!     "request": {"uid": "1", "operation": "CREATE", "kind": {"version": "v1", "kind": "Pod"},
//!     "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}}}"#;
//! let mut request = AdmissionReview::from_slice(body).unwrap();
//! let verdict = review(&PolicySet::default(), &mut request, Phase::Validate, &ReviewEnv::offline());
//! let answer = AdmissionReview::respond(verdict.response(&request.uid));
//! assert!(answer.response.unwrap().allowed);
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod background;
mod cache;
mod env;
mod failure;
mod load;
pub mod message;
mod mutate;
mod request;
mod review;
mod scan;
mod set;
mod types;
mod validate;
mod verdict;

pub use background::{RequestType, TriggerRef, UpdateRequestSpec, update_requests};
pub use cache::PolicyCache;
pub use env::{ClusterView, NoCluster, ReviewEnv, Roles};
pub use failure::{
    FailurePolicy, failure_policy, mutating_policy_failure, validating_policy_failure,
};
pub use load::load_dir;
pub use review::{review, review_for};
pub use scan::{Scanned, ScannedPolicy, Scanner};
pub use set::{
    BoundAdmissionPolicy, CelEntry, Entry, PolicySet, compile_document, compile_located,
};
pub use types::{
    API_VERSION, AdmissionRequest, AdmissionResponse, AdmissionReview, GroupVersionKind,
    GroupVersionResource, ReviewError, Status, UserInfo,
};
pub use verdict::{Phase, PolicyKind, RuleResult, Verdict};

pub use palisade_api::load::{LoadError, expand};
