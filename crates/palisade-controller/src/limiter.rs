//! Rate limiting of full rescans.
//!
//! A burst of policy changes (`kubectl apply -f dir/`) must not rescan every resource once per
//! policy. Requests are coalesced: the first after a quiet period starts at once, later ones
//! wait until `gap` has passed since the last start and then run once for all of them.

use std::time::{Duration, Instant};

/// Coalesces requests for full rescans; at most one starts per `gap`.
#[derive(Debug, Clone)]
pub struct RescanLimiter {
    gap: Duration,
    last_start: Option<Instant>,
    pending: bool,
}

impl RescanLimiter {
    /// A limiter that starts at most one rescan per `gap`.
    pub fn new(gap: Duration) -> RescanLimiter {
        RescanLimiter {
            gap,
            last_start: None,
            pending: false,
        }
    }

    /// Records that a rescan is wanted.
    pub fn request(&mut self) {
        self.pending = true;
    }

    /// When the pending rescan may start (`None`: nothing pending); `now` when it is due.
    pub fn due(&self, now: Instant) -> Option<Instant> {
        if !self.pending {
            return None;
        }
        let earliest = self.last_start.map_or(now, |l| l + self.gap);
        Some(earliest.max(now))
    }

    /// Starts the pending rescan if it is due at `now`: returns true and clears it.
    pub fn try_start(&mut self, now: Instant) -> bool {
        match self.due(now) {
            Some(at) if at <= now => {
                self.pending = false;
                self.last_start = Some(now);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_are_coalesced_and_spaced() {
        let gap = Duration::from_secs(5);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_millis(s);
        let mut l = RescanLimiter::new(gap);
        assert_eq!(l.due(t0), None);
        assert!(!l.try_start(t0), "nothing requested");
        // The first request after a quiet period starts at once.
        l.request();
        assert_eq!(l.due(t0), Some(t0));
        assert!(l.try_start(t0));
        assert!(!l.try_start(at(10)), "already started");
        // Three requests during the gap become one rescan at its end.
        for ms in [100, 200, 300] {
            l.request();
            assert_eq!(l.due(at(ms)), Some(at(5000)));
            assert!(!l.try_start(at(ms)));
        }
        assert!(l.try_start(at(5000)));
        assert!(!l.try_start(at(5001)));
        // After a long quiet period a request starts at once again.
        l.request();
        assert!(l.try_start(at(60_000)));
    }
}
