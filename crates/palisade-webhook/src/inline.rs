//! Where an evaluation runs: on the async worker that read the request, or on the blocking
//! pool.
//!
//! A typical review takes about 100 µs of CPU. Handing it to the blocking pool costs more
//! than that under load: a futex wake-up of a pool thread and of the worker afterwards, two
//! context switches, and the decoded request freed on another thread than the one that built
//! it (mimalloc's slow cross-thread path) by a pool thread whose heap is cold
//! (docs/performance.md, session 7). So short evaluations run in place, still holding their
//! evaluation slot (the concurrency bound is unchanged). A long one would stall every task of
//! its worker and could not be cut off at its deadline, so evaluations go to the blocking pool
//! when the body is large, when recent evaluations have been slow, or when the deadline is
//! near enough that an uninterruptible evaluation could miss it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bodies above this size are evaluated on the blocking pool (evaluation time grows with the
/// object; the typical Pod is 4 KB).
pub const MAX_INLINE_BODY: usize = 64 * 1024;

/// Evaluations run in place while the recent mean stays below this.
pub const MAX_INLINE_MEAN: Duration = Duration::from_millis(1);

/// The remaining budget must be at least this many times [`InlineGate::max_mean`], so that an
/// evaluation that cannot be interrupted still leaves time to answer.
const HEADROOM: u32 = 100;

/// Decides per request whether to evaluate in place, from the body size, the remaining
/// budget and a moving mean of recent evaluation times.
#[derive(Debug)]
pub struct InlineGate {
    max_body: usize,
    max_mean: Duration,
    /// Exponentially weighted mean of evaluation wall times, in nanoseconds (weight 1/8).
    mean_nanos: AtomicU64,
}

impl Default for InlineGate {
    fn default() -> Self {
        InlineGate::new(MAX_INLINE_BODY, MAX_INLINE_MEAN)
    }
}

impl InlineGate {
    /// In place for bodies up to `max_body` bytes while evaluations average below `max_mean`.
    pub fn new(max_body: usize, max_mean: Duration) -> InlineGate {
        InlineGate {
            max_body,
            max_mean,
            mean_nanos: AtomicU64::new(0),
        }
    }

    /// Every evaluation on the blocking pool.
    pub fn never() -> InlineGate {
        InlineGate::new(0, Duration::ZERO)
    }

    /// The mean evaluation time above which evaluations leave the worker.
    pub fn max_mean(&self) -> Duration {
        self.max_mean
    }

    /// Whether a request with a body of `body_len` bytes and `remaining` time before its
    /// deadline may be evaluated in place.
    pub fn allows(&self, body_len: usize, remaining: Duration) -> bool {
        body_len <= self.max_body
            && self.mean() < self.max_mean
            && remaining >= self.max_mean.saturating_mul(HEADROOM)
    }

    /// Records how long an evaluation took (wherever it ran), so that a policy set that turns
    /// slow moves to the blocking pool and one that turns fast comes back.
    pub fn record(&self, took: Duration) {
        let sample = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        // Racing updates may lose a sample; the mean is a heuristic, not a measurement.
        let old = self.mean_nanos.load(Ordering::Relaxed);
        let new = (old - old / 8).saturating_add(sample / 8);
        self.mean_nanos.store(new, Ordering::Relaxed);
    }

    /// The current mean evaluation time.
    pub fn mean(&self) -> Duration {
        Duration::from_nanos(self.mean_nanos.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn small_fast_requests_with_time_left_run_in_place() {
        let gate = InlineGate::default();
        assert!(gate.allows(4_000, 10 * 1000 * MS));
        assert!(!gate.allows(MAX_INLINE_BODY + 1, 10 * 1000 * MS));
        // Too close to the deadline for an evaluation that cannot be interrupted.
        assert!(!gate.allows(4_000, 50 * MS));
        assert!(!InlineGate::never().allows(0, 10 * 1000 * MS));
    }

    #[test]
    fn slow_evaluations_move_to_the_pool_and_fast_ones_bring_them_back() {
        let gate = InlineGate::default();
        gate.record(20 * MS);
        assert!(gate.mean() >= 2 * MS);
        assert!(!gate.allows(4_000, 10 * 1000 * MS));
        for _ in 0..40 {
            gate.record(Duration::from_micros(100));
        }
        assert!(gate.mean() < MS);
        assert!(gate.allows(4_000, 10 * 1000 * MS));
    }
}
