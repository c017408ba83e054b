//! What manifest reads keep in memory, so a GET by tag costs one `stat`
//! (filesystem) or nothing (object stores, within a stated bound) instead of
//! three reads of small files.
//!
//! - Manifest bodies by digest: content-addressed and verified when pushed,
//!   so an entry can never be wrong, only evicted. Bounded by bytes.
//! - (repository, tag) and (repository, digest) to what a response needs
//!   (digest, media type, size). These can change: a push moves a tag, a
//!   DELETE removes one. Each entry carries how it is revalidated: on a
//!   driver that can `stamp` cheaply (the filesystem), the link file's
//!   inode + change time + size must be what they were when the entry was
//!   made (a link is replaced by rename, so any write changes the inode);
//!   elsewhere (S3 replicas sharing a bucket) an entry is trusted for
//!   `REPLICA_BOUND` after it was read from the store, then read again.
//!   Writes through this process update or drop entries at once.

use crate::digests::Digest;
use crate::driver::Stamp;
use axum::http::HeaderValue;
use bytes::Bytes;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a tag or revision entry is trusted on drivers that cannot
/// revalidate it cheaply: a tag moved through another replica is served
/// stale for at most this long.
pub const REPLICA_BOUND: Duration = Duration::from_secs(1);

/// Bytes of manifest bodies kept.
pub const MANIFEST_BYTES: usize = 32 << 20;

/// (repository, reference) entries kept.
pub const LINK_ENTRIES: usize = 16_384;

/// What a manifest response needs besides the body, its headers built
/// once: a GET answered from the cache copies none of them.
#[derive(Debug)]
pub struct Resolved {
    pub digest: Digest,
    pub media_type: Arc<str>,
    /// `Docker-Content-Digest` and `ETag` as sent.
    pub digest_header: HeaderValue,
    pub etag: HeaderValue,
    /// `Content-Type` as sent; None when the stored media type cannot be
    /// a header value (the answer then goes without one, as before).
    pub content_type: Option<HeaderValue>,
}

impl Resolved {
    pub fn new(digest: Digest, media_type: Arc<str>) -> Arc<Self> {
        let text = digest.to_string();
        Arc::new(Resolved {
            digest_header: HeaderValue::from_str(&text).expect("a digest is a header value"),
            etag: HeaderValue::from_str(&format!("\"{text}\"")).expect("a quoted digest too"),
            content_type: HeaderValue::from_str(&media_type).ok(),
            digest,
            media_type,
        })
    }
}

/// How an entry is known to be current.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// The link file still has this identity.
    Stamp(Stamp),
    /// Trusted until then.
    Until(Instant),
}

pub struct ReadCache {
    manifests: Mutex<Bounded<Digest, Bytes>>,
    /// Keyed by a keyed hash of (repository, reference), so a lookup
    /// allocates nothing; the entry keeps both to confirm the match.
    links: Mutex<Bounded<u64, Link>>,
    keys: RandomState,
}

