//! The Palisade admission webhook server.
//!
//! - [`server::run`] is `palisade-serve`: load policies from files ([`config::ServeArgs`]),
//!   serve `/validate` and `/mutate` over HTTPS, `/health/*` and `/metrics`, stop gracefully on
//!   SIGTERM/SIGINT.
//! - [`state::ServerState`] is the seam for cluster mode: palisade-kube fills its `cache`,
//!   installs certificates through its `certs` ([`tls::CertResolver::install`], the `TlsSink`)
//!   and sets `ready` once its webhook configurations are in place.
//! - [`handler`] turns each call into a bounded, deadline-limited review
//!   ([`palisade_admission::review`]) on the blocking pool.
//! - [`client`] and [`certs`] serve the tests and the `admission-load` generator.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod certs;
pub mod client;
pub mod cluster;
pub mod config;
pub mod connections;
pub mod handler;
pub mod inline;
pub mod loadgen;
pub mod logging;
pub mod metrics;
pub mod reports;
pub mod server;
pub mod state;
pub mod timeout;
pub mod tls;

pub use config::ServeArgs;
pub use server::{RunningServer, router, run, start};
pub use state::{Limits, ReadyFlag, ServerState};
pub use tls::CertResolver;
