//! Cluster side of the Palisade admission webhook: policies watched in the cluster and
//! swapped into the policy cache, their status, the webhook configurations, and the
//! CA/serving-certificate Secret with rotation.
//!
//! The webhook server starts [`run`] in cluster mode. It gives it the
//! [`PolicyCache`](palisade_admission::PolicyCache) it evaluates requests with, a [`TlsSink`]
//! that installs serving certificates without a restart, and a readiness flag that `run` sets
//! once policies are loaded and the webhook configurations are in place.

pub mod admissionreport;
pub mod apply;
pub mod cel_rules;
pub mod celdata;
pub mod certs;
pub mod discovery;
pub mod kinds;
mod options;
pub mod params;
pub mod process;
pub mod rules;
mod runtime;
pub mod status;
pub mod tls;
pub mod updaterequest;
pub mod view;
pub mod watch;
pub mod webhooks;

pub use options::{KubeOptions, TlsMode, client, default_sans};
pub use process::shutdown_signal;
pub use runtime::{ReadyFlag, TlsSink, run, run_with_client};
pub use view::ClusterCache;
pub use webhooks::ClientTarget;

/// What stops the cluster side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to the API server failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig: {0}")]
    Config(String),
    /// A certificate could not be made or read.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The webhook server refused a serving certificate.
    #[error("the server refused the serving certificate: {0}")]
    Sink(String),
    /// A background task ended unexpectedly.
    #[error("internal task failed: {0}")]
    Task(String),
}
