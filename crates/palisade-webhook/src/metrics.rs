//! Prometheus metrics, named after Kyverno's (`kyverno_*` → `palisade_*`; the text format
//! appends `_total` to counters, as Kyverno's do).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;
use std::time::Duration;

use palisade_admission::{Phase, RuleResult, Verdict};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of an admission request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub resource_request_operation: String,
    /// Kind of the object.
    pub resource_kind: String,
    /// "true" or "false".
    pub request_allowed: String,
    /// `validate` or `mutate`.
    pub phase: String,
}

/// Labels of a rule result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// Policy as reports name it.
    pub policy_name: String,
    /// Rule name.
    pub rule_name: String,
    /// pass, fail, warn, error or skip.
    pub rule_result: String,
    /// `validate` or `mutate`.
    pub rule_type: String,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub resource_request_operation: String,
}

/// Labels of an HTTP answer that is not a verdict (bad requests, overload, deadline).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// What went wrong: `bad_request`, `too_large`, `deadline`, `internal`.
    pub reason: String,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RequestLabels, Histogram, fn() -> Histogram>,
    results: Family<ResultLabels, Counter>,
    /// The same counters and histograms, found by a cheap hash of borrowed labels.
    fast_requests: Lookup<RequestLabels, (Counter, Histogram)>,
    fast_results: Lookup<ResultLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    cache_size: Gauge,
    cache_generation: Gauge,
    in_flight: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Latency buckets from 0.25 ms to 10 s: webhook answers are sub-millisecond when healthy and
