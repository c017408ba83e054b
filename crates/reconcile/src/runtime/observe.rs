//! What exists of a project: its containers, found by their project label, read into the
//! planner's terms through the front-end's label names; and which of its networks and
//! volumes are present.

use crate::model::{Observed, ObservedContainer, RunState};
use hoist_runtime::container::{ContainerRecord, State, Status};
use hoist_runtime::lifecycle::{ContainerFilter, Lifecycle};
use std::path::Path;

/// The label names a front-end writes on its containers.
#[derive(Debug, Clone, Copy)]
pub struct LabelKeys {
    pub project: &'static str,
    pub service: &'static str,
    pub number: &'static str,
    pub config_hash: &'static str,
    /// "True" on one-off containers.
    pub oneoff: &'static str,
}

/// The project's containers and which of `networks` and `volumes` (machine names) exist.
pub fn observe(
    lc: &Lifecycle,
    keys: &LabelKeys,
    project: &str,
    networks: &[&str],
    volumes: &[&str],
) -> Observed {
    let containers = lc
        .list(&ContainerFilter::labels(&[(keys.project, project)]))
        .into_iter()
        .map(|(rec, st)| observed_container(keys, &rec, &st))
        .collect();
    Observed {
        containers,
        networks: networks
            .iter()
            .filter(|n| network_exists(lc.root(), n))
            .map(|n| n.to_string())
            .collect(),
        volumes: volumes
            .iter()
            .filter(|v| hoist_runtime::volumes::inspect(lc.root(), v).is_ok())
            .map(|v| v.to_string())
            .collect(),
    }
}

fn network_exists(root: &Path, name: &str) -> bool {
    hoist_network::record::record_path(root, name).exists()
}

pub(crate) fn run_state(st: &State) -> RunState {
    match st.status {
        Status::Created => RunState::Created,
        Status::Running => RunState::Running,
        Status::Restarting => RunState::Restarting,
        Status::Exited => RunState::Exited,
    }
}

fn observed_container(keys: &LabelKeys, rec: &ContainerRecord, st: &State) -> ObservedContainer {
    let label = |k: &str| rec.labels.get(k).cloned().unwrap_or_default();
    ObservedContainer {
        id: rec.id.clone(),
        name: rec.name.clone(),
        service: label(keys.service),
        number: label(keys.number).parse().unwrap_or(0),
        config_hash: label(keys.config_hash),
        state: run_state(st),
        oneoff: label(keys.oneoff).eq_ignore_ascii_case("true"),
    }
}
