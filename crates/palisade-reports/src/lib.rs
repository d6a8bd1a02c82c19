//! PolicyReports for Palisade's background scans and admission audits: the
//! `wgpolicyk8s.io/v1alpha2` objects that `kubectl get policyreport -A` and report tooling read.
//!
//! Pure and synchronous, like the engine: the controller scans a resource with
//! `palisade_admission::Scanner`, turns the responses into rows with [`result::scanned`]
//! (admission results with [`result::row`]), groups rows into report objects with a [`layout`], and
//! writes only what [`change::needs_write`] says changed.

pub mod admission;
pub mod change;
pub mod layout;
pub mod model;
pub mod result;

pub use layout::{ResourceResults, per_namespace, per_resource};
pub use model::{ObjectRef, Outcome, Report, ReportResult, Summary, Timestamp};
pub use result::{PolicyInfo, Process};
