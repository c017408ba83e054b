//! Counting open upload sessions, so a client cannot open them without end
//! (each holds storage and, with a running hash, memory). A session counts
//! from its POST until it is completed, cancelled, found gone, or idle for
//! `upload_session_idle_seconds`; an idle one stays resumable, it only
//! stops taking a place. Counts live in memory: sessions from before a
//! restart are not counted (they are still served).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a new session was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionLimit {
    #[error(
        "{repo} has {open} upload sessions open, the most this registry allows per repository \
         (limits.max_upload_sessions_per_repository); finish or cancel (DELETE) open uploads, \
         or retry after idle ones expire ({idle_seconds} s without a request)"
    )]
    Repository {
        repo: String,
        open: usize,
        idle_seconds: u64,
    },
    #[error(
        "the registry has {open} upload sessions open, the most it allows \
         (limits.max_upload_sessions); retry later"
    )]
    Total { open: usize },
}

pub struct Sessions {
    per_repository: usize,
    total: usize,
    idle: Duration,
    /// Session id (or a reservation's placeholder) -> (repository, last request).
    open: Mutex<HashMap<String, (String, Instant)>>,
    next_reservation: std::sync::atomic::AtomicU64,
}

/// A place taken for a session being created; given back when dropped
/// unless `commit` names the session that took it.
pub struct Reservation<'a> {
    sessions: &'a Sessions,
    key: Option<String>,
}

impl Sessions {
    pub fn new(per_repository: usize, total: usize, idle: Duration) -> Self {
        Sessions {
            per_repository,
            total,
            idle,
            open: Mutex::new(HashMap::new()),
            next_reservation: Default::default(),
        }
    }

    /// Takes a place for a new session in `repo`, or says which limit is hit.
    pub fn reserve(&self, repo: &str) -> Result<Reservation<'_>, SessionLimit> {
        let mut open = self.open.lock().unwrap();
        let now = Instant::now();
        open.retain(|_, (_, last)| now.duration_since(*last) < self.idle);
        if open.len() >= self.total {
            return Err(SessionLimit::Total { open: open.len() });
        }
        let in_repo = open.values().filter(|(r, _)| r == repo).count();
        if in_repo >= self.per_repository {
            return Err(SessionLimit::Repository {
                repo: repo.to_string(),
                open: in_repo,
                idle_seconds: self.idle.as_secs(),
            });
        }
        let n = self
            .next_reservation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Not a valid session id (those are hex), so never confused with one.
        let key = format!("reserved-{n}");
        open.insert(key.clone(), (repo.to_string(), now));
        Ok(Reservation {
            sessions: self,
            key: Some(key),
        })
    }

    /// A request for session `id` arrived: it is not idle.
    pub fn touch(&self, id: &str) {
        if let Some((_, last)) = self.open.lock().unwrap().get_mut(id) {
            *last = Instant::now();
        }
    }

    /// Session `id` is finished, cancelled or gone.
    pub fn close(&self, id: &str) {
        self.open.lock().unwrap().remove(id);
    }

    /// Sessions counted now (idle ones included until the next reservation).
    pub fn open_count(&self) -> usize {
        self.open.lock().unwrap().len()
    }
}

impl Reservation<'_> {
    /// The session was created as `id`: the place is now its.
    pub fn commit(mut self, id: &str) {
        let key = self.key.take().expect("committed once");
        let mut open = self.sessions.open.lock().unwrap();
        if let Some(entry) = open.remove(&key) {
            open.insert(id.to_string(), entry);
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.sessions.close(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_repository_and_total_limits() {
        let s = Sessions::new(2, 3, Duration::from_secs(3600));
        s.reserve("a").unwrap().commit("1");
        s.reserve("a").unwrap().commit("2");
        assert!(matches!(
            s.reserve("a").err(),
            Some(SessionLimit::Repository { open: 2, .. })
        ));
        s.reserve("b").unwrap().commit("3");
        assert_eq!(s.reserve("c").err(), Some(SessionLimit::Total { open: 3 }));
        s.close("1");
        s.reserve("a").unwrap().commit("4");
        assert_eq!(s.open_count(), 3);
    }

    #[test]
    fn a_failed_creation_gives_its_place_back() {
        let s = Sessions::new(1, 10, Duration::from_secs(3600));
        drop(s.reserve("a").unwrap());
        s.reserve("a").unwrap().commit("1");
        assert!(s.reserve("a").is_err());
    }

    #[test]
    fn idle_sessions_stop_counting() {
        // With no idle time allowed, every session is idle at the next POST.
        let s = Sessions::new(1, 10, Duration::ZERO);
        s.reserve("a").unwrap().commit("1");
        s.reserve("a").unwrap().commit("2");
        assert_eq!(s.open_count(), 1);
    }
}
