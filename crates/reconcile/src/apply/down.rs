//! `down` and `stop`: containers in reverse dependency order, then (down) the project's
//! networks and, with `-v`, its volumes.

use super::{step, ApplyError, Driver, Event, EventKind, Failure, Log};
use crate::model::{Desired, ObservedContainer};
use crate::plan::DownPlan;

fn timeout_of<S>(desired: &Desired<S>, c: &ObservedContainer) -> u64 {
    desired
        .service(&c.service)
        .map(|s| s.stop_timeout)
        .unwrap_or(10)
}

pub fn apply_down<S, D: Driver<S>>(
    desired: &Desired<S>,
    plan: &DownPlan,
    driver: &mut D,
    notify: &mut dyn FnMut(&Event),
) -> Result<Vec<Event>, Failure<D::Error>> {
    let mut log = Log {
        events: Vec::new(),
        notify,
    };
    let result = (|| -> Result<(), ApplyError<D::Error>> {
        for c in &plan.containers {
            if c.state.is_up() {
                step(driver.stop(&c.id, timeout_of(desired, c)), || {
                    format!("stopping {}", c.name)
                })?;
                log.push(EventKind::Stopped, &c.name, Some(&c.id));
            }
            step(driver.remove(&c.id), || format!("removing {}", c.name))?;
            log.push(EventKind::Removed, &c.name, Some(&c.id));
        }
        for n in &plan.networks {
            step(driver.remove_network(n), || format!("removing network {n}"))?;
            log.push(EventKind::NetworkRemoved, n, None);
        }
        for v in &plan.volumes {
            step(driver.remove_volume(v), || format!("removing volume {v}"))?;
            log.push(EventKind::VolumeRemoved, v, None);
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(log.events),
        Err(e) => Err(log.fail(e)),
    }
}

/// Stops `containers` in the order given (plan_stop's: dependents first).
pub fn apply_stop<S, D: Driver<S>>(
    desired: &Desired<S>,
    containers: &[ObservedContainer],
    driver: &mut D,
    notify: &mut dyn FnMut(&Event),
) -> Result<Vec<Event>, Failure<D::Error>> {
    let mut log = Log {
        events: Vec::new(),
        notify,
    };
    for c in containers {
        if let Err(e) = step(driver.stop(&c.id, timeout_of(desired, c)), || {
            format!("stopping {}", c.name)
        }) {
            return Err(log.fail(e));
        }
        log.push(EventKind::Stopped, &c.name, Some(&c.id));
    }
    Ok(log.events)
}
