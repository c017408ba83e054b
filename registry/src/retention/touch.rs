//! "Last referenced" times for blobs: when a client HEADs, GETs or mounts a
//! stored blob, or a manifest PUT names it, the repository's link to it is
//! rewritten, which makes the blob young to GC for a whole grace period. A
//! client that saw a blob and skipped its upload then has that long to PUT
//! the manifest that references it.
//!
//! Rewriting a link on every HEAD would cost a write per request, so each
//! (repository, blob) is touched at most once per interval, remembered here
//! in memory; the interval is a quarter of the grace period, so a link is
//! never older than that when the blob was referenced recently.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many remembered entries the stale ones are forgotten (and if
/// all are fresh, all of them: a touch too many is only a write).
const MAX_ENTRIES: usize = 100_000;

pub struct Touches {
    interval_ms: AtomicU64,
    /// Keyed by a hash of (repository, digest): no allocation on the blob
    /// HEAD/GET path; a collision only skips one touch for one interval.
    last: Mutex<HashMap<u64, Instant>>,
}

impl Default for Touches {
    fn default() -> Self {
        Touches {
            // A quarter of the default 600 s grace period.
            interval_ms: AtomicU64::new(150_000),
            last: Mutex::new(HashMap::new()),
        }
    }
}

impl Touches {
    /// Derives the touch interval from GC's grace period.
    pub fn set_grace(&self, grace: Duration) {
        let ms = (grace / 4).as_millis().min(u64::MAX as u128) as u64;
        self.interval_ms.store(ms, Ordering::Relaxed);
    }

    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.load(Ordering::Relaxed))
    }

    /// Whether `repo`'s link to `digest` should be rewritten now; records
    /// that it is.
    pub fn due(&self, repo: &str, digest: &str) -> bool {
        let interval = self.interval();
        let now = Instant::now();
        let mut last = self.last.lock().unwrap();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (repo, digest).hash(&mut h);
        let key = h.finish();
        if let Some(at) = last.get(&key) {
            if now.duration_since(*at) < interval {
                return false;
            }
        }
        if last.len() >= MAX_ENTRIES {
            last.retain(|_, at| now.duration_since(*at) < interval);
            if last.len() >= MAX_ENTRIES {
                last.clear();
            }
        }
        last.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_once_per_interval_per_blob_and_repository() {
        let t = Touches::default();
        t.set_grace(Duration::from_secs(600));
        assert!(t.due("a", "sha256:1"));
        assert!(!t.due("a", "sha256:1"));
        assert!(t.due("b", "sha256:1"));
        assert!(t.due("a", "sha256:2"));
        t.set_grace(Duration::ZERO);
        assert!(t.due("a", "sha256:1"), "no grace: every reference touches");
    }
}
