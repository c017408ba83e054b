//! Restart policies (`--restart no|on-failure[:N]|always|unless-stopped`),
//! enforced by the container's monitor: after an exit it asks `decide` whether
//! to start the container again and how long to wait first (docker's backoff:
//! 100 ms doubling up to a minute, back to 100 ms once a run lasted 10 s).
//!
//! `stop` is never undone by a restart: the CLI drops a `stop-requested` file
//! in the container's directory before it signals the monitor, and the
//! monitor checks it before every restart (and while it waits). `start`
//! removes it. Without a daemon there is no "daemon restart", so
//! `unless-stopped` behaves exactly like `always`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::container::{state, ContainerRecord, Status};
use crate::error::{Result, RuntimeError};
use crate::events::{self, Event};

const STOP_FLAG: &str = "stop-requested";
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long resets the backoff (docker's value).
pub const RESET_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    #[default]
    No,
    /// Restart on a non-zero exit, at most `max` times (None: no limit).
    OnFailure {
        max: Option<u32>,
    },
    Always,
    UnlessStopped,
}

impl Policy {
    /// Parses docker's syntax; errors say what is accepted.
    pub fn parse(s: &str) -> Result<Policy> {
        let bad = || {
            RuntimeError::Invalid(format!(
                "invalid restart policy {s:?}: use no, on-failure[:N], always or unless-stopped"
            ))
        };
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let p = match (name, arg) {
            ("no" | "", None) => Policy::No,
            ("always", None) => Policy::Always,
            ("unless-stopped", None) => Policy::UnlessStopped,
            ("on-failure", None) => Policy::OnFailure { max: None },
            ("on-failure", Some(n)) => Policy::OnFailure {
                max: Some(n.parse().map_err(|_| bad())?),
            },
            _ => return Err(bad()),
        };
        Ok(p)
    }

    /// The policy recorded for a container (unparsable counts as `no`; it
    /// was validated at create time).
    pub fn of(recorded: Option<&str>) -> Policy {
        recorded
            .and_then(|s| Policy::parse(s).ok())
            .unwrap_or_default()
    }

    /// Docker's name: "no", "on-failure", "always", "unless-stopped".
    pub fn name(&self) -> &'static str {
        match self {
            Policy::No => "no",
            Policy::OnFailure { .. } => "on-failure",
            Policy::Always => "always",
            Policy::UnlessStopped => "unless-stopped",
        }
    }

    pub fn max_retries(&self) -> u32 {
        match self {
            Policy::OnFailure { max: Some(n) } => *n,
            _ => 0,
        }
    }

    /// Whether a container that exited with `code` after `restarts` restarts
    /// so far should start again.
    pub fn should_restart(&self, code: i32, restarts: u32) -> bool {
        match self {
            Policy::No => false,
            Policy::Always | Policy::UnlessStopped => true,
            Policy::OnFailure { max } => code != 0 && max.is_none_or(|m| restarts < m),
        }
    }
}

/// Docker's restart delay.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST_DELAY }
    }
}

impl Backoff {
    /// The delay before the next start, given how long the last run lasted.
    pub fn delay(&mut self, ran: Duration) -> Duration {
        if ran >= RESET_AFTER {
            self.next = FIRST_DELAY;
        }
        let d = self.next;
        self.next = (self.next * 2).min(MAX_DELAY);
        d
    }
}

/// Marks the container in `dir` as stopped by request (no more restarts).
pub fn request_stop(dir: &Path) {
    let _ = std::fs::write(dir.join(STOP_FLAG), b"");
}

pub fn clear_stop(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(STOP_FLAG));
}

pub fn stop_requested(dir: &Path) -> bool {
    dir.join(STOP_FLAG).exists()
}

/// Sleeps `d` unless a stop is requested meanwhile; true when it slept fully.
pub fn wait_unless_stopped(dir: &Path, d: Duration) -> bool {
    let deadline = std::time::Instant::now() + d;
    loop {
        if stop_requested(dir) {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
    }
}

/// Records a run's end as events: `oom` (when the memory limit killed it),
/// then `die` with the exit code.
pub fn record_exit(root: &Path, rec: &ContainerRecord, code: i32, oom: bool) {
    if oom {
        events::emit(root, &Event::container(rec, "oom"));
    }
    events::emit(root, &Event::container(rec, "die").with("exitCode", code));
}

/// After a run that ended with `code` (started at `began`, `restarts` so
/// far): waits out the backoff and returns the new restart count, or None
/// when the container stays stopped (policy, or a stop request).
pub fn next_run(
    root: &Path,
    rec: &ContainerRecord,
    policy: Policy,
    code: i32,
    restarts: u32,
    backoff: &mut Backoff,
    began: Instant,
) -> Option<u32> {
    let dir = crate::container::container_dir(root, &rec.id);
    if stop_requested(&dir) || !policy.should_restart(code, restarts) {
        return None;
    }
    let delay = backoff.delay(began.elapsed());
    set_status(&dir, Status::Restarting);
    if !wait_unless_stopped(&dir, delay) {
        set_status(&dir, Status::Exited);
        return None;
    }
    let n = restarts + 1;
    events::emit(
        root,
        &Event::container(rec, "restart")
            .with("restartCount", n)
            .with("exitCode", code),
    );
    Some(n)
}

/// Only the monitor writes state.json while it lives; this is the monitor.
fn set_status(dir: &Path, status: Status) {
    let mut s = state::read(dir);
    s.status = status;
    if let Err(e) = state::write(dir, &s) {
        tracing::warn!("recording state: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_syntax() {
        assert_eq!(Policy::parse("no").unwrap(), Policy::No);
        assert_eq!(Policy::parse("always").unwrap(), Policy::Always);
        assert_eq!(
            Policy::parse("on-failure:3").unwrap(),
            Policy::OnFailure { max: Some(3) }
        );
        assert_eq!(
            Policy::parse("on-failure").unwrap(),
            Policy::OnFailure { max: None }
        );
        for bad in ["sometimes", "on-failure:x", "always:3", "on-failure:-1"] {
            let e = Policy::parse(bad).unwrap_err().to_string();
            assert!(e.contains("on-failure[:N]"), "{bad}: {e}");
        }
    }

    #[test]
    fn on_failure_counts_and_ignores_success() {
        let p = Policy::OnFailure { max: Some(2) };
        assert!(p.should_restart(1, 0));
        assert!(p.should_restart(1, 1));
        assert!(!p.should_restart(1, 2));
        assert!(!p.should_restart(0, 0));
        assert!(Policy::Always.should_restart(0, 100));
        assert!(!Policy::No.should_restart(1, 0));
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::default();
        let short = Duration::from_millis(5);
        assert_eq!(b.delay(short), Duration::from_millis(100));
        assert_eq!(b.delay(short), Duration::from_millis(200));
        assert_eq!(b.delay(short), Duration::from_millis(400));
        for _ in 0..20 {
            b.delay(short);
        }
        assert_eq!(b.delay(short), MAX_DELAY);
        assert_eq!(b.delay(RESET_AFTER), Duration::from_millis(100));
    }
}
