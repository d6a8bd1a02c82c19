//! Reports written or deleted in the last moments, until the report watch shows the change.
//!
//! A resource often changes several times in a row (created, then its status updated); the
//! second scan must compare with what the first one wrote, not with the watch cache that has
//! not seen the write yet, or it writes the same report again with new timestamps.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::sync::Arc;

use palisade_reports::change::Digest;

/// How long a write is remembered at most (the watch normally shows it in milliseconds).
pub const TTL: Duration = Duration::from_secs(30);

type Key = (Option<String>, String);
/// A write (`Some`) or deletion (`None`) and when it happened.
type Record = (Option<Arc<Digest>>, Instant);

/// Recent writes (`Some`) and deletions (`None`) by report namespace and name.
#[derive(Debug, Default)]
pub struct Recent {
    entries: Mutex<HashMap<Key, Record>>,
}

impl Recent {
    /// The newest known state of a report, given what the watch cache holds.
    pub fn newest(
        &self,
        namespace: Option<&str>,
        name: &str,
        cached: Option<Arc<Digest>>,
        now: Instant,
    ) -> Option<Arc<Digest>> {
        let key = (namespace.map(str::to_string), name.to_string());
        let mut entries = self.lock();
        let Some((ours, at)) = entries.get(&key) else {
            return cached;
        };
        let caught_up = match (ours, &cached) {
            (Some(ours), Some(c)) => ours.same(c),
            (None, None) => true,
            _ => false,
        };
        if caught_up || now.duration_since(*at) > TTL {
            entries.remove(&key);
            return cached;
        }
        ours.clone()
    }

    /// The watch shows report `name` as `cached`: forgets the write it catches up with.
    pub fn seen(&self, namespace: Option<&str>, name: &str, cached: &Digest) {
        let key = (namespace.map(str::to_string), name.to_string());
        let mut entries = self.lock();
        if let Some((Some(ours), _)) = entries.get(&key)
            && ours.same(cached)
        {
            entries.remove(&key);
        }
    }

    /// Remembers a written report.
    pub fn wrote(&self, namespace: Option<&str>, name: &str, report: Arc<Digest>, now: Instant) {
        let key = (namespace.map(str::to_string), name.to_string());
        self.lock().insert(key, (Some(report), now));
    }

    /// Remembers a deleted report.
    pub fn deleted(&self, namespace: Option<&str>, name: &str, now: Instant) {
        let key = (namespace.map(str::to_string), name.to_string());
        self.lock().insert(key, (None, now));
    }

    /// Forgets entries older than [`TTL`] (those never looked up again).
    pub fn prune(&self, now: Instant) {
        self.lock()
            .retain(|_, (_, at)| now.duration_since(*at) <= TTL);
    }

    /// How many entries are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Record>> {
        // Each operation leaves the map consistent, so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_reports::Report;

    fn report(label: &str) -> Option<Arc<Digest>> {
        let mut r = Report::new("uid-1".into(), Some("team".into()));
        r.metadata.labels.insert("v".into(), label.into());
        Some(Arc::new(Digest::of(&r)))
    }

    fn wrote(recent: &Recent, label: &str, now: Instant) {
        recent.wrote(Some("team"), "uid-1", report(label).unwrap(), now);
    }

    #[test]
    fn a_write_shadows_the_cache_until_the_cache_shows_it() {
        let t0 = Instant::now();
        let recent = Recent::default();
        let ns = Some("team");
        wrote(&recent, "new", t0);
        // The watch still has the old report (or none): the write is what counts.
        assert_eq!(recent.newest(ns, "uid-1", None, t0), report("new"));
        assert_eq!(recent.newest(ns, "uid-1", report("old"), t0), report("new"));
        // The watch caught up: the entry is dropped.
        assert_eq!(recent.newest(ns, "uid-1", report("new"), t0), report("new"));
        assert!(recent.is_empty());
    }

    #[test]
    fn a_write_is_forgotten_once_the_watch_shows_it() {
        let t0 = Instant::now();
        let recent = Recent::default();
        wrote(&recent, "new", t0);
        recent.seen(Some("team"), "uid-1", &report("old").unwrap());
        assert_eq!(recent.len(), 1, "an older version does not catch up");
        recent.seen(Some("team"), "uid-1", &report("new").unwrap());
        assert!(recent.is_empty());
    }

    #[test]
    fn deletions_shadow_the_cache_and_entries_expire() {
        let t0 = Instant::now();
        let recent = Recent::default();
        recent.deleted(Some("team"), "uid-1", t0);
        assert_eq!(
            recent.newest(Some("team"), "uid-1", report("old"), t0),
            None
        );
        assert_eq!(recent.len(), 1);
        // Another report of the same name elsewhere is not affected.
        assert_eq!(recent.newest(None, "uid-1", report("x"), t0), report("x"));
        let later = t0 + TTL + Duration::from_secs(1);
        assert_eq!(
            recent.newest(Some("team"), "uid-1", report("old"), later),
            report("old")
        );
        wrote(&recent, "a", t0);
        recent.prune(later);
        assert!(recent.is_empty());
    }
}
