//! The Palisade background controller: evaluates existing resources with the cluster's
//! background policies and keeps a `wgpolicyk8s.io/v1alpha2` PolicyReport per resource.
//!
//! - [`kinds`] decides which API resources to watch from the policy set (only those the
//!   background policies match), [`watchers`] watches them.
//! - [`controller::Controller`] follows policy changes, queues rescans ([`limiter`] spaces
//!   them), scans ([`scan`]) on a bounded pool of blocking threads and settles each report
//!   ([`decision`]: write only on change, delete when nothing matches, never over the size
//!   limit) through [`store::ReportStore`].
//! - [`generate::Generator`] does generate and mutate-existing rules: the UpdateRequests the
//!   webhook records, synchronization of generated resources, generateExisting.
//! - [`leader`] elects one writer among replicas; [`health`] serves probes and [`metrics`].
//!
//! [`run`] wires it all for the `palisade-controller` binary. See docs/background.md.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod admission;
pub mod cache;
pub mod controller;
pub mod decision;
pub mod generate;
pub mod health;
pub mod kinds;
pub mod leader;
pub mod limiter;
pub mod metrics;
pub mod namespaces;
pub mod options;
pub mod queue;
pub mod recent;
pub mod scan;
pub mod store;
pub mod watchers;

use std::sync::Arc;

use palisade_admission::{PolicyCache, ReviewEnv};
use tokio::sync::watch;

pub use controller::{Controller, Feeds, Settings};
pub use options::{ControllerArgs, LogFormat};

/// What stops the controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster could not be reached or configured.
    #[error(transparent)]
    Kube(#[from] palisade_kube::Error),
    /// The health address could not be bound.
    #[error("cannot listen on {addr} for health and metrics: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A part of the controller ended.
    #[error("{0} stopped unexpectedly")]
    Stopped(&'static str),
}

/// Sets up logging to stderr (`RUST_LOG` filters, default `info`).
pub fn init_logging(format: LogFormat) {
    palisade_kube::process::init_logging(format == LogFormat::Json);
}

/// Runs the controller until SIGINT/SIGTERM or until a part of it fails.
pub async fn run(args: ControllerArgs) -> Result<(), Error> {
    let client = palisade_kube::client(args.kubeconfig.as_deref()).await?;
    let listener = tokio::net::TcpListener::bind(args.health_listen)
        .await
        .map_err(|source| Error::Listen {
            addr: args.health_listen,
            source,
        })?;
    let health = Arc::new(health::Health::default());
    let cache = Arc::new(PolicyCache::new());
    // The webhook writes policy status; the controller only reads the policies.
    let policies = tokio::spawn(palisade_kube::watch::run(
        client.clone(),
        cache.clone(),
        palisade_kube::watch::Options::CONTROLLER,
    ));
    // Background scans have no requester, so of the cluster they need only Namespaces, and
    // the parameters admission policy bindings select (watched and cached).
    let (namespaces, label_changes) = namespaces::Namespaces::start(client.clone());
    namespaces.wait_synced().await;
    let (params, param_changes) = palisade_kube::params::ParamCache::new(client.clone());
    let params = Arc::new(params);
    let env = Arc::new(ReviewEnv {
        cluster: namespaces,
        cel_data: params.clone(),
        ..ReviewEnv::offline()
    });
    let (leader_tx, leader_rx) = watch::channel(!args.leader_election);
    let lease = args.leader_election.then(|| leader::LeaseConfig {
        namespace: args.namespace.clone(),
        name: args.lease_name.clone(),
        identity: args.identity(),
        duration: args.lease_duration,
    });
    let election = lease.clone().map(|cfg| {
        tracing::info!(identity = %cfg.identity, lease = %cfg.name, namespace = %cfg.namespace, "leader election on");
        tokio::spawn(leader::run(client.clone(), cfg, leader_tx))
    });
    let release_client = client.clone();
    let stop_election = election.as_ref().map(tokio::task::JoinHandle::abort_handle);
    let generator = generate::Generator::new(
        client.clone(),
        cache.clone(),
        env.clone(),
        leader_rx.clone(),
        &args.namespace,
        args.excluded_namespaces(),
    );
    let controller = Controller::new(
        client,
        cache,
        env,
        health.clone(),
        leader_rx,
        controller::Feeds {
            label_changes,
            params,
            param_changes,
        },
        Settings {
            rescan_interval: args.rescan_interval,
            policy_rescan_gap: args.policy_rescan_gap,
            workers: args.workers(),
            excluded_namespaces: args.excluded_namespaces(),
            report_writes: args.report_writes,
        },
    );
    let server = tokio::spawn(health::serve(listener, health));
    let inbox = admission::AdmissionInbox::start(release_client.clone(), &args.namespace);
    let merges = tokio::spawn(controller.clone().merge_admission_reports(inbox));
    let main = tokio::spawn(controller.run());
    let generation = tokio::spawn(generator.run());
    tracing::info!(workers = args.workers(), rescan_interval = ?args.rescan_interval, "palisade-controller started");
    let election = async {
        match election {
            Some(h) => {
                let _ = h.await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = palisade_kube::shutdown_signal() => {
            tracing::info!("shutting down");
            if let Some(h) = &stop_election {
                // Not to take the Lease again right after giving it up.
                h.abort();
            }
            if let Some(cfg) = &lease
                && let Err(e) = leader::release(release_client, cfg).await
            {
                tracing::warn!(error = %e, "cannot release the Lease; a follower takes over when it expires");
            }
            Ok(())
        }
        _ = policies => Err(Error::Stopped("the policy watch")),
        _ = server => Err(Error::Stopped("the health server")),
        _ = main => Err(Error::Stopped("the controller loop")),
        _ = merges => Err(Error::Stopped("the admission report merge")),
        _ = generation => Err(Error::Stopped("the generate controller")),
        () = election => Err(Error::Stopped("leader election")),
    }
}
