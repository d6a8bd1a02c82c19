//! Command-line settings of `palisade-serve` (and `palisade serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    Json,
    /// Human-readable lines.
    Text,
}

/// `palisade-serve`: serve Kyverno policies as a Kubernetes admission webhook.
#[derive(Debug, Clone, Parser)]
#[command(name = "palisade-serve", version, about)]
pub struct ServeArgs {
    /// Policy files or directories (ClusterPolicy, Policy, PolicyException, ValidatingPolicy).
    /// In file mode the webhook serves exactly these.
    #[arg(long = "policies", value_name = "PATH", num_args = 1..)]
    pub policies: Vec<PathBuf>,

    /// Address to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:9443")]
    pub listen: SocketAddr,

    /// Serving certificate chain (PEM). Reloaded when the file changes.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Private key of the serving certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// How often the certificate files are checked for changes, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub tls_reload_interval: u64,

    /// Request limits.
    #[command(flatten)]
    pub limits: LimitArgs,

    /// Cluster mode.
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,

    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Bounds on what one request may cost.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest accepted request body, in bytes (the API server's 3 MiB object limit plus the
    /// AdmissionReview envelope).
    #[arg(long, value_name = "N", default_value_t = 3 * 1024 * 1024 + 64 * 1024)]
    pub max_body_bytes: usize,

    /// Evaluations running at once (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Connections open at once; further ones wait before their TLS handshake until one
    /// closes. Each open connection costs its TLS and HTTP buffers (the API server keeps a
    /// HTTP/1.1 connections per webhook, one per concurrent request).
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub max_connections: usize,

    /// Deadline of a request the API server sent without `?timeout=` (seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub default_timeout: u64,

    /// Time kept back from the API server's timeout to send the answer (milliseconds).
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub deadline_margin_ms: u64,

    /// How long shutdown waits for in-flight requests (seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub shutdown_grace: u64,
}

impl LimitArgs {
    /// The concurrency bound, resolved.
    pub fn concurrency(&self) -> usize {
        self.concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }

    /// The margin kept from the API server's timeout.
    pub fn margin(&self) -> Duration {
        Duration::from_millis(self.deadline_margin_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_required_pairs() {
        let a = ServeArgs::try_parse_from(["palisade-serve", "--policies", "a", "b"]).unwrap();
        assert_eq!(a.policies.len(), 2);
        assert_eq!(a.limits.max_body_bytes, 3 * 1024 * 1024 + 64 * 1024);
        assert_eq!(a.listen.port(), 9443);
        assert!(a.limits.concurrency() >= 1);
        assert_eq!(a.limits.max_connections, 128);
        let missing_key = ServeArgs::try_parse_from(["palisade-serve", "--tls-cert", "c.pem"]);
        assert!(missing_key.is_err());
    }
}
