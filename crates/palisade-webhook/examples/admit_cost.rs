//! Drives the admission handler in process (no TLS, no sockets) N times with the load
//! generator's typical Pod and the Pod Security restricted set, for instruction counts:
//!
//! ```sh
//! cargo build --release -p palisade-webhook --example admit_cost
//! N=200 valgrind --tool=callgrind target/release/examples/admit_cost   # and N=1200: the
//! # difference divided by 1000 is the handler's cost per request
//! ```
//!
//! `PHASE=mutate` drives `/mutate` instead of `/validate`; `POOL=1` evaluates on the blocking
//! pool, as large or slow evaluations are, rather than in place.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Uri;
use palisade_admission::Phase;
use palisade_webhook::handler::{Scope, admit};
use palisade_webhook::inline::InlineGate;
use palisade_webhook::loadgen::typical_pod_body;
use palisade_webhook::state::{Limits, ServerState};
use tokio::sync::Semaphore;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let phase = match std::env::var("PHASE").as_deref() {
        Ok("mutate") => Phase::Mutate,
        _ => Phase::Validate,
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let set = palisade_admission::load_dir(&[
        root.join("policies/pod-security/baseline"),
        root.join("policies/pod-security/restricted"),
    ])
    .map_err(anyhow::Error::msg)?;
    let state = ServerState::new(Limits {
        max_body_bytes: 1 << 20,
        permits: Arc::new(Semaphore::new(2)),
        max_connections: 16,
        default_timeout: Duration::from_secs(10),
        margin: Duration::from_millis(500),
        shutdown_grace: Duration::from_secs(1),
        inline: if std::env::var_os("POOL").is_some() {
            InlineGate::never()
        } else {
            InlineGate::default()
        },
    });
    state.cache.replace(set);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let body = typical_pod_body()?;
    let uri: Uri = "/validate?timeout=10s".parse()?;
    let mut answered = 0usize;
    runtime.block_on(async {
        for _ in 0..n {
            let response = admit(
                state.clone(),
                phase,
                Scope::All,
                uri.clone(),
                Body::from(body.clone()),
            )
            .await;
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
            answered += usize::from(bytes.windows(14).any(|w| w == b"\"allowed\":true"));
        }
        anyhow::Ok(())
    })?;
    println!("{answered} of {n} admitted");
    Ok(())
}
