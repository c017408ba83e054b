//! Desired vs. observed → the steps that make one the other, with docker compose's rules:
//! - a service whose containers carry the desired config hash and run is left untouched;
//!   a stopped one is started;
//! - a changed config hash recreates the container (stop, remove, create, start), unless
//!   `--no-recreate`; `--force-recreate` recreates unchanged ones too (for the selected
//!   services; their dependencies keep the default rule, as compose's
//!   `--always-recreate-deps` is not given);
//! - dependents of a recreated service that say `restart: true` are restarted; others are
//!   left running (compose v2);
//! - scale: missing numbers are created after the highest one in use, extra containers are
//!   removed from the highest number down;
//! - containers of the project whose service is not in the files (and not switched off by a
//!   profile) are orphans: reported, removed only with `--remove-orphans`;
//! - services are handled in dependency order; a service waits for its dependencies'
//!   conditions before it starts anything.

mod down;
#[cfg(test)]
mod tests;

pub use down::{plan_down, plan_start, plan_stop, DownOptions, DownPlan};

use crate::model::{Dependency, Desired, Observed, ObservedContainer, ServiceSpec};
use crate::order::{order, with_dependencies, OrderError};
use std::collections::{BTreeMap, BTreeSet};

/// When an existing container is recreated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recreate {
    /// When its config hash differs from the desired one (the default).
    #[default]
    Diverged,
    /// Always (`--force-recreate`).
    Force,
    /// Never (`--no-recreate`).
    Never,
}

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// The services named on the command line; empty: all.
    pub services: Vec<String>,
    /// The rule for the named services.
    pub recreate: Recreate,
    /// The rule for services brought up only as dependencies of the named ones.
    pub recreate_dependencies: Recreate,
    pub remove_orphans: bool,
    /// `--scale SERVICE=N`, over the files' replicas.
    pub scale: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Networks to create (machine names), in the files' order.
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
    /// The project's containers of no known service.
    pub orphans: Vec<ObservedContainer>,
    /// Whether the orphans are removed (first, before anything is created).
    pub remove_orphans: bool,
    /// In start order.
    pub services: Vec<ServicePlan>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    pub service: String,
    /// Conditions to meet before any of this service's containers is started.
    pub wait_for: Vec<Dependency>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Up to date and running.
    Keep {
        id: String,
        name: String,
    },
    /// Up to date, not running.
    Start {
        id: String,
        name: String,
    },
    /// Up to date and running, but a dependency with `restart: true` was recreated.
    Restart {
        id: String,
        name: String,
    },
    Create {
        number: u32,
        name: String,
    },
    /// Stop and remove `old_id`, then create and start a new container of the same name.
    Recreate {
        number: u32,
        name: String,
        old_id: String,
    },
    /// Beyond the scale.
    Remove {
        id: String,
        name: String,
    },
}

impl Action {
    pub fn name(&self) -> &str {
        match self {
            Action::Keep { name, .. }
            | Action::Start { name, .. }
            | Action::Restart { name, .. }
            | Action::Create { name, .. }
            | Action::Recreate { name, .. }
            | Action::Remove { name, .. } => name,
        }
    }

    /// Whether the action starts a container (so its dependencies' conditions matter).
    pub fn starts(&self) -> bool {
        !matches!(self, Action::Keep { .. } | Action::Remove { .. })
    }
}

impl Plan {
    /// Whether applying the plan would change anything at all (the idempotent `up`).
    pub fn changes_anything(&self) -> bool {
        !self.networks.is_empty()
            || !self.volumes.is_empty()
            || (self.remove_orphans && !self.orphans.is_empty())
            || self
                .services
                .iter()
                .flat_map(|s| &s.actions)
                .any(|a| !matches!(a, Action::Keep { .. }))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error("no such service: {0}")]
    UnknownService(String),
    #[error("service {service:?} sets container_name, so it cannot have {replicas} containers (a container name is unique)")]
    NamedReplicas { service: String, replicas: u32 },
    #[error("network {0} is declared as external, but could not be found; create it first (hoist network create {0})")]
    MissingExternalNetwork(String),
    #[error("volume {0} is declared as external, but could not be found; create it first (hoist volume create {0})")]
    MissingExternalVolume(String),
}

/// The container name of replica `number`: `container_name`, else `<project>-<service>-<n>`.
pub fn container_name<S>(project: &str, svc: &ServiceSpec<S>, number: u32) -> String {
    svc.container_name
        .clone()
        .unwrap_or_else(|| format!("{project}-{}-{number}", svc.name))
}

