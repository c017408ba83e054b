//! The two sides the planner compares: what the files ask for ([`Desired`]) and what exists
//! on this machine ([`Observed`]), both plain data. `S` is the front-end's container
//! specification (for hoist, the runtime's create options); the planner never looks inside
//! it, only [`crate::apply`] hands it to the driver.

use std::collections::BTreeMap;

/// What must exist for a project.
#[derive(Debug, Clone)]
pub struct Desired<S> {
    pub project: String,
    /// In any order; [`crate::order`] sorts them by dependency.
    pub services: Vec<ServiceSpec<S>>,
    /// Services the files declare that are switched off (compose profiles): their containers
    /// are not orphans.
    pub inactive: Vec<String>,
    pub networks: Vec<NetworkSpec>,
    pub volumes: Vec<VolumeSpec>,
}

impl<S> Desired<S> {
    pub fn service(&self, name: &str) -> Option<&ServiceSpec<S>> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// One service: `replicas` identical containers numbered from 1.
#[derive(Debug, Clone)]
pub struct ServiceSpec<S> {
    pub name: String,
    pub replicas: u32,
    /// A digest of everything that, when changed, means the containers must be recreated.
    pub config_hash: String,
    pub depends_on: Vec<Dependency>,
    /// A fixed container name (compose's `container_name`); at most one replica then.
    pub container_name: Option<String>,
    /// Seconds to wait after the stop signal before SIGKILL.
    pub stop_timeout: u64,
    pub spec: S,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    pub condition: Condition,
    /// Restart the dependent when this dependency is recreated (compose's `restart: true`).
    pub restart: bool,
    /// A missing optional dependency (compose's `required: false`) is skipped.
    pub required: bool,
}

/// What a dependent waits for before it starts (compose's `depends_on.condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Condition {
    #[default]
    Started,
    Healthy,
    CompletedSuccessfully,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkSpec {
    /// The key in the files (`default`, `back`).
    pub key: String,
    /// The name on this machine (`<project>_default`).
    pub name: String,
    /// Must exist already; never created or removed.
    pub external: bool,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VolumeSpec {
    pub key: String,
    pub name: String,
    pub external: bool,
    pub labels: BTreeMap<String, String>,
    /// docker's local-driver options (`type`, `device`, `o`).
    pub options: BTreeMap<String, String>,
}

/// What exists: the project's containers (found by their labels), and the names of the
/// networks and volumes present on the machine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    pub containers: Vec<ObservedContainer>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedContainer {
    pub id: String,
    pub name: String,
    pub service: String,
    pub number: u32,
    pub config_hash: String,
    pub state: RunState,
    /// A one-off container (`compose run`): never part of a service's replicas.
    pub oneoff: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Created,
    Running,
    /// Between two runs of its restart policy: alive, compose leaves it alone.
    Restarting,
    Exited,
}

impl RunState {
    /// Whether something of the container runs (or is about to run again).
    pub fn is_up(self) -> bool {
        matches!(self, RunState::Running | RunState::Restarting)
    }
}
