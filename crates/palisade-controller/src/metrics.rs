//! Prometheus metrics of the controller, served on `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Report write operations, as the `operation` label says them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    /// Create or update (server-side apply).
    Apply,
    /// Delete.
    Delete,
}

impl WriteOp {
    fn as_str(self) -> &'static str {
        match self {
            WriteOp::Apply => "apply",
            WriteOp::Delete => "delete",
        }
    }
}

type OpLabels = [(&'static str, &'static str); 1];

/// Every metric the controller exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    scans: Counter,
    scan_seconds: Histogram,
    full_rescans: Counter,
    writes: Family<OpLabels, Counter>,
    write_errors: Family<OpLabels, Counter>,
    skipped_writes: Counter,
    watched_kinds: Gauge,
    queue_depth: Gauge,
    leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers the metrics (names as exported, counters get `_total`).
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("palisade_background");
        let scans = Counter::default();
        let scan_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        let full_rescans = Counter::default();
        let writes = Family::<OpLabels, Counter>::default();
        let write_errors = Family::<OpLabels, Counter>::default();
        let skipped_writes = Counter::default();
        let watched_kinds = Gauge::default();
        let queue_depth = Gauge::default();
        let leader = Gauge::default();
        registry.register("scans", "Resources scanned", scans.clone());
        registry.register(
            "scan_duration_seconds",
            "Time to evaluate the background policies on one resource",
            scan_seconds.clone(),
        );
        registry.register(
            "full_rescans",
            "Rescans of every watched resource (policy changes, periodic)",
            full_rescans.clone(),
        );
        registry.register(
            "report_writes",
            "PolicyReport writes by operation",
            writes.clone(),
        );
        registry.register(
            "report_write_errors",
            "PolicyReport writes the API server refused",
            write_errors.clone(),
        );
        registry.register(
            "report_unchanged",
            "Scans whose report was already up to date (no write)",
            skipped_writes.clone(),
        );
        registry.register(
            "watched_kinds",
            "API resources watched for background scans",
            watched_kinds.clone(),
        );
        registry.register(
            "queue_depth",
            "Resources waiting to be scanned",
            queue_depth.clone(),
        );
        registry.register(
            "leader",
            "1 when this replica writes reports",
            leader.clone(),
        );
        Metrics {
            registry,
            scans,
            scan_seconds,
            full_rescans,
            writes,
            write_errors,
            skipped_writes,
            watched_kinds,
            queue_depth,
            leader,
        }
    }

    /// Records one resource scanned in `seconds`.
    pub fn scanned(&self, seconds: f64) {
        self.scans.inc();
        self.scan_seconds.observe(seconds);
    }

    /// Records a full rescan.
    pub fn full_rescan(&self) {
        self.full_rescans.inc();
    }

    /// Records a report write, successful or not.
    pub fn write(&self, op: WriteOp, ok: bool) {
        let labels = [("operation", op.as_str())];
        if ok {
            self.writes.get_or_create(&labels).inc();
        } else {
            self.write_errors.get_or_create(&labels).inc();
        }
    }

    /// Records a scan whose report needed no write.
    pub fn unchanged(&self) {
        self.skipped_writes.inc();
    }

    /// Sets the number of watched API resources.
    pub fn set_watched_kinds(&self, n: usize) {
        self.watched_kinds.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Sets the number of queued resources.
    pub fn set_queue_depth(&self, n: usize) {
        self.queue_depth.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Sets whether this replica leads.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_appear_in_the_exposition() {
        let m = Metrics::new();
        m.scanned(0.001);
        m.scanned(0.002);
        m.write(WriteOp::Apply, true);
        m.write(WriteOp::Delete, false);
        m.set_watched_kinds(8);
        let text = m.render();
        for line in [
            "palisade_background_scans_total 2",
            "palisade_background_scan_duration_seconds_count 2",
            "palisade_background_report_writes_total{operation=\"apply\"} 1",
            "palisade_background_report_write_errors_total{operation=\"delete\"} 1",
            "palisade_background_watched_kinds 8",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }
}
