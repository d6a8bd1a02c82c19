//! Routes, the HTTPS listener and the startup sequence of `palisade-serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_server::Handle;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use hyper_util::rt::TokioExecutor;
use palisade_admission::{FailurePolicy, Phase};
use tokio::task::JoinHandle;

use crate::config::ServeArgs;
use crate::connections::ConnectionLimit;
use crate::handler::{Scope, admit};
use crate::state::{Limits, ServerState};

/// The HTTP routes: `/validate` and `/mutate` evaluate every policy (file mode); `/…/fail`
/// and `/…/ignore` (the cluster's webhooks) evaluate only the policies of that failure
/// policy and answer a deadline overrun as it says. Health probes and metrics.
pub fn router(state: ServerState) -> Router {
    let route = |phase: Phase, scope: Scope| {
        post(move |State(s): State<ServerState>, uri: Uri, body: Body| {
            admit(s, phase, scope, uri, body)
        })
    };
    let only = Scope::Only;
    Router::new()
        .route("/validate", route(Phase::Validate, Scope::All))
        .route(
            "/validate/fail",
            route(Phase::Validate, only(FailurePolicy::Fail)),
        )
        .route(
            "/validate/ignore",
            route(Phase::Validate, only(FailurePolicy::Ignore)),
        )
        .route("/mutate", route(Phase::Mutate, Scope::All))
        .route(
            "/mutate/fail",
            route(Phase::Mutate, only(FailurePolicy::Fail)),
        )
        .route(
            "/mutate/ignore",
            route(Phase::Mutate, only(FailurePolicy::Ignore)),
        )
        .route("/health/liveness", get(|| async { "ok\n" }))
        .route("/health/readiness", get(readiness))
        .route("/metrics", get(metrics))
        .fallback(|uri: Uri| async move {
            (
                StatusCode::NOT_FOUND,
                format!(
                    "no such endpoint: {}; use /validate or /mutate\n",
                    uri.path()
                ),
            )
        })
        .with_state(state)
}

async fn readiness(State(s): State<ServerState>) -> Response {
    if s.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        let why = if s.cache.is_loaded() {
            "waiting for the webhook configuration"
        } else {
            "policies not loaded"
        };
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response()
    }
}

async fn metrics(State(s): State<ServerState>) -> Response {
    let set = s.cache.snapshot();
    let text = s.metrics.encode(set.len(), s.cache.generation());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// A listening server.
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    handle: Handle<SocketAddr>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish for up to `grace`, then closes.
    pub fn shutdown(&self, grace: Duration) {
        self.handle.graceful_shutdown(Some(grace));
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.handle.connection_count()
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task
            .await
            .context("the server task failed")?
            .context("the server stopped with an error")
    }
}

/// Starts serving HTTPS on `listen` with `state.certs` as the certificate source.
pub async fn start(state: ServerState, listen: SocketAddr) -> anyhow::Result<RunningServer> {
    let tls = state
        .certs
        .server_config()
        .context("building the TLS configuration")?;
    let config = RustlsConfig::from_config(Arc::new(tls));
    let handle: Handle<SocketAddr> = Handle::new();
    let acceptor =
        RustlsAcceptor::new(config).acceptor(ConnectionLimit::new(state.limits.max_connections));
    let app = router(state);
    let mut server = axum_server::bind(listen)
        .acceptor(acceptor)
        .handle(handle.clone());
    bound_buffers(server.http_builder());
    let task = tokio::spawn(server.serve(app.into_make_service()));
    let addr = match handle.listening().await {
        Some(addr) => addr,
        None => {
            let err = match task.await {
                Ok(Err(e)) => e.to_string(),
                _ => "the listener closed".to_string(),
            };
            anyhow::bail!("cannot listen on {listen}: {err}");
        }
    };
    Ok(RunningServer { addr, handle, task })
}

/// Per-connection HTTP buffers sized for AdmissionReviews rather than hyper's defaults for
/// arbitrary traffic. Bodies stream through whatever the buffer size; these bound what an
/// idle or slow connection can hold.
fn bound_buffers(builder: &mut hyper_util::server::conn::auto::Builder<TokioExecutor>) {
    // HTTP/1: the read buffer grows from 8 KiB up to this (default ~400 KiB) for headers
    // and pipelined requests; the API server's headers are small.
    builder.http1().max_buf_size(64 * 1024);
    // HTTP/2 (other clients; the API server calls admission webhooks over HTTP/1.1 since
    // Kubernetes 1.16, kubernetes/kubernetes#82090): receive windows bound what a peer may send ahead of
    // our reads (default 1 MiB per stream and per connection), the send buffer what waits
    // to be written per stream (default ~400 KiB); answers are a few KiB. More streams than
    // evaluation slots only queue, so a peer gets fewer at once (default 200).
    builder
        .http2()
        .initial_stream_window_size(256 * 1024)
        .initial_connection_window_size(512 * 1024)
        .max_send_buf_size(64 * 1024)
        .max_concurrent_streams(64);
}

/// The state `palisade-serve` starts with: limits from the command line, and in file mode
/// the policies and certificate files loaded (errors here stop the start).
pub fn file_mode_state(args: &ServeArgs) -> anyhow::Result<ServerState> {
    let state = ServerState::new(Limits::from_args(&args.limits));
    if !args.policies.is_empty() {
        let set = palisade_admission::load_dir(&args.policies).map_err(anyhow::Error::msg)?;
        tracing::info!(policies = set.len(), "policies loaded");
        state.cache.replace(set);
        // Without a cluster there is no webhook configuration to wait for.
        if !args.cluster.enabled() {
            state.ready.store(true, Ordering::Release);
        }
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        state
            .certs
            .install_files(cert, key)
            .context("loading the serving certificate")?;
    }
    Ok(state)
}

/// `palisade-serve`: file mode from start to graceful stop.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut state = file_mode_state(&args)?;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        tokio::spawn(crate::tls::watch_files(
            state.certs.clone(),
            cert.clone(),
            key.clone(),
            Duration::from_secs(args.tls_reload_interval.max(1)),
        ));
    }
    // Cluster mode fills the cache, installs certificates and sets readiness itself.
    let cluster = crate::cluster::spawn(&args, &mut state).await?;
    if cluster.is_none() && !state.certs.is_installed() {
        anyhow::bail!("no serving certificate: pass --tls-cert and --tls-key (or --kubeconfig)");
    }
    if cluster.is_none() && !state.cache.is_loaded() {
        anyhow::bail!("no policies: pass --policies DIR (or --kubeconfig)");
    }
    let grace = state.limits.shutdown_grace;
    let server = start(state, args.listen).await?;
    tracing::info!(addr = %server.addr, "serving admission reviews");
    palisade_kube::shutdown_signal().await;
    tracing::info!(
        connections = server.connections(),
        "shutting down; draining in-flight requests"
    );
    server.shutdown(grace);
    server.wait().await
}
