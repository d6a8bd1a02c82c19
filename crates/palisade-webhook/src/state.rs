//! What every handler shares, and the seam cluster mode plugs into.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use palisade_admission::{PolicyCache, ReviewEnv};
use tokio::sync::Semaphore;

use crate::config::LimitArgs;
use crate::inline::InlineGate;
use crate::metrics::Metrics;
use crate::tls::CertResolver;

/// Set once the webhook may receive traffic besides having policies: file mode sets it at
/// start; cluster mode (palisade-kube) sets it once its webhook configurations are in place.
/// The same type as `palisade_kube::ReadyFlag`.
pub type ReadyFlag = Arc<AtomicBool>;

/// Bounds applied to every admission request.
#[derive(Debug)]
pub struct Limits {
    /// Largest accepted body.
    pub max_body_bytes: usize,
    /// Evaluations allowed at once.
    pub permits: Arc<Semaphore>,
    /// Connections open at once (see [`crate::connections`]).
    pub max_connections: usize,
    /// The timeout assumed when the API server sends none.
    pub default_timeout: Duration,
    /// Time kept back from the timeout to answer.
    pub margin: Duration,
    /// How long shutdown drains in-flight requests.
    pub shutdown_grace: Duration,
    /// Which evaluations run on the async worker rather than the blocking pool.
    pub inline: InlineGate,
}

impl Limits {
    /// Limits from the command line.
    pub fn from_args(args: &LimitArgs) -> Limits {
        Limits {
            max_body_bytes: args.max_body_bytes,
            permits: Arc::new(Semaphore::new(args.concurrency())),
            max_connections: args.max_connections,
            default_timeout: Duration::from_secs(args.default_timeout),
            margin: args.margin(),
            shutdown_grace: Duration::from_secs(args.shutdown_grace),
            inline: InlineGate::default(),
        }
    }

    /// How long a request may take: the API server's timeout (or the default) minus the
    /// margin, never less than a tenth of the timeout.
    pub fn budget(&self, timeout: Option<Duration>) -> Duration {
        let timeout = timeout.unwrap_or(self.default_timeout);
        timeout.saturating_sub(self.margin).max(timeout / 10)
    }
}

/// The server's shared state. Cluster mode starts `palisade_kube::run` with `cache`,
/// `certs` (its `TlsSink`) and `ready`, and may replace `env` with one whose `ClusterView`
/// answers namespace labels and roles from its caches, before the server starts.
#[derive(Clone)]
pub struct ServerState {
    /// The active policies.
    pub cache: Arc<PolicyCache>,
    /// The serving certificate.
    pub certs: Arc<CertResolver>,
    /// Readiness besides the cache being loaded.
    pub ready: ReadyFlag,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Cluster data ports for reviews.
    pub env: Arc<ReviewEnv>,
    /// Request bounds.
    pub limits: Arc<Limits>,
    /// Cluster mode: where the background work of admitted requests (generate and
    /// mutate-existing rules) is recorded for the controller.
    pub background: Option<Arc<palisade_kube::updaterequest::Recorder>>,
    /// Cluster mode: where admission results of policies without background scans go, for
    /// the controller to merge into PolicyReports.
    pub reports: Option<palisade_kube::admissionreport::Writer>,
}

impl ServerState {
    /// A state with an empty cache, no certificate, not ready, and an offline environment.
    pub fn new(limits: Limits) -> ServerState {
        ServerState {
            cache: Arc::new(PolicyCache::new()),
            certs: Arc::new(CertResolver::new()),
            ready: Arc::new(AtomicBool::new(false)),
            metrics: Arc::new(Metrics::new()),
            env: Arc::new(ReviewEnv::offline()),
            limits: Arc::new(limits),
            background: None,
            reports: None,
        }
    }

    /// Ready: policies loaded and the ready flag set.
    pub fn is_ready(&self) -> bool {
        self.cache.is_loaded() && self.ready.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(margin_ms: u64) -> Limits {
        Limits {
            max_body_bytes: 1,
            permits: Arc::new(Semaphore::new(1)),
            max_connections: 8,
            default_timeout: Duration::from_secs(10),
            margin: Duration::from_millis(margin_ms),
            shutdown_grace: Duration::from_secs(1),
            inline: InlineGate::default(),
        }
    }

    #[test]
    fn budgets_keep_a_margin() {
        let cases = [
            (500, None, 9_500),
            (500, Some(Duration::from_secs(3)), 2_500),
            (500, Some(Duration::from_millis(200)), 20),
            (0, Some(Duration::from_secs(30)), 30_000),
        ];
        for (margin, timeout, want_ms) in cases {
            assert_eq!(
                limits(margin).budget(timeout),
                Duration::from_millis(want_ms)
            );
        }
    }

    #[test]
    fn readiness_needs_both() {
        let s = ServerState::new(limits(0));
        assert!(!s.is_ready());
        s.ready.store(true, Ordering::Release);
        assert!(!s.is_ready());
        s.cache.replace(palisade_admission::PolicySet::default());
        assert!(s.is_ready());
    }
}
