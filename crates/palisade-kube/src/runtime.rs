//! The cluster-side tasks and how they hand over: certificates → CA bundle → webhook
//! configurations → readiness; policies → cache → webhook configurations.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;
use palisade_admission::PolicyCache;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::apply::WebhookManager;
use crate::certs::{self, CertSettings};
use crate::options::{KubeOptions, TlsMode};
use crate::{Error, watch as policy_watch};

/// Receives the serving certificates to use; the webhook server implements it (a rustls
/// certificate resolver that switches without a restart).
pub trait TlsSink: Send + Sync {
    /// Serves this pair (PEM) from now on.
    fn install(&self, cert_pem: &str, key_pem: &str) -> Result<(), String>;
}

/// Set to true once policies are loaded and the webhook configurations are in place.
pub type ReadyFlag = Arc<AtomicBool>;

/// How often the live configurations are compared with the desired ones (an edited or
/// deleted configuration is restored).
const CHECK_LIVE: Duration = Duration::from_secs(60);
/// How often the certificate Secrets are checked between renewals.
const RECHECK: Duration = Duration::from_secs(600);
/// After a CA rotation, how long the new bundle is published before the new serving
/// certificate is used (the API server picks configuration changes up asynchronously).
const BUNDLE_GRACE: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(100);
/// How often a user-supplied CA bundle file is read again.
const BUNDLE_FILE_POLL: Duration = Duration::from_secs(10);

/// Runs the cluster side with a client from `kubeconfig` (or the environment). See
/// [`run_with_client`].
pub async fn run(
    kubeconfig: Option<PathBuf>,
    opts: KubeOptions,
    cache: Arc<PolicyCache>,
    tls: Arc<dyn TlsSink>,
    ready: ReadyFlag,
) -> Result<(), Error> {
    let client = crate::options::client(kubeconfig.as_deref()).await?;
    run_with_client(client, opts, cache, tls, ready).await
}

/// Runs until the process ends: certificates (made, reused, rotated and installed through
/// `tls`), the policy watch (unless `opts.watch_policies` is false and the caller fills
/// `cache`), and the webhook configurations, published only once `cache` is loaded and the CA
/// bundle is known. API errors are retried; it returns only on an error it cannot get past.
pub async fn run_with_client(
    client: Client,
    opts: KubeOptions,
    cache: Arc<PolicyCache>,
    tls: Arc<dyn TlsSink>,
    ready: ReadyFlag,
) -> Result<(), Error> {
    let (bundle_tx, bundle_rx) = watch::channel(None::<String>);
    let (applied_tx, applied_rx) = watch::channel(None::<String>);
    let mut tasks: JoinSet<Result<(), Error>> = JoinSet::new();
    match &opts.tls {
        TlsMode::Generate(settings) => {
            certs::ensure_namespace(&client, &opts.namespace).await;
            let api: Api<Secret> = Api::namespaced(client.clone(), &opts.namespace);
            tasks.spawn(certificates(
                api,
                settings.clone(),
                tls,
                bundle_tx,
                applied_rx,
            ));
        }
        TlsMode::Provided { ca_bundle_pem } => {
            bundle_tx.send_replace(Some(ca_bundle_pem.clone()));
        }
        TlsMode::ProvidedFile { path } => {
            tasks.spawn(bundle_file(path.clone(), bundle_tx));
        }
    }
    if opts.watch_policies {
        tasks.spawn(policy_watch::run(
            client.clone(),
            cache.clone(),
            policy_watch::Options::WEBHOOK,
        ));
    }
    let manager = WebhookManager::new(client, opts.webhook_settings());
    tasks.spawn(configurations(manager, cache, bundle_rx, applied_tx, ready));
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(Error::Task(e.to_string())),
        }
    }
    Ok(())
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Keeps the certificates current: reconciles the Secrets, publishes the bundle, installs a
/// new serving certificate (after a CA change, only once the configurations carry the new
/// bundle), then sleeps until the next renewal point.
async fn certificates(
    api: Api<Secret>,
    settings: CertSettings,
    sink: Arc<dyn TlsSink>,
    bundle_tx: watch::Sender<Option<String>>,
    mut applied_rx: watch::Receiver<Option<String>>,
) -> Result<(), Error> {
    let mut installed: Option<String> = None;
    // The bundle published when `installed` was installed: a certificate from the same CA
    // needs no wait.
    let mut installed_bundle: Option<String> = None;
    let mut backoff = Duration::from_secs(1);
    loop {
        let published = bundle_tx.borrow().clone();
        let material =
            match certs::reconcile(&api, &settings, unix_now(), published.as_deref()).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reconcile certificates; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    continue;
                }
            };
        backoff = Duration::from_secs(1);
        bundle_tx.send_if_modified(|b| {
            let changed = b.as_deref() != Some(material.bundle.as_str());
            if changed {
                *b = Some(material.bundle.clone());
            }
            changed
        });
        if installed.as_deref() != Some(material.serving.cert_pem.as_str()) {
            if installed.is_some() && installed_bundle.as_deref() != Some(material.bundle.as_str())
            {
                // Until the configurations trust the new CA, the old certificate keeps serving.
                let want = Some(material.bundle.clone());
                if applied_rx.wait_for(|b| *b == want).await.is_err() {
                    return Ok(());
                }
                tokio::time::sleep(BUNDLE_GRACE).await;
            }
            sink.install(&material.serving.cert_pem, &material.serving.key_pem)
                .map_err(Error::Sink)?;
            tracing::info!(plan = ?material.plan, "serving certificate installed");
            installed = Some(material.serving.cert_pem.clone());
            installed_bundle = Some(material.bundle.clone());
        }
        let until_renewal = material.next_renewal.saturating_sub(unix_now()).max(1);
        let wait = Duration::from_secs(until_renewal.unsigned_abs()).min(RECHECK);
        tokio::time::sleep(wait).await;
    }
}

