//! The control plane comes from palisade-testcluster; what only these tests need is here.

use std::sync::Mutex;
use std::time::Duration;

use palisade_kube::TlsSink;
pub use palisade_testcluster::{Cluster, repo_root};

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
