//! Waiting for a container's conditions: its exit (compose's
//! `service_completed_successfully`, `hoist wait`) and its health (compose's
//! `service_healthy`, `up --wait`).

use std::time::{Duration, Instant};

use super::Lifecycle;
use crate::container::{state, ContainerRecord, State, Status};
use crate::error::{Result, RuntimeError};
use crate::monitor::control::{call, Request};

/// How often state.json is read again while waiting on it: the monitor
/// writes it on every change, and nothing signals a change.
const POLL: Duration = Duration::from_millis(50);

/// Where a wait for health stands, from one state.json.
#[derive(Debug, PartialEq, Eq)]
enum Health {
    Healthy,
    Pending,
    Unhealthy,
    Ended(i32),
}

/// What `st` says of a container with a health check (`healthcheck`) or
/// else a readiness probe: healthy once the check passes (or it is ready).
fn health_of(st: &State, healthcheck: bool) -> Health {
    match st.status {
        Status::Running => {}
        // Between two runs of its restart policy: not ended yet.
        Status::Restarting => return Health::Pending,
        Status::Created | Status::Exited => return Health::Ended(st.exit_code),
    }
    if healthcheck {
        match st.health.as_ref().map(|h| h.status.as_str()) {
            Some("healthy") => Health::Healthy,
            Some("unhealthy") => Health::Unhealthy,
            _ => Health::Pending,
        }
    } else {
        match st.ready {
            Some(true) => Health::Healthy,
            _ => Health::Pending,
        }
    }
}

impl Lifecycle {
    /// Waits until the container has exited (at once if it is not running)
    /// and returns its exit code; `timeout` None waits as long as it runs.
    pub fn wait_exit(&self, rec: &ContainerRecord, timeout: Option<Duration>) -> Result<i32> {
        let dir = self.dir(rec);
        let deadline = timeout.map(|t| Instant::now() + t);
        let timed_out = || RuntimeError::Timeout {
            what: format!("container {} to exit", rec.name),
            after: timeout.unwrap_or_default(),
        };
        let st = state::read_live(&dir);
        if st.unsupervised {
            // No monitor to ask: wait for its cgroup to empty.
            while state::read_live(&dir).unsupervised {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(timed_out());
                }
                std::thread::sleep(POLL);
            }
            return Ok(state::read_live(&dir).exit_code);
        }
        if st.status != Status::Running {
            return Ok(st.exit_code);
        }
        match call(&dir, &Request::Wait, timeout) {
            Ok(r) => Ok(r.exit_code.unwrap_or(st.exit_code)),
            Err(_) if deadline.is_some_and(|d| Instant::now() >= d) => Err(timed_out()),
            // The monitor went between the state read and the call.
            Err(_) => Ok(state::read_live(&dir).exit_code),
        }
    }

    /// Waits until the container is healthy: its health check passes (the
    /// image's HEALTHCHECK or --health-cmd), or, without one, its readiness
    /// probe does. Fails when it becomes unhealthy, when it exits first,
    /// after `timeout`, or at once when it has neither check.
    pub fn wait_healthy(&self, rec: &ContainerRecord, timeout: Duration) -> Result<()> {
        let healthcheck = rec
            .healthcheck
            .as_ref()
            .is_some_and(|h| h.command().is_some());
        let dir = self.dir(rec);
        if !healthcheck && crate::probe::Probes::load(&dir).readiness.is_none() {
            return Err(RuntimeError::NoHealthcheck(rec.name.clone()));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match health_of(&state::read_live(&dir), healthcheck) {
                Health::Healthy => return Ok(()),
                Health::Unhealthy => return Err(RuntimeError::Unhealthy(rec.name.clone())),
                Health::Ended(exit_code) => {
                    return Err(RuntimeError::ExitedEarly {
                        name: rec.name.clone(),
                        exit_code,
                    })
                }
                Health::Pending if Instant::now() >= deadline => {
                    return Err(RuntimeError::Timeout {
                        what: format!("container {} to become healthy", rec.name),
                        after: timeout,
                    })
                }
                Health::Pending => std::thread::sleep(POLL),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::HealthState;

    fn running(health: Option<&str>, ready: Option<bool>) -> State {
        State {
            status: Status::Running,
            health: health.map(|s| HealthState {
                status: s.into(),
                ..Default::default()
            }),
            ready,
            ..Default::default()
        }
    }

    #[test]
    fn health_check_decides_when_there_is_one() {
        assert_eq!(
            health_of(&running(Some("starting"), None), true),
            Health::Pending
        );
        assert_eq!(
            health_of(&running(Some("healthy"), None), true),
            Health::Healthy
        );
        assert_eq!(
            health_of(&running(Some("unhealthy"), None), true),
            Health::Unhealthy
        );
        // Readiness does not count when a health check exists.
        assert_eq!(
            health_of(&running(Some("starting"), Some(true)), true),
            Health::Pending
        );
    }

    #[test]
    fn readiness_decides_without_a_health_check() {
        assert_eq!(
            health_of(&running(None, Some(false)), false),
            Health::Pending
        );
        assert_eq!(
            health_of(&running(None, Some(true)), false),
            Health::Healthy
        );
    }

    #[test]
    fn an_ended_container_ends_the_wait_but_a_restarting_one_does_not() {
        let mut st = running(Some("starting"), None);
        st.status = Status::Exited;
        st.exit_code = 3;
        assert_eq!(health_of(&st, true), Health::Ended(3));
        st.status = Status::Restarting;
        assert_eq!(health_of(&st, true), Health::Pending);
    }
}
