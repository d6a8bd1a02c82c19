//! The scan queue: resources waiting to be scanned, each at most once.
//!
//! A resource that changes again before it was scanned stays queued once (the scan reads the
//! newest version from the watch cache). A resource is never scanned by two workers at once:
//! one that changes while it is being scanned is queued again when that scan is
//! [`done`](WorkQueue::done), so an older scan can never settle after a newer one.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

use tokio::sync::Notify;

/// A first-in first-out queue without duplicates.
#[derive(Debug)]
pub struct WorkQueue<K> {
    inner: Mutex<Inner<K>>,
    notify: Notify,
}

#[derive(Debug)]
struct Inner<K> {
    order: VecDeque<K>,
    queued: HashSet<K>,
    /// Taken and not done yet.
    processing: HashSet<K>,
    /// Pushed while processing: queued again when done.
    again: HashSet<K>,
}

impl<K: Clone + Eq + Hash> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue::new()
    }
}

impl<K: Clone + Eq + Hash> WorkQueue<K> {
    /// An empty queue.
    pub fn new() -> WorkQueue<K> {
        WorkQueue {
            inner: Mutex::new(Inner {
                order: VecDeque::new(),
                queued: HashSet::new(),
                processing: HashSet::new(),
                again: HashSet::new(),
            }),
            notify: Notify::new(),
        }
    }

    /// Queues `key` unless it is already waiting; a key being processed is queued again once
    /// it is done.
    pub fn push(&self, key: K) {
        let added = {
            let mut inner = self.lock();
            if inner.processing.contains(&key) {
                inner.again.insert(key);
                false
            } else {
                enqueue(&mut inner, key)
            }
        };
        if added {
            self.notify.notify_one();
        }
    }

    /// Marks taken keys as processed; those pushed meanwhile are queued again.
    pub fn done(&self, keys: &[K]) {
        let mut added = false;
        {
            let mut inner = self.lock();
            for k in keys {
                inner.processing.remove(k);
                if inner.again.remove(k) {
                    added |= enqueue(&mut inner, k.clone());
                }
            }
        }
        if added {
            self.notify.notify_one();
        }
    }

    /// Takes up to `max` keys without waiting; each must be given back with
    /// [`WorkQueue::done`].
    pub fn take(&self, max: usize) -> Vec<K> {
        let mut inner = self.lock();
        let n = max.min(inner.order.len());
        let batch: Vec<K> = inner.order.drain(..n).collect();
        for k in &batch {
            inner.queued.remove(k);
            inner.processing.insert(k.clone());
        }
        let more = !inner.order.is_empty();
        drop(inner);
        if more {
            // Another worker may be waiting for what is left.
            self.notify.notify_one();
        }
        batch
    }

    /// Waits until keys are queued, then takes up to `max` of them.
    pub async fn pop(&self, max: usize) -> Vec<K> {
        loop {
            let notified = self.notify.notified();
            let batch = self.take(max);
            if !batch.is_empty() {
                return batch;
            }
            notified.await;
        }
    }

    /// How many keys are waiting.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K>> {
        // A panic while holding the lock leaves the queue consistent (each operation
        // completes or does nothing), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn enqueue<K: Clone + Eq + Hash>(inner: &mut Inner<K>, key: K) -> bool {
    let added = inner.queued.insert(key.clone());
    if added {
        inner.order.push_back(key);
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_wait_once_and_order_is_kept() {
        let q = WorkQueue::new();
        for k in ["a", "b", "a", "c", "b"] {
            q.push(k);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.take(2), ["a", "b"]);
        // A key pushed while it is processed waits until it is done.
        q.push("a");
        assert_eq!(q.take(10), ["c"]);
        q.done(&["a", "b"]);
        assert_eq!(q.take(10), ["a"]);
        q.done(&["a", "c"]);
        assert!(q.is_empty());
        assert!(q.take(10).is_empty());
    }

    #[tokio::test]
    async fn pop_waits_for_a_push() {
        let q = std::sync::Arc::new(WorkQueue::new());
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.pop(8).await }
        });
        tokio::task::yield_now().await;
        q.push(1);
        q.push(2);
        let got = waiter.await.unwrap();
        assert!(!got.is_empty() && got.iter().all(|k| [1, 2].contains(k)));
    }
}