/// bounded by the API server's timeout when not.
const BUCKETS: [f64; 15] = [
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("palisade");
        let requests = Family::<RequestLabels, Counter>::default();
        let duration: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(BUCKETS));
        let results = Family::<ResultLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let cache_size = Gauge::default();
        let cache_generation = Gauge::default();
        let in_flight = Gauge::default();
        registry.register(
            "admission_requests",
            "Admission requests answered with a verdict",
            requests.clone(),
        );
        registry.register(
            "admission_review_duration_seconds",
            "Time to answer an admission request, from receipt to verdict",
            duration.clone(),
        );
        registry.register(
            "policy_results",
            "Rule results of admission reviews",
            results.clone(),
        );
        registry.register(
            "admission_errors",
            "Requests answered without evaluation (bad request, too large, deadline)",
            errors.clone(),
        );
        registry.register(
            "policy_cache_size",
            "Policies in the active set",
            cache_size.clone(),
        );
        registry.register(
            "policy_cache_generation",
            "Policy sets installed since start",
            cache_generation.clone(),
        );
        registry.register(
            "admission_in_flight",
            "Admission requests accepted and not answered yet (waiting or evaluating)",
            in_flight.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            results,
            fast_requests: Lookup::default(),
            fast_results: Lookup::default(),
            errors,
            cache_size,
            cache_generation,
            in_flight,
        }
    }

    /// Records one verdict.
    pub fn observe(
        &self,
        phase: Phase,
        operation: &str,
        kind: &str,
        verdict: &Verdict,
        took: Duration,
    ) {
        let allowed = if verdict.allowed { "true" } else { "false" };
        let key = [operation, kind, allowed, phase.as_str()];
        let (count, duration) = self.fast_requests.get(
            &key,
            |l| {
                [
                    &*l.resource_request_operation,
                    &*l.resource_kind,
                    &*l.request_allowed,
                    &*l.phase,
                ] == key
            },
            || {
                let labels = RequestLabels {
                    resource_request_operation: operation.to_string(),
                    resource_kind: kind.to_string(),
                    request_allowed: allowed.to_string(),
                    phase: phase.as_str().to_string(),
                };
                let pair = (
                    self.requests.get_or_create(&labels).clone(),
                    self.duration.get_or_create(&labels).clone(),
                );
                (labels, pair)
            },
        );
        count.inc();
        duration.observe(took.as_secs_f64());
        for r in &verdict.results {
            self.result(phase, operation, r);
        }
    }

    fn result(&self, phase: Phase, operation: &str, r: &RuleResult) {
        let key = [
            &*r.policy,
            &*r.rule,
            r.status.as_str(),
            phase.as_str(),
            operation,
        ];
        let counter = self.fast_results.get(
            &key,
            |l| {
                [
                    &*l.policy_name,
                    &*l.rule_name,
                    &*l.rule_result,
                    &*l.rule_type,
                    &*l.resource_request_operation,
                ] == key
            },
            || {
                let labels = ResultLabels {
                    policy_name: r.policy.to_string(),
                    rule_name: r.rule.to_string(),
                    rule_result: r.status.as_str().to_string(),
                    rule_type: phase.as_str().to_string(),
                    resource_request_operation: operation.to_string(),
                };
                let counter = self.results.get_or_create(&labels).clone();
                (labels, counter)
            },
        );
        counter.inc();
    }

    /// Counts a request answered without a verdict.
    pub fn error(&self, reason: &str) {
        self.errors
            .get_or_create(&ErrorLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Tracks admission requests accepted and not answered yet (+1 on entry, -1 on exit).
    pub fn in_flight(&self, delta: i64) {
        self.in_flight.inc_by(delta);
    }

    /// Admission requests accepted and not answered yet.
    pub fn in_flight_now(&self) -> i64 {
        self.in_flight.get()
    }

    /// The text exposition, with the cache gauges refreshed.
    pub fn encode(&self, cache_size: usize, generation: u64) -> String {
        self.cache_size
            .set(i64::try_from(cache_size).unwrap_or(i64::MAX));
        self.cache_generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Metric handles by their label set, found from borrowed label values. A review yields some
/// twenty rule results; building five label `String`s and SipHashing them per result
/// (`Family::get_or_create`) cost more per request than all the rest of the metrics. Handles
/// share their value with the family's (both are `Arc`s inside), so the exposition is
/// unchanged. Like the family, it keeps every label set it has seen.
struct Lookup<L, M> {
    entries: RwLock<Buckets<L, M>>,
}

/// Label sets and their handles by the hash of their values (colliding sets share a bucket).
type Buckets<L, M> = HashMap<u64, Vec<(L, M)>, BuildHasherDefault<Identity>>;

impl<L, M> Default for Lookup<L, M> {
    fn default() -> Self {
        Lookup {
            entries: RwLock::new(HashMap::default()),
        }
    }
}

impl<L, M: Clone> Lookup<L, M> {
    /// The handle for the label values `key`; `same` tells whether a stored label set is
    /// `key`, `create` makes one (and its handle) the first time.
    fn get(&self, key: &[&str], same: impl Fn(&L) -> bool, create: impl FnOnce() -> (L, M)) -> M {
        let hash = fnv(key);
        {
            // A poisoned lock only means another request panicked mid-insert; the map is
            // still consistent (inserts are single pushes).
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some(found) = entries
                .get(&hash)
                .and_then(|bucket| bucket.iter().find(|(l, _)| same(l)))
            {
                return found.1.clone();
            }
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let bucket = entries.entry(hash).or_default();
        if let Some(found) = bucket.iter().find(|(l, _)| same(l)) {
            return found.1.clone();
        }
        let (labels, handle) = create();
        bucket.push((labels, handle.clone()));
        handle
    }
}

/// FNV-1a over the label values, each followed by a separator byte that no label contains
/// (so `["ab", "c"]` and `["a", "bc"]` differ).
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes().iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The hasher of a map whose keys are already hashes.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_boundaries_change_the_hash() {
        assert_ne!(fnv(&["ab", "c"]), fnv(&["a", "bc"]));
        assert_eq!(fnv(&["a", "b"]), fnv(&["a", "b"]));
    }

    #[test]
    fn handles_share_the_family_value() {
        let m = Metrics::new();
        let verdict = Verdict::allow();
        m.observe(
            Phase::Validate,
            "CREATE",
            "Pod",
            &verdict,
            Duration::from_millis(1),
        );
        m.observe(
            Phase::Validate,
            "CREATE",
            "Pod",
            &verdict,
            Duration::from_millis(1),
        );
        let text = m.encode(0, 0);
        let line = text
            .lines()
            .find(|l| l.starts_with("palisade_admission_requests_total{"))
            .unwrap_or_default();
        assert!(line.ends_with(" 2"), "{text}");
        assert!(line.contains("resource_kind=\"Pod\""), "{line}");
    }
}
