//! `/health/liveness`, `/health/readiness` and `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// What the probes report.
#[derive(Debug, Default)]
pub struct Health {
    ready: AtomicBool,
    /// The metrics `/metrics` renders.
    pub metrics: Metrics,
}

impl Health {
    /// Marks the controller ready (policies loaded, caches listed) or not.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// True once ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// The probe and metrics routes.
pub fn router(health: Arc<Health>) -> Router {
    Router::new()
        .route("/health/liveness", get(|| async { "ok" }))
        .route("/health/readiness", get(readiness))
        .route("/metrics", get(metrics))
        .with_state(health)
}

async fn readiness(State(h): State<Arc<Health>>) -> impl IntoResponse {
    if h.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn metrics(State(h): State<Arc<Health>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        h.metrics.render(),
    )
}

/// Serves the routes on `listener` until the process ends.
pub async fn serve(listener: TcpListener, health: Arc<Health>) -> std::io::Result<()> {
    axum::serve(listener, router(health)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn probes_follow_readiness_and_metrics_render() {
        let health = Arc::new(Health::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, health.clone()));
        assert!(
            get(addr, "/health/liveness")
                .await
                .starts_with("HTTP/1.1 200")
        );
        assert!(
            get(addr, "/health/readiness")
                .await
                .starts_with("HTTP/1.1 503")
        );
        health.set_ready(true);
        assert!(
            get(addr, "/health/readiness")
                .await
                .starts_with("HTTP/1.1 200")
        );
        health.metrics.scanned(0.01);
        let m = get(addr, "/metrics").await;
        assert!(m.contains("palisade_background_scans_total 1"), "{m}");
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
    }
}
