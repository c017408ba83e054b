//! The storage's GC lease: at most one process (replica or CLI) deletes
//! anything at a time, whichever driver holds the data.
//!
//! Tickets `_gc/lease/ticket-<n>` are created only where absent (fs:
//! write aside then link(2); S3: `PUT If-None-Match: *`), so exactly one
//! contender wins ticket n+1. The highest ticket is the lease; it is held
//! while it is younger than the TTL by the store's own clock (its mtime
//! against a marker's), unless its holder marked it released. Taking over an
//! expired or released lease means creating the next ticket; a contender
//! that read a stale listing and created a lower one sees, when it lists
//! again, that it is not the highest and backs off.
//!
//! The holder renews (rewrites its ticket) every TTL/3 and trusts the lease
//! only until its last successful write was sent plus TTL minus a margin,
//! by its monotonic clock: that is before any other replica can see the
//! ticket expire, so a holder that stalls stops deleting first.

use crate::driver::{Driver, DriverError};
use crate::error::{RegistryError, Result};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const DIR: &str = "_gc/lease";

fn ticket_key(n: u64) -> String {
    format!("{DIR}/ticket-{n:020}")
}

#[derive(Serialize, Deserialize)]
struct Ticket {
    owner: String,
    released: bool,
}

/// Whether the lease still holds, for the collector to ask before each
/// deletion. Cloned into the GC's options.
#[derive(Clone, Debug)]
pub struct LeaseCheck {
    valid_until: Arc<Mutex<Instant>>,
}

impl LeaseCheck {
    pub fn valid(&self) -> bool {
        Instant::now() < *self.valid_until.lock().unwrap()
    }

    /// An error that stops the collection when the lease lapsed.
    pub fn ensure(&self) -> Result<()> {
        if self.valid() {
            return Ok(());
        }
        Err(RegistryError::Storage(DriverError::Unavailable {
            path: DIR.into(),
            message: "the GC lease lapsed (not renewed in time); stopped deleting so that \
                      another replica's collection does not overlap this one"
                .into(),
        }))
    }

    fn extend_from(&self, sent: Instant, ttl: Duration) {
        *self.valid_until.lock().unwrap() = sent + ttl - margin(ttl);
    }

    fn revoke(&self) {
        *self.valid_until.lock().unwrap() = Instant::now();
    }
}

/// Room left for clock-rate differences and a deletion already under way.
fn margin(ttl: Duration) -> Duration {
    ttl / 5
}

/// A held lease; renewed in the background until released or dropped.
pub struct Lease {
    driver: Arc<dyn Driver>,
    ticket: u64,
    owner: String,
    check: LeaseCheck,
    renewer: tokio::task::JoinHandle<()>,
}

/// What an attempt to take the lease found.
pub enum Acquired {
    Held(Lease),
    /// Another collector holds it (its owner id, when readable).
    Busy(String),
}

/// Tries once to take the lease for `owner`; never waits for it.
pub async fn acquire(driver: Arc<dyn Driver>, owner: &str, ttl: Duration) -> Result<Acquired> {
    let started = Instant::now();
    let top = tickets(&*driver).await?.last().copied().unwrap_or(0);
    if top > 0 {
        if let Some((holder, live)) = current(&*driver, top, owner, ttl).await? {
            if live {
                return Ok(Acquired::Busy(holder));
            }
        }
    }
    let next = top + 1;
    let body = encode(owner, false);
    if !driver.put_if_absent(&ticket_key(next), body).await? {
        return Ok(Acquired::Busy(
            "another collector (took it just now)".into(),
        ));
    }
    let after = tickets(&*driver).await?;
    if after.last() != Some(&next) {
        // Created from a stale listing: a higher ticket is the lease.
        return Ok(Acquired::Busy(
            "another collector (holds a later ticket)".into(),
        ));
    }
    // Tickets below the one just superseded are contended by no one now.
    for old in after.iter().filter(|&&t| t + 1 < top) {
        driver.delete(&ticket_key(*old)).await?;
    }
    let check = LeaseCheck {
        valid_until: Arc::new(Mutex::new(started)),
    };
    check.extend_from(started, ttl);
    let renewer = tokio::spawn(renew(
        driver.clone(),
        next,
        owner.to_string(),
        ttl,
        check.clone(),
    ));
    Ok(Acquired::Held(Lease {
        driver,
        ticket: next,
        owner: owner.to_string(),
        check,
        renewer,
    }))
}

impl Lease {
    pub fn check(&self) -> LeaseCheck {
        self.check.clone()
    }

    /// Hands the lease back so the next collector need not wait for it to
    /// expire (only while it is still this holder's).
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        if self.check.valid() && tickets(&*self.driver).await?.last() == Some(&self.ticket) {
            self.driver
                .put(&ticket_key(self.ticket), encode(&self.owner, true))
                .await?;
        }
        self.check.revoke();
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

async fn renew(
    driver: Arc<dyn Driver>,
    ticket: u64,
    owner: String,
    ttl: Duration,
    check: LeaseCheck,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let sent = Instant::now();
        let still_ours = matches!(tickets(&*driver).await, Ok(t) if t.last() == Some(&ticket));
        if !still_ours {
            check.revoke();
            return;
        }
        match driver.put(&ticket_key(ticket), encode(&owner, false)).await {
            Ok(()) => check.extend_from(sent, ttl),
            Err(e) => tracing::warn!(error = %e, "GC lease renewal failed; retrying"),
        }
    }
}

