//! `down`, `start`, `stop`, `restart`: plans over what exists, applied in (reverse)
//! dependency order.

use super::progress::{self, failed};
use super::{images, Session};
use crate::cli::compose::DownArgs;
use anyhow::bail;
use hoist_reconcile::runtime::ContainerSpec;
use hoist_reconcile::{
    apply_down, apply_start, apply_stop, plan_down, plan_start, plan_stop, Action, Desired,
    DownOptions,
};

fn with_timeout(session: &Session, timeout: Option<u64>) -> Desired<ContainerSpec> {
    let mut desired = session.desired();
    if let Some(t) = timeout {
        for s in &mut desired.services {
            s.stop_timeout = t;
        }
    }
    desired
}

pub fn down(session: &Session, a: &DownArgs) -> anyhow::Result<i32> {
    let desired = with_timeout(session, a.timeout);
    let observed = session.observe(&desired);
    let opts = DownOptions {
        remove_orphans: a.remove_orphans,
        volumes: a.volumes,
    };
    let plan = plan_down(&desired, &observed, opts)?;
    if !plan.orphans_left.is_empty() {
        let names: Vec<&str> = plan.orphans_left.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "warning: found orphan containers ({}) for this project; --remove-orphans removes them",
            names.join(", ")
        );
    }
    let mut driver = session.driver();
    apply_down(&desired, &plan, &mut driver, &mut progress::print).map_err(failed)?;
    if let Some(mode) = &a.rmi {
        images::remove(session.lifecycle.root(), session.project(), mode)?;
    }
    Ok(0)
}

pub fn start(session: &Session, services: &[String]) -> anyhow::Result<i32> {
    let desired = session.desired();
    let observed = session.observe(&desired);
    let plan = plan_start(&desired, &observed, services)?;
    if plan.iter().all(|s| s.actions.is_empty()) {
        bail!("no containers to start: run `hoist compose up` first");
    }
    let mut driver = session.driver();
    apply_start(&desired, &plan, &mut driver, &mut progress::print).map_err(failed)?;
    Ok(0)
}

pub fn stop(session: &Session, timeout: Option<u64>, services: &[String]) -> anyhow::Result<i32> {
    let desired = with_timeout(session, timeout);
    let observed = session.observe(&desired);
    let plan = plan_stop(&desired, &observed, services)?;
    let mut driver = session.driver();
    apply_stop(&desired, &plan, &mut driver, &mut progress::print).map_err(failed)?;
    Ok(0)
}

/// Stops the services' containers (dependents first), then starts them again in dependency
/// order, each after its dependencies' conditions.
pub fn restart(
    session: &Session,
    timeout: Option<u64>,
    services: &[String],
) -> anyhow::Result<i32> {
    let desired = with_timeout(session, timeout);
    let observed = session.observe(&desired);
    let stop = plan_stop(&desired, &observed, services)?;
    let mut plan = plan_start(&desired, &observed, services)?;
    // Everything that was running is started again, not only what was stopped before.
    for sp in &mut plan {
        for a in &mut sp.actions {
            if let Action::Keep { id, name } = a {
                *a = Action::Start {
                    id: id.clone(),
                    name: name.clone(),
                };
            }
        }
    }
    let mut driver = session.driver();
    apply_stop(&desired, &stop, &mut driver, &mut progress::print).map_err(failed)?;
    apply_start(&desired, &plan, &mut driver, &mut progress::print).map_err(failed)?;
    Ok(0)
}
