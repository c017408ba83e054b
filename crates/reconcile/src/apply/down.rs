//! `down` and `stop`: containers in reverse dependency order — a container once the
//! containers of the services depending on it are gone, independent ones concurrently —
//! then (down) the project's networks and, with `-v`, its volumes.

use super::parallel;
use super::{step, ApplyError, Driver, Event, EventKind, Failure, Log};
use crate::model::{Desired, ObservedContainer};
use crate::plan::DownPlan;
use crate::waves::Waves;

fn timeout_of<S>(desired: &Desired<S>, c: &ObservedContainer) -> u64 {
    desired
        .service(&c.service)
        .map(|s| s.stop_timeout)
        .unwrap_or(10)
}

/// Stops (if it runs) and, with `remove`, removes each of `containers` along `waves`.
pub(super) fn stop_all<S: Sync, D: Driver<S>>(
    desired: &Desired<S>,
    containers: &[ObservedContainer],
    waves: &Waves,
    remove: bool,
    driver: &D,
    log: &mut Log,
) -> Result<(), ApplyError<D::Error>> {
    parallel::run(
        waves,
        log,
        |_, _: &[Option<()>]| (),
        |i, (), report| {
            let c = &containers[i];
            // `stop` lists running containers only; `down` stops what still runs.
            if !remove || c.state.is_up() {
                step(driver.stop(&c.id, timeout_of(desired, c)), || {
                    format!("stopping {}", c.name)
                })?;
                report.push(EventKind::Stopped, &c.name, Some(&c.id));
            }
            if remove {
                step(driver.remove(&c.id), || format!("removing {}", c.name))?;
                report.push(EventKind::Removed, &c.name, Some(&c.id));
            }
            Ok(())
        },
    )?;
    Ok(())
}

pub fn apply_down<S: Sync, D: Driver<S>>(
    desired: &Desired<S>,
    plan: &DownPlan,
    driver: &mut D,
    notify: &mut dyn FnMut(&Event),
) -> Result<Vec<Event>, Failure<D::Error>> {
    let mut log = Log {
        events: Vec::new(),
        notify,
    };
    let driver = &*driver;
    let result = (|| -> Result<(), ApplyError<D::Error>> {
        let waves = Waves::for_containers(desired, &plan.containers);
        stop_all(desired, &plan.containers, &waves, true, driver, &mut log)?;
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

/// Stops `containers` (plan_stop's: dependents first), each once the containers of the
/// services depending on it are stopped.
pub fn apply_stop<S: Sync, D: Driver<S>>(
    desired: &Desired<S>,
    containers: &[ObservedContainer],
    driver: &mut D,
    notify: &mut dyn FnMut(&Event),
) -> Result<Vec<Event>, Failure<D::Error>> {
    let mut log = Log {
        events: Vec::new(),
        notify,
    };
    let waves = Waves::for_containers(desired, containers);
    match stop_all(desired, containers, &waves, false, &*driver, &mut log) {
        Ok(()) => Ok(log.events),
        Err(e) => Err(log.fail(e)),
    }
}