fn encode(owner: &str, released: bool) -> Bytes {
    let t = Ticket {
        owner: owner.to_string(),
        released,
    };
    Bytes::from(serde_json::to_vec(&t).expect("a ticket serialises"))
}

/// Ticket numbers present, ascending.
async fn tickets(driver: &dyn Driver) -> Result<Vec<u64>> {
    let mut out: Vec<u64> = driver
        .list(DIR)
        .await?
        .iter()
        .filter_map(|n| n.strip_prefix("ticket-")?.parse().ok())
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Ticket `n`'s holder and whether it still holds (not released, younger
/// than the TTL by the store's clock); `None` when it vanished.
async fn current(
    driver: &dyn Driver,
    n: u64,
    owner: &str,
    ttl: Duration,
) -> Result<Option<(String, bool)>> {
    let key = ticket_key(n);
    let Some(meta) = driver.stat(&key).await? else {
        return Ok(None);
    };
    let ticket: Option<Ticket> = match driver.get(&key).await {
        Ok(raw) => serde_json::from_slice(&raw).ok(),
        Err(DriverError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let clock = format!("_gc/clock/{}", sanitize(owner));
    driver.put(&clock, Bytes::from_static(b"now")).await?;
    let now = driver
        .stat(&clock)
        .await?
        .map(|m| m.modified)
        .unwrap_or_else(SystemTime::now);
    let age = now.duration_since(meta.modified).unwrap_or_default();
    Ok(Some(match ticket {
        Some(t) => (t.owner, !t.released && age < ttl),
        // Unreadable: treat as held until it expires.
        None => ("an unknown collector".into(), age < ttl),
    }))
}

/// An owner id as one safe key component.
fn sanitize(owner: &str) -> String {
    owner
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// This process's owner id: host name and pid, with a random part so two
/// runs never share one.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        hex::encode(rand::random::<[u8; 4]>())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::FsDriver;

    fn fs() -> (tempfile::TempDir, Arc<dyn Driver>) {
        let dir = tempfile::tempdir().unwrap();
        let driver: Arc<dyn Driver> = Arc::new(FsDriver::new(dir.path()).unwrap());
        (dir, driver)
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_release_hands_over() {
        let (_dir, driver) = fs();
        let ttl = Duration::from_secs(60);
        let Acquired::Held(a) = acquire(driver.clone(), "a", ttl).await.unwrap() else {
            panic!("the first contender gets the lease");
        };
        assert!(a.check().valid());
        match acquire(driver.clone(), "b", ttl).await.unwrap() {
            Acquired::Busy(holder) => assert_eq!(holder, "a"),
            Acquired::Held(_) => panic!("b took a lease a holds"),
        }
        a.release().await.unwrap();
        let Acquired::Held(b) = acquire(driver.clone(), "b", ttl).await.unwrap() else {
            panic!("a released: b gets the lease");
        };
        assert_eq!(b.ticket, 2);
        b.release().await.unwrap();
    }

    #[tokio::test]
    async fn concurrent_contenders_get_one_lease() {
        let (_dir, driver) = fs();
        let ttl = Duration::from_secs(60);
        let tries = (0..8).map(|i| {
            let d = driver.clone();
            tokio::spawn(async move { acquire(d, &format!("c{i}"), ttl).await.unwrap() })
        });
        let mut held = Vec::new();
        for t in tries {
            if let Acquired::Held(l) = t.await.unwrap() {
                held.push(l);
            }
        }
        assert_eq!(held.len(), 1, "exactly one contender holds the lease");
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_its_holder_stops() {
        let (_dir, driver) = fs();
        let ttl = Duration::from_millis(300);
        let Acquired::Held(a) = acquire(driver.clone(), "a", ttl).await.unwrap() else {
            panic!("first");
        };
        // A holder that stalls: no renewals.
        a.renewer.abort();
        let check = a.check();
        tokio::time::sleep(ttl + Duration::from_millis(100)).await;
        assert!(!check.valid(), "the stalled holder's lease lapsed locally");
        assert!(check.ensure().is_err());
        let Acquired::Held(b) = acquire(driver.clone(), "b", ttl).await.unwrap() else {
            panic!("an expired lease is taken over");
        };
        assert!(b.check().valid());
    }

    #[tokio::test]
    async fn renewal_keeps_the_lease() {
        let (_dir, driver) = fs();
        let ttl = Duration::from_millis(600);
        let Acquired::Held(a) = acquire(driver.clone(), "a", ttl).await.unwrap() else {
            panic!("first");
        };
        tokio::time::sleep(ttl * 2).await;
        assert!(a.check().valid(), "renewed in the background");
        assert!(matches!(
            acquire(driver.clone(), "b", ttl).await.unwrap(),
            Acquired::Busy(_)
        ));
        a.release().await.unwrap();
    }
}