#[derive(Clone)]
struct Link {
    repo: Box<str>,
    reference: Box<str>,
    resolved: Arc<Resolved>,
    validity: Validity,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadCache {
    pub fn new() -> Self {
        ReadCache {
            manifests: Mutex::new(Bounded::new(MANIFEST_BYTES)),
            links: Mutex::new(Bounded::new(LINK_ENTRIES)),
            keys: RandomState::new(),
        }
    }

    fn key(&self, repo: &str, reference: &str) -> u64 {
        self.keys.hash_one((repo, reference))
    }

    pub fn manifest(&self, digest: &Digest) -> Option<Bytes> {
        self.manifests.lock().unwrap().get(digest).cloned()
    }

    pub fn put_manifest(&self, digest: &Digest, body: Bytes) {
        // Overhead per entry beyond the body: key, map slot, bookkeeping.
        let weight = body.len() + 256;
        self.manifests
            .lock()
            .unwrap()
            .insert(digest.clone(), body, weight);
    }

    /// The entry for `reference` in `repo` (a tag, or a digest's text) and
    /// how to check it.
    pub fn link(&self, repo: &str, reference: &str) -> Option<(Arc<Resolved>, Validity)> {
        let key = self.key(repo, reference);
        let mut links = self.links.lock().unwrap();
        let link = links.get(&key)?;
        (&*link.repo == repo && &*link.reference == reference)
            .then(|| (link.resolved.clone(), link.validity))
    }

    pub fn put_link(
        &self,
        repo: &str,
        reference: &str,
        resolved: Arc<Resolved>,
        validity: Validity,
    ) {
        let link = Link {
            repo: repo.into(),
            reference: reference.into(),
            resolved,
            validity,
        };
        self.links
            .lock()
            .unwrap()
            .insert(self.key(repo, reference), link, 1);
    }

    pub fn forget_link(&self, repo: &str, reference: &str) {
        let key = self.key(repo, reference);
        self.links.lock().unwrap().remove(&key);
    }

    /// Drops every entry of a repository (after a delete: any of its tags
    /// may have named the deleted manifest).
    pub fn forget_repository(&self, repo: &str) {
        self.links
            .lock()
            .unwrap()
            .retain(|link| &*link.repo != repo);
    }

    /// (bytes of manifest bodies, link entries) held now.
    pub fn usage(&self) -> (usize, usize) {
        (
            self.manifests.lock().unwrap().weight,
            self.links.lock().unwrap().weight,
        )
    }
}

/// A map bounded by total weight. When an insert goes over the bound, the
/// least recently used quarter of the budget is evicted at once (one sort,
/// rarely), so the common path is a hash lookup and a counter bump.
struct Bounded<K, V> {
    map: HashMap<K, Slot<V>>,
    weight: usize,
    limit: usize,
    clock: u64,
}

struct Slot<V> {
    value: V,
    weight: usize,
    used: u64,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Bounded {
            map: HashMap::new(),
            weight: 0,
            limit: 0,
            clock: 0,
        }
    }
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    fn new(limit: usize) -> Self {
        Bounded {
            limit,
            ..Default::default()
        }
    }

    fn get(&mut self, key: &K) -> Option<&V> {
        self.clock += 1;
        let clock = self.clock;
        self.map.get_mut(key).map(|slot| {
            slot.used = clock;
            &slot.value
        })
    }

    fn insert(&mut self, key: K, value: V, weight: usize) {
        if weight > self.limit {
            return;
        }
        self.clock += 1;
        let slot = Slot {
            value,
            weight,
            used: self.clock,
        };
        if let Some(old) = self.map.insert(key, slot) {
            self.weight -= old.weight;
        }
        self.weight += weight;
        if self.weight > self.limit {
            self.evict(self.limit - self.limit / 4);
        }
    }

    fn remove(&mut self, key: &K) {
        if let Some(old) = self.map.remove(key) {
            self.weight -= old.weight;
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let mut dropped = 0;
        self.map.retain(|_, slot| {
            let kept = keep(&slot.value);
            if !kept {
                dropped += slot.weight;
            }
            kept
        });
        self.weight -= dropped;
    }

    /// Evicts least recently used entries until the weight is `target`.
    fn evict(&mut self, target: usize) {
        let mut by_age: Vec<(u64, K)> = self
            .map
            .iter()
            .map(|(k, slot)| (slot.used, k.clone()))
            .collect();
        by_age.sort_unstable_by_key(|(used, _)| *used);
        for (_, key) in by_age {
            if self.weight <= target {
                break;
            }
            self.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn bounded_map_stays_under_its_limit_and_keeps_recent_entries() {
        let mut m = Bounded::new(100);
        for i in 0..1000u32 {
            m.insert(i, i, 7);
            assert!(m.weight <= 100);
            // Keep touching 0 so it stays.
            assert_eq!(m.get(&0).copied(), Some(0), "at {i}");
        }
        assert!(m.get(&999).is_some());
        assert!(m.get(&500).is_none());
        m.insert(5000, 5000, 101);
        assert!(m.get(&5000).is_none(), "heavier than the whole budget");
        m.retain(|v| *v == 0);
        assert_eq!(m.weight, 7);
    }
}
