//! The control plane comes from palisade-testcluster; what only these tests need is here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_admission::PolicyCache;
use palisade_kube::{ClientTarget, KubeOptions, ReadyFlag, TlsSink, run_with_client};
pub use palisade_testcluster::{Cluster, repo_root};

/// The limit for eventually-consistent state in these tests.
pub const WAIT: Duration = Duration::from_secs(60);

/// The namespace the webhook's runtime keeps its Secrets in.
pub const NS: &str = "palisade-system";

/// Options for the webhook's runtime in `namespace`, webhooks calling 127.0.0.1:9443 (nothing
/// listens there: these tests look at what the runtime writes, not at admission).
pub fn options(namespace: &str) -> KubeOptions {
    KubeOptions::new(
        namespace,
        ClientTarget::Url("https://127.0.0.1:9443".into()),
    )
}

/// The webhook's cluster runtime (`run_with_client`) on a task, and what tests look at.
pub struct Running {
    pub cache: Arc<PolicyCache>,
    pub sink: Arc<RecordingSink>,
    pub ready: ReadyFlag,
    pub task: tokio::task::JoinHandle<Result<(), palisade_kube::Error>>,
}

impl Running {
    /// Spawns the runtime with a fresh cache, certificate sink and ready flag.
    pub fn start(client: kube::Client, opts: KubeOptions) -> Running {
        let cache = Arc::new(PolicyCache::new());
        let sink = Arc::new(RecordingSink::default());
        let ready: ReadyFlag = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run_with_client(
            client,
            opts,
            cache.clone(),
            sink.clone(),
            ready.clone(),
        ));
        Running {
            cache,
            sink,
            ready,
            task,
        }
    }

    /// Waits (at most [`WAIT`]) until the runtime says it is ready.
    pub async fn wait_ready(&self, what: &str) {
        eventually(what, WAIT, || {
            self.ready.load(Ordering::Acquire).then_some(())
        })
        .await;
    }
}

/// Records the serving certificates the runtime installs.
#[derive(Default)]
pub struct RecordingSink(pub Mutex<Vec<String>>);

impl RecordingSink {
    pub fn certs(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl TlsSink for RecordingSink {
    fn install(&self, cert_pem: &str, key_pem: &str) -> Result<(), String> {
        if !key_pem.contains("PRIVATE KEY") {
            return Err("no key".into());
        }
        self.0.lock().unwrap().push(cert_pem.to_string());
        Ok(())
    }
}

/// Polls `check` until it returns Some (at most `limit`), for eventually-consistent state.
pub async fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