/// The plan of `up`.
pub fn plan_up<S>(
    desired: &Desired<S>,
    observed: &Observed,
    opts: &UpOptions,
) -> Result<Plan, PlanError> {
    let start_order = order(&desired.services)?;
    for s in opts.services.iter().chain(opts.scale.keys()) {
        if desired.service(s).is_none() {
            return Err(PlanError::UnknownService(s.clone()));
        }
    }
    let named: BTreeSet<String> = opts.services.iter().cloned().collect();
    let selected = if named.is_empty() {
        start_order.iter().cloned().collect()
    } else {
        with_dependencies(&desired.services, &opts.services)
    };

    let mut networks = Vec::new();
    for n in &desired.networks {
        let present = observed.networks.contains(&n.name);
        match (present, n.external) {
            (false, true) => return Err(PlanError::MissingExternalNetwork(n.name.clone())),
            (false, false) => networks.push(n.name.clone()),
            (true, _) => {}
        }
    }
    let mut volumes = Vec::new();
    for v in &desired.volumes {
        let present = observed.volumes.contains(&v.name);
        match (present, v.external) {
            (false, true) => return Err(PlanError::MissingExternalVolume(v.name.clone())),
            (false, false) => volumes.push(v.name.clone()),
            (true, _) => {}
        }
    }

    let mut by_service: BTreeMap<&str, Vec<&ObservedContainer>> = BTreeMap::new();
    let mut orphans = Vec::new();
    for c in observed.containers.iter().filter(|c| !c.oneoff) {
        if desired.service(&c.service).is_some() {
            by_service.entry(&c.service).or_default().push(c);
        } else if !desired.inactive.contains(&c.service) {
            orphans.push(c.clone());
        }
    }

    let mut recreated: BTreeSet<&str> = BTreeSet::new();
    let mut services = Vec::new();
    for name in start_order.iter().filter(|n| selected.contains(*n)) {
        let svc = desired.service(name).expect("ordered from desired");
        let rule = if named.is_empty() || named.contains(name) {
            opts.recreate
        } else {
            opts.recreate_dependencies
        };
        let replicas = opts.scale.get(name).copied().unwrap_or(svc.replicas);
        if svc.container_name.is_some() && replicas > 1 {
            return Err(PlanError::NamedReplicas {
                service: name.clone(),
                replicas,
            });
        }
        let restart_for_dependency = svc
            .depends_on
            .iter()
            .any(|d| d.restart && recreated.contains(d.service.as_str()));
        let mut existing = by_service.remove(name.as_str()).unwrap_or_default();
        existing.sort_by_key(|c| c.number);
        let actions = service_actions(
            &desired.project,
            svc,
            &existing,
            replicas,
            rule,
            restart_for_dependency,
        );
        if actions.iter().any(|a| matches!(a, Action::Recreate { .. })) {
            recreated.insert(name);
        }
        let wait_for = svc
            .depends_on
            .iter()
            .filter(|d| desired.service(&d.service).is_some())
            .cloned()
            .collect();
        services.push(ServicePlan {
            service: name.clone(),
            wait_for,
            actions,
        });
    }
    Ok(Plan {
        networks,
        volumes,
        orphans,
        remove_orphans: opts.remove_orphans,
        services,
    })
}

fn service_actions<S>(
    project: &str,
    svc: &ServiceSpec<S>,
    existing: &[&ObservedContainer],
    replicas: u32,
    rule: Recreate,
    restart_for_dependency: bool,
) -> Vec<Action> {
    let keep = existing.len().min(replicas as usize);
    let mut actions = Vec::new();
    // Scale down from the highest number.
    for c in existing[keep..].iter().rev() {
        actions.push(Action::Remove {
            id: c.id.clone(),
            name: c.name.clone(),
        });
    }
    for c in &existing[..keep] {
        let recreate = match rule {
            Recreate::Force => true,
            Recreate::Never => false,
            Recreate::Diverged => c.config_hash != svc.config_hash,
        };
        let (id, name) = (c.id.clone(), c.name.clone());
        actions.push(if recreate {
            Action::Recreate {
                number: c.number,
                name,
                old_id: id,
            }
        } else if !c.state.is_up() {
            Action::Start { id, name }
        } else if restart_for_dependency {
            Action::Restart { id, name }
        } else {
            Action::Keep { id, name }
        });
    }
    let mut next = existing[..keep].iter().map(|c| c.number).max().unwrap_or(0);
    for _ in keep..replicas as usize {
        next += 1;
        actions.push(Action::Create {
            number: next,
            name: container_name(project, svc, next),
        });
    }
    actions
}
