//! Command-line flags of `palisade-controller` (also run as `palisade controller`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// The background controller: scans existing resources with the cluster's background
/// policies and writes wgpolicyk8s.io PolicyReports.
#[derive(Debug, Clone, Parser)]
#[command(name = "palisade-controller", version)]
pub struct ControllerArgs {
    /// Kubeconfig of the cluster (default: KUBECONFIG, ~/.kube/config or the in-cluster
    /// service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// How often every watched resource is scanned again (e.g. 1h, 30m, 90s).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub rescan_interval: Duration,

    /// Shortest time between two full rescans caused by policy changes; changes within it are
    /// handled by one rescan at its end.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub policy_rescan_gap: Duration,

    /// Scans running at once, on their own threads (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Report writes in flight at once (creates, applies, deletes). A first scan of a large
    /// cluster is bound by them: the API server answers each in a few milliseconds, mostly
    /// waiting for etcd, so many can be in flight.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub report_writes: usize,

    /// Address of /health/liveness, /health/readiness and /metrics.
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:9080")]
    pub health_listen: SocketAddr,

    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Elect a leader through a coordination.k8s.io Lease: only the leader writes reports.
    #[arg(long)]
    pub leader_election: bool,

    /// Palisade's own namespace: its Lease lives here, and it is never scanned.
    #[arg(
        long,
        value_name = "NS",
        env = "POD_NAMESPACE",
        default_value = "palisade"
    )]
    pub namespace: String,

    /// Namespaces never scanned (their objects are dropped before caching), as the webhook
    /// never sees them; --namespace is always excluded too.
    #[arg(
        long,
        value_name = "NS,...",
        value_delimiter = ',',
        default_value = "kube-system"
    )]
    pub exclude_namespaces: Vec<String>,

    /// Name of the Lease.
    #[arg(long, value_name = "NAME", default_value = "palisade-controller")]
    pub lease_name: String,

    /// This replica's name in the Lease (default: the host name and process id).
    #[arg(long, value_name = "ID", env = "POD_NAME")]
    pub identity: Option<String>,

    /// How long a Lease stays valid without renewal; a follower takes over within about this
    /// time plus two retries (a quarter of it each) after the leader stops.
    #[arg(long, value_name = "DURATION", default_value = "8s", value_parser = parse_duration)]
    pub lease_duration: Duration,
}

impl ControllerArgs {
    /// The number of scan workers, resolved.
    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }

    /// The excluded namespaces, with --namespace, without duplicates or empty names.
    pub fn excluded_namespaces(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for ns in self.exclude_namespaces.iter().chain([&self.namespace]) {
            if !ns.is_empty() && !out.contains(ns) {
                out.push(ns.clone());
            }
        }
        out
    }

    /// This replica's identity, resolved.
    pub fn identity(&self) -> String {
        self.identity.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "palisade".into());
            format!("{host}-{}", std::process::id())
        })
    }
}

/// Parses `1h`, `30m`, `90s`, `500ms`, `2d` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: expected a number with d, h, m, s or ms"))?;
    let millis = match unit {
        "d" => n.checked_mul(86_400_000),
        "h" => n.checked_mul(3_600_000),
        "m" => n.checked_mul(60_000),
        "s" => n.checked_mul(1000),
        "ms" => Some(n),
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use d, h, m, s or ms)"
            ));
        }
    };
    millis
        .filter(|m| *m > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{s:?}: must be positive and below 500 million years"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("1h", 3_600_000),
            ("30m", 1_800_000),
            ("90s", 90_000),
            ("250ms", 250),
            ("2d", 172_800_000),
            ("45", 45_000),
        ];
        for (input, ms) in ok {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::from_millis(ms)),
                "{input}"
            );
        }
        for bad in ["", "h", "0s", "1w", "-5s", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults() {
        let a = ControllerArgs::parse_from(["palisade-controller"]);
        assert_eq!(a.rescan_interval, Duration::from_secs(3600));
        assert_eq!(a.health_listen.port(), 9080);
        assert!(a.workers() >= 1);
        assert!(!a.leader_election);
        let b = ControllerArgs::parse_from([
            "palisade-controller",
            "--rescan-interval",
            "5m",
            "--workers",
            "3",
            "--log-format",
            "json",
        ]);
        assert_eq!((b.rescan_interval.as_secs(), b.workers()), (300, 3));
        assert_eq!(b.log_format, LogFormat::Json);
        assert_eq!(a.excluded_namespaces(), ["kube-system", "palisade"]);
        let c = ControllerArgs::parse_from([
            "palisade-controller",
            "--exclude-namespaces",
            "monitoring,,palisade",
            "--namespace",
            "palisade",
        ]);
        assert_eq!(c.excluded_namespaces(), ["monitoring", "palisade"]);
    }
}
