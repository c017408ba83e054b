//! Waiting for a dependency's condition (`service_healthy`, `service_completed_successfully`)
//! and for `up --wait`, by looking at the containers' state until it is met or can no longer
//! be (unhealthy, exited with an error).

use super::{step, ApplyError, Driver};
use crate::model::{Condition, RunState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// A container as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveState {
    pub state: RunState,
    /// None without a health check.
    pub health: Option<Health>,
    /// None without a readiness probe (hoist's `x-hoist.readinessProbe`).
    pub ready: Option<bool>,
    pub exit_code: i32,
}

/// Waits until the containers `(name, id)` of service `dependency` meet `condition`.
pub fn wait_for<S, D: Driver<S>>(
    driver: &D,
    dependency: &str,
    condition: Condition,
    containers: &[(String, String)],
) -> Result<(), ApplyError<D::Error>> {
    for (name, id) in containers {
        loop {
            let st = step(driver.state(id), || format!("reading the state of {name}"))?;
            match condition {
                Condition::Started => break,
                // Without a health check, a readiness probe says when the dependency can
                // serve (hoist's extension; docker compose refuses such a dependency).
                Condition::Healthy => match (st.health, st.state) {
                    (Some(Health::Healthy), _) => break,
                    (None, RunState::Running) if st.ready == Some(true) => break,
                    (None, RunState::Exited | RunState::Created) if st.ready.is_some() => {
                        return Err(ApplyError::Dependency(format!(
                            "dependency failed to start: container {name} exited ({}) before it was ready",
                            st.exit_code
                        )))
                    }
                    (None, _) if st.ready.is_some() => {}
                    (Some(Health::Unhealthy), _) => {
                        return Err(ApplyError::Dependency(format!(
                            "dependency failed to start: container {name} is unhealthy"
                        )))
                    }
                    (None, _) => {
                        return Err(ApplyError::Dependency(format!(
                            "dependency failed to start: container {name} has no healthcheck configured (service {dependency} is waited for with condition service_healthy)"
                        )))
                    }
                    (_, RunState::Exited | RunState::Created) => {
                        return Err(ApplyError::Dependency(format!(
                            "dependency failed to start: container {name} exited ({})",
                            st.exit_code
                        )))
                    }
                    _ => {}
                },
                Condition::CompletedSuccessfully => match st.state {
                    RunState::Exited if st.exit_code == 0 => break,
                    RunState::Exited => {
                        return Err(ApplyError::Dependency(format!(
                            "service {dependency:?} didn't complete successfully: exit {}",
                            st.exit_code
                        )))
                    }
                    _ => {}
                },
            }
            driver.pause();
        }
    }
    Ok(())
}

/// `up --wait`: every container running, healthy if it has a health check and ready if it
/// has a readiness probe. A container that exits 0 is fine when `may_complete` (a one-shot
/// some service waits for).
pub fn wait_ready<S, D: Driver<S>>(
    driver: &D,
    name: &str,
    id: &str,
    may_complete: bool,
) -> Result<(), ApplyError<D::Error>> {
    loop {
        let st = step(driver.state(id), || format!("reading the state of {name}"))?;
        match (st.state, st.health) {
            (RunState::Exited, _) if may_complete && st.exit_code == 0 => return Ok(()),
            (RunState::Exited | RunState::Created, _) => {
                return Err(ApplyError::Dependency(format!(
                    "container {name} exited ({})",
                    st.exit_code
                )))
            }
            (_, Some(Health::Unhealthy)) => {
                return Err(ApplyError::Dependency(format!(
                    "container {name} is unhealthy"
                )))
            }
            (RunState::Running, None | Some(Health::Healthy)) if st.ready != Some(false) => {
                return Ok(())
            }
            _ => {}
        }
        driver.pause();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NetworkSpec, ServiceSpec, VolumeSpec};
    use std::sync::Mutex;

    #[derive(Debug, thiserror::Error)]
    #[error("unused")]
    struct Never;

    /// Answers `state` from a script, one entry per look, then the last one forever.
    struct Scripted(Mutex<Vec<LiveState>>);

    impl Driver<()> for Scripted {
        type Error = Never;
        fn create_network(&self, _: &NetworkSpec) -> Result<(), Never> {
            unreachable!()
        }
        fn remove_network(&self, _: &str) -> Result<(), Never> {
            unreachable!()
        }
        fn create_volume(&self, _: &VolumeSpec) -> Result<(), Never> {
            unreachable!()
        }
        fn remove_volume(&self, _: &str) -> Result<(), Never> {
            unreachable!()
        }
        fn create(&self, _: &ServiceSpec<()>, _: u32, _: &str) -> Result<String, Never> {
            unreachable!()
        }
        fn start(&self, _: &str) -> Result<(), Never> {
            unreachable!()
        }
        fn stop(&self, _: &str, _: u64) -> Result<(), Never> {
            unreachable!()
        }
        fn remove(&self, _: &str) -> Result<(), Never> {
            unreachable!()
        }
        fn state(&self, _: &str) -> Result<LiveState, Never> {
            let mut s = self.0.lock().unwrap();
            Ok(if s.len() > 1 { s.remove(0) } else { s[0] })
        }
        fn pause(&self) {}
    }

    fn live(state: RunState, health: Option<Health>, ready: Option<bool>) -> LiveState {
        LiveState {
            state,
            health,
            ready,
            exit_code: 0,
        }
    }

    fn one() -> Vec<(String, String)> {
        vec![("p-db-1".into(), "id".into())]
    }

    #[test]
    fn healthy_waits_for_readiness_when_there_is_no_health_check() {
        let d = Scripted(Mutex::new(vec![
            live(RunState::Running, None, Some(false)),
            live(RunState::Running, None, Some(false)),
            live(RunState::Running, None, Some(true)),
        ]));
        wait_for(&d, "db", Condition::Healthy, &one()).unwrap();
        // All three looks were needed.
        assert_eq!(d.0.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_health_check_decides_over_readiness() {
        let d = Scripted(Mutex::new(vec![live(
            RunState::Running,
            Some(Health::Unhealthy),
            Some(true),
        )]));
        let e = wait_for(&d, "db", Condition::Healthy, &one()).unwrap_err();
        assert!(e.to_string().contains("is unhealthy"), "{e}");
    }

    #[test]
    fn neither_health_check_nor_readiness_is_compose_s_error() {
        let d = Scripted(Mutex::new(vec![live(RunState::Running, None, None)]));
        let e = wait_for(&d, "db", Condition::Healthy, &one()).unwrap_err();
        assert!(e.to_string().contains("no healthcheck configured"), "{e}");
    }

    #[test]
    fn exiting_before_ready_fails_the_dependency() {
        let d = Scripted(Mutex::new(vec![
            live(RunState::Running, None, Some(false)),
            live(RunState::Exited, None, Some(false)),
        ]));
        let e = wait_for(&d, "db", Condition::Healthy, &one()).unwrap_err();
        assert!(e.to_string().contains("before it was ready"), "{e}");
    }

    #[test]
    fn up_wait_holds_until_ready() {
        let d = Scripted(Mutex::new(vec![
            live(RunState::Running, None, Some(false)),
            live(RunState::Running, Some(Health::Healthy), Some(false)),
            live(RunState::Running, Some(Health::Healthy), Some(true)),
        ]));
        wait_ready(&d, "p-web-1", "id", false).unwrap();
        assert_eq!(d.0.lock().unwrap().len(), 1);
    }
}
