//! `up` and `start`: orphans away, networks and volumes made, then the services along the
//! dependency graph, independent ones concurrently: each waits for its dependencies'
//! conditions, then creates, recreates, starts or restarts its containers.

use super::parallel::{self, Reporter};
use super::wait::{wait_for, wait_ready};
use super::{step, ApplyError, Driver, Event, EventKind, Failure, Log};
use crate::model::{Condition, Dependency, Desired};
use crate::plan::{Action, Plan, ServicePlan};
use crate::waves::Waves;
use std::collections::BTreeMap;

/// Each service's containers, `(name, id)`.
type Containers = BTreeMap<String, Vec<(String, String)>>;

/// Applies an `up` plan. With `wait`, returns once every container of the plan runs (and is
/// healthy, when it has a health check).
pub fn apply_up<S: Sync, D: Driver<S>>(
    desired: &Desired<S>,
    plan: &Plan,
    driver: &mut D,
    wait: bool,
    notify: &mut dyn FnMut(&Event),
) -> Result<Vec<Event>, Failure<D::Error>> {
    let mut log = Log {
        events: Vec::new(),
        notify,
    };
    match up(desired, plan, driver, wait, &mut log) {
        Ok(()) => Ok(log.events),
        Err(e) => Err(log.fail(e)),
    }
}

fn up<S: Sync, D: Driver<S>>(
    desired: &Desired<S>,
    plan: &Plan,
    driver: &D,
    wait: bool,
    log: &mut Log,
) -> Result<(), ApplyError<D::Error>> {
    if plan.remove_orphans {
        // No declared service depends on an orphan: all go at once.
        let waves = Waves::new(vec![Vec::new(); plan.orphans.len()]);
        super::down::stop_all(desired, &plan.orphans, &waves, true, driver, log)?;
    }
    for name in &plan.networks {
        if let Some(net) = desired.networks.iter().find(|n| &n.name == name) {
            step(driver.create_network(net), || {
                format!("creating network {name}")
            })?;
            log.push(EventKind::NetworkCreated, name, None);
        }
    }
    for name in &plan.volumes {
        if let Some(vol) = desired.volumes.iter().find(|v| &v.name == name) {
            step(driver.create_volume(vol), || {
                format!("creating volume {name}")
            })?;
            log.push(EventKind::VolumeCreated, name, None);
        }
    }
    let live = run_services(desired, &plan.services, driver, log)?;
    if wait {
        let one_shots: Vec<&str> = desired
            .services
            .iter()
            .flat_map(|s| &s.depends_on)
            .filter(|d| d.condition == Condition::CompletedSuccessfully)
            .map(|d| d.service.as_str())
            .collect();
        for (service, containers) in &live {
            for (name, id) in containers {
                wait_ready(driver, name, id, one_shots.contains(&service.as_str()))?;
            }
        }
    }
    Ok(())
}

/// Applies `start`'s plan (existing containers only).
pub fn apply_start<S: Sync, D: Driver<S>>(
    desired: &Desired<S>,
    services: &[ServicePlan],
    driver: &mut D,
    notify: &mut dyn FnMut(&Event),
) -> Result<Vec<Event>, Failure<D::Error>> {
    let mut log = Log {
        events: Vec::new(),
        notify,
    };
    match run_services(desired, services, driver, &mut log) {
        Ok(_) => Ok(log.events),
        Err(e) => Err(log.fail(e)),
    }
}

/// Each service's actions after its dependencies' conditions, independent services
/// concurrently (a service begins once the services it depends on are done, then waits for
/// their conditions itself); returns the containers `(name, id)` of each service as they are
/// afterwards.
fn run_services<S: Sync, D: Driver<S>>(
    desired: &Desired<S>,
    services: &[ServicePlan],
    driver: &D,
    log: &mut Log,
) -> Result<Containers, ApplyError<D::Error>> {
    let waves = Waves::for_services(services);
    let results = parallel::run(
        &waves,
        log,
        // The containers of this service's dependencies, as their own steps left them.
        |i, done: &[Option<Vec<(String, String)>>]| -> Vec<(Dependency, Vec<(String, String)>)> {
            services[i]
                .wait_for
                .iter()
                .map(|d| {
                    let containers = services
                        .iter()
                        .position(|o| o.service == d.service)
                        .and_then(|j| done[j].clone())
                        .unwrap_or_default();
                    (d.clone(), containers)
                })
                .collect()
        },
        |i, deps, report| run_service(desired, &services[i], &deps, driver, report),
    )?;
    let mut live = Containers::new();
    for (sp, containers) in services.iter().zip(results) {
        if desired.service(&sp.service).is_some() {
            live.insert(sp.service.clone(), containers.unwrap_or_default());
        }
    }
    Ok(live)
}

/// One service: its dependencies' conditions (if it starts anything), then its actions.
fn run_service<S, D: Driver<S>>(
    desired: &Desired<S>,
    sp: &ServicePlan,
    deps: &[(Dependency, Vec<(String, String)>)],
    driver: &D,
    log: &Reporter<Vec<(String, String)>, D::Error>,
) -> Result<Vec<(String, String)>, ApplyError<D::Error>> {
    let mut mine = Vec::new();
    let Some(svc) = desired.service(&sp.service) else {
        return Ok(mine);
    };
    if sp.actions.iter().any(Action::starts) {
        for (dep, containers) in deps {
            wait_for(driver, &dep.service, dep.condition, containers)?;
            if dep.condition != Condition::Started {
                for (name, id) in containers {
                    let kind = match dep.condition {
                        Condition::Healthy => EventKind::Healthy,
                        _ => EventKind::Exited,
                    };
                    log.push(kind, name, Some(id));
                }
            }
        }
    }
    for action in &sp.actions {
        match action {
            Action::Keep { id, name } => {
                log.push(EventKind::Running, name, Some(id));
                mine.push((name.clone(), id.clone()));
            }
            Action::Start { id, name } => {
                step(driver.start(id), || format!("starting {name}"))?;
                log.push(EventKind::Started, name, Some(id));
                mine.push((name.clone(), id.clone()));
            }
            Action::Restart { id, name } => {
                step(driver.stop(id, svc.stop_timeout), || {
                    format!("stopping {name}")
                })?;
                step(driver.start(id), || format!("starting {name}"))?;
                log.push(EventKind::Restarted, name, Some(id));
                mine.push((name.clone(), id.clone()));
            }
            Action::Create { number, name } => {
                let id = step(driver.create(svc, *number, name), || {
                    format!("creating {name}")
                })?;
                log.push(EventKind::Created, name, Some(&id));
                step(driver.start(&id), || format!("starting {name}"))?;
                log.push(EventKind::Started, name, Some(&id));
                mine.push((name.clone(), id));
            }
            Action::Recreate {
                number,
                name,
                old_id,
            } => {
                step(driver.stop(old_id, svc.stop_timeout), || {
                    format!("stopping {name}")
                })?;
                step(driver.remove(old_id), || format!("removing {name}"))?;
                let id = step(driver.create(svc, *number, name), || {
                    format!("creating {name}")
                })?;
                log.push(EventKind::Recreated, name, Some(&id));
                step(driver.start(&id), || format!("starting {name}"))?;
                log.push(EventKind::Started, name, Some(&id));
                mine.push((name.clone(), id));
            }
            Action::Remove { id, name } => {
                step(driver.stop(id, svc.stop_timeout), || {
                    format!("stopping {name}")
                })?;
                step(driver.remove(id), || format!("removing {name}"))?;
                log.push(EventKind::Removed, name, Some(id));
            }
        }
    }
    Ok(mine)
}
