//! The plans of `down`, `stop` and `start`: what exists, in (reverse) dependency order.

use super::{Action, PlanError, ServicePlan};
use crate::model::{Desired, Observed, ObservedContainer};
use crate::order::{order, reverse};

#[derive(Debug, Clone, Copy, Default)]
pub struct DownOptions {
    pub remove_orphans: bool,
    /// `-v`: the project's named volumes too.
    pub volumes: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DownPlan {
    /// Stopped (if running) then removed, dependents first; one-off containers of the
    /// project's services included.
    pub containers: Vec<ObservedContainer>,
    /// Orphans not removed (without `--remove-orphans`): reported.
    pub orphans_left: Vec<ObservedContainer>,
    /// The project's own networks and (with `-v`) volumes present on the machine.
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

pub fn plan_down<S>(
    desired: &Desired<S>,
    observed: &Observed,
    opts: DownOptions,
) -> Result<DownPlan, PlanError> {
    let stop_order = reverse(&order(&desired.services)?);
    let rank = |c: &ObservedContainer| {
        stop_order
            .iter()
            .position(|s| *s == c.service)
            .unwrap_or(usize::MAX)
    };
    let (mut known, others): (Vec<_>, Vec<_>) =
        observed.containers.iter().cloned().partition(|c| {
            desired.service(&c.service).is_some() || desired.inactive.contains(&c.service)
        });
    // Orphans go first (nothing declared depends on them), then dependents before
    // dependencies, the highest number first within a service.
    known.sort_by_key(|c| (rank(c), std::cmp::Reverse(c.number)));
    let (mut containers, orphans_left) = if opts.remove_orphans {
        (others, Vec::new())
    } else {
        (Vec::new(), others)
    };
    containers.extend(known);
    let networks = desired
        .networks
        .iter()
        .filter(|n| !n.external && observed.networks.contains(&n.name))
        .map(|n| n.name.clone())
        .collect();
    let volumes = if opts.volumes {
        desired
            .volumes
            .iter()
            .filter(|v| !v.external && observed.volumes.contains(&v.name))
            .map(|v| v.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    Ok(DownPlan {
        containers,
        orphans_left,
        networks,
        volumes,
    })
}

fn selected<S>(desired: &Desired<S>, services: &[String]) -> Result<Vec<String>, PlanError> {
    for s in services {
        if desired.service(s).is_none() {
            return Err(PlanError::UnknownService(s.clone()));
        }
    }
    Ok(order(&desired.services)?
        .into_iter()
        .filter(|s| services.is_empty() || services.contains(s))
        .collect())
}

/// `stop [SERVICE...]`: the running containers of those services, dependents first.
pub fn plan_stop<S>(
    desired: &Desired<S>,
    observed: &Observed,
    services: &[String],
) -> Result<Vec<ObservedContainer>, PlanError> {
    let mut out = Vec::new();
    for s in reverse(&selected(desired, services)?) {
        let mut of: Vec<_> = observed
            .containers
            .iter()
            .filter(|c| c.service == s && !c.oneoff && c.state.is_up())
            .cloned()
            .collect();
        of.sort_by_key(|c| std::cmp::Reverse(c.number));
        out.extend(of);
    }
    Ok(out)
}

/// `start [SERVICE...]`: the existing, stopped containers of those services in dependency
/// order, each service after its dependencies' conditions. Nothing is created.
pub fn plan_start<S>(
    desired: &Desired<S>,
    observed: &Observed,
    services: &[String],
) -> Result<Vec<ServicePlan>, PlanError> {
    let mut out = Vec::new();
    for s in selected(desired, services)? {
        let svc = desired.service(&s).expect("selected from desired");
        let mut of: Vec<_> = observed
            .containers
            .iter()
            .filter(|c| c.service == s && !c.oneoff)
            .collect();
        of.sort_by_key(|c| c.number);
        let actions = of
            .into_iter()
            .map(|c| {
                let (id, name) = (c.id.clone(), c.name.clone());
                if c.state.is_up() {
                    Action::Keep { id, name }
                } else {
                    Action::Start { id, name }
                }
            })
            .collect();
        out.push(ServicePlan {
            service: s,
            wait_for: svc
                .depends_on
                .iter()
                .filter(|d| desired.service(&d.service).is_some())
                .cloned()
                .collect(),
            actions,
        });
    }
    Ok(out)
}
