//! The active policy set, swapped atomically while requests are being evaluated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::set::PolicySet;

/// The active [`PolicySet`]. Readers take a snapshot per request and keep it for the whole
/// review, so a swap never changes the policies half-way through a request.
#[derive(Debug)]
pub struct PolicyCache {
    current: ArcSwap<PolicySet>,
    loaded: AtomicBool,
    generation: AtomicU64,
}

impl Default for PolicyCache {
    fn default() -> Self {
        PolicyCache::new()
    }
}

impl PolicyCache {
    /// An empty cache, not loaded yet (readiness stays false until the first
    /// [`PolicyCache::replace`]).
    pub fn new() -> Self {
        PolicyCache {
            current: ArcSwap::from_pointee(PolicySet::default()),
            loaded: AtomicBool::new(false),
            generation: AtomicU64::new(0),
        }
    }

    /// The set to evaluate one request with.
    pub fn snapshot(&self) -> Arc<PolicySet> {
        self.current.load_full()
    }

    /// Makes `set` the active set, marks the cache loaded and bumps the generation.
    pub fn replace(&self, set: PolicySet) {
        self.current.store(Arc::new(set));
        self.loaded.store(true, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// True once a set has been installed.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// How many sets have been installed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::Entry;

    #[test]
    fn replace_loads_and_counts() {
        let cache = PolicyCache::new();
        assert!(!cache.is_loaded());
        let before = cache.snapshot();
        cache.replace(PolicySet::new([Entry::Ignored {
            api_version: "v1".into(),
            kind: "Pod".into(),
        }]));
        assert!(cache.is_loaded());
        assert_eq!(cache.generation(), 1);
        assert!(before.ignored().is_empty());
        assert_eq!(cache.snapshot().ignored().len(), 1);
    }
}
