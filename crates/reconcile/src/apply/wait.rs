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
                Condition::Healthy => match (st.health, st.state) {
                    (Some(Health::Healthy), _) => break,
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

/// `up --wait`: every container running, and healthy if it has a health check. A container
/// that exits 0 is fine when `may_complete` (a one-shot some service waits for).
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
            (RunState::Running, None | Some(Health::Healthy)) => return Ok(()),
            _ => {}
        }
        driver.pause();
    }
}