/// Publishes the bundle file's content, again whenever it changes. An unreadable or empty
/// file keeps the last bundle (and, at start, keeps the configurations unpublished).
async fn bundle_file(path: PathBuf, bundle_tx: watch::Sender<Option<String>>) -> Result<(), Error> {
    loop {
        match tokio::fs::read_to_string(&path).await {
            Ok(pem) if !crate::tls::split_bundle(&pem).is_empty() => {
                bundle_tx.send_if_modified(|b| {
                    let changed = b.as_deref() != Some(pem.as_str());
                    if changed {
                        tracing::info!(file = %path.display(), "CA bundle loaded");
                        *b = Some(pem.clone());
                    }
                    changed
                });
            }
            Ok(_) => tracing::warn!(file = %path.display(), "no certificate in the CA bundle file"),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read the CA bundle")
            }
        }
        tokio::time::sleep(BUNDLE_FILE_POLL).await;
    }
}

/// Publishes the configurations whenever the policy set or the bundle changes, never before
/// both exist, and marks ready after the first success.
async fn configurations(
    mut manager: WebhookManager,
    cache: Arc<PolicyCache>,
    mut bundle_rx: watch::Receiver<Option<String>>,
    applied_tx: watch::Sender<Option<String>>,
    ready: ReadyFlag,
) -> Result<(), Error> {
    let mut done: Option<(u64, String)> = None;
    let mut last_apply = Instant::now();
    let mut retry_at: Option<Instant> = None;
    loop {
        let bundle = bundle_rx.borrow_and_update().clone();
        if let Some(bundle) = bundle.filter(|_| cache.is_loaded()) {
            let key = (cache.generation(), bundle.clone());
            let since = last_apply.elapsed();
            let check_live = since >= CHECK_LIVE
                || (manager.unresolved() && since >= crate::apply::DISCOVERY_RETRY);
            let retry_due = retry_at.is_none_or(|t| Instant::now() >= t);
            if (done.as_ref() != Some(&key) || check_live) && retry_due {
                let set = cache.snapshot();
                match manager.sync(&set, &bundle, check_live).await {
                    Ok(_) => {
                        done = Some(key);
                        last_apply = Instant::now();
                        retry_at = None;
                        applied_tx.send_replace(Some(bundle));
                        if !ready.swap(true, Ordering::AcqRel) {
                            tracing::info!("webhook configurations in place; ready");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot apply webhook configurations; retrying");
                        retry_at = Some(Instant::now() + Duration::from_secs(2));
                    }
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            changed = bundle_rx.changed() => {
                if changed.is_err() {
                    // The certificate task ended; keep serving with the last bundle.
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }
}
