//! A normalized [`Project`] as the reconciler's desired state, labelled as docker compose
//! labels what it makes: containers `<project>-<service>-<n>` with
//! `com.docker.compose.{project,service,container-number,oneoff,config-hash,...}`, networks
//! `<project>_<key>` and volumes `<project>_<key>` with theirs. What exists is found again by
//! these labels, so docker compose's own containers and hoist's read the same way.

mod hash;
mod options;
mod probes;

pub use hash::config_hash;
pub use options::run_options;
pub use probes::probes;

/// The service fields `up` cannot apply yet (warned about per service).
pub fn unapplied(svc: &Service) -> Vec<&'static str> {
    // x-hoist is applied now (probes.rs); options.rs still lists it until its owner drops it.
    let mut fields = options::unapplied(svc);
    fields.retain(|f| *f != "x-hoist");
    fields
}

use crate::model::{Condition, Project, Service};
use hoist_reconcile::runtime::{ContainerSpec, LabelKeys};
use hoist_reconcile::{Dependency, Desired, NetworkSpec, ServiceSpec, VolumeSpec};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const LABEL_PROJECT: &str = "com.docker.compose.project";
pub const LABEL_SERVICE: &str = "com.docker.compose.service";
pub const LABEL_NUMBER: &str = "com.docker.compose.container-number";
pub const LABEL_ONEOFF: &str = "com.docker.compose.oneoff";
pub const LABEL_CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const LABEL_VERSION: &str = "com.docker.compose.version";
pub const LABEL_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const LABEL_CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const LABEL_IMAGE: &str = "com.docker.compose.image";
pub const LABEL_DEPENDS_ON: &str = "com.docker.compose.depends_on";
pub const LABEL_NETWORK: &str = "com.docker.compose.network";
pub const LABEL_VOLUME: &str = "com.docker.compose.volume";

/// The compose version hoist writes in `com.docker.compose.version` (the compose
/// specification's behaviour it follows: docker compose v2).
pub const COMPOSE_VERSION: &str = "2.0.0";

/// How containers are found again.
pub const KEYS: LabelKeys = LabelKeys {
    project: LABEL_PROJECT,
    service: LABEL_SERVICE,
    number: LABEL_NUMBER,
    config_hash: LABEL_CONFIG_HASH,
    oneoff: LABEL_ONEOFF,
};

/// What the desired state needs besides the project.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The compose files read (the `config_files` label).
    pub files: Vec<PathBuf>,
    /// Services switched off by profiles.
    pub inactive: Vec<String>,
    /// The image each service runs as it is in the store now (ID or digest): a rebuilt or
    /// pulled image changes the config hash, so the container is recreated.
    pub image_ids: BTreeMap<String, String>,
}

/// The image a service runs: `image:`, else the name compose gives a built one.
pub fn image_name(project: &str, service: &str, svc: &Service) -> String {
    svc.image
        .clone()
        .unwrap_or_else(|| format!("{project}-{service}"))
}

pub fn desired(project: &Project, ctx: &Context) -> Desired<ContainerSpec> {
    let services = project
        .services
        .iter()
        .map(|(name, svc)| service_spec(project, ctx, name, svc))
        .collect();
    let networks = project
        .networks
        .iter()
        .map(|(key, n)| NetworkSpec {
            key: key.clone(),
            name: n.name.clone(),
            external: n.external,
            internal: n.internal,
            labels: object_labels(project, LABEL_NETWORK, key, &n.labels),
        })
        .collect();
    let volumes = project
        .volumes
        .iter()
        .map(|(key, v)| VolumeSpec {
            key: key.clone(),
            name: v.name.clone(),
            external: v.external,
            labels: object_labels(project, LABEL_VOLUME, key, &v.labels),
            options: v.driver_opts.clone(),
        })
        .collect();
    Desired {
        project: project.name.clone(),
        services,
        inactive: ctx.inactive.clone(),
        networks,
        volumes,
    }
}

fn object_labels(
    project: &Project,
    kind: &str,
    key: &str,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = own.clone();
    labels.insert(kind.into(), key.into());
    labels.insert(LABEL_PROJECT.into(), project.name.clone());
    labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
    labels
}

fn service_spec(
    project: &Project,
    ctx: &Context,
    name: &str,
    svc: &Service,
) -> ServiceSpec<ContainerSpec> {
    let image = image_name(&project.name, name, svc);
    let image_id = ctx.image_ids.get(name).cloned().unwrap_or_default();
    let hash = config_hash(svc, &image_id);
    let mut options = run_options(project, name, svc);
    let files: Vec<String> = ctx.files.iter().map(|f| f.display().to_string()).collect();
    let depends: Vec<String> = svc
        .depends_on
        .iter()
        .map(|(d, dep)| format!("{d}:{}:{}", dep.condition.as_str(), dep.restart))
        .collect();
    for (k, v) in [
        (LABEL_PROJECT, project.name.clone()),
        (LABEL_SERVICE, name.to_string()),
        (LABEL_ONEOFF, "False".into()),
        (LABEL_CONFIG_HASH, hash.clone()),
        (LABEL_VERSION, COMPOSE_VERSION.into()),
        (LABEL_WORKING_DIR, project.working_dir.display().to_string()),
        (LABEL_CONFIG_FILES, files.join(",")),
        (LABEL_IMAGE, image_id),
        (LABEL_DEPENDS_ON, depends.join(",")),
    ] {
        options.labels.insert(k.to_string(), v);
    }
    let replicas = svc
        .deploy
        .as_ref()
        .and_then(|d| d.replicas)
        .unwrap_or(1)
        .min(u32::MAX as u64) as u32;
    ServiceSpec {
        name: name.to_string(),
        replicas,
        config_hash: hash,
        depends_on: svc
            .depends_on
            .iter()
            .map(|(d, dep)| Dependency {
                service: d.clone(),
                condition: match dep.condition {
                    Condition::Started => hoist_reconcile::Condition::Started,
                    Condition::Healthy => hoist_reconcile::Condition::Healthy,
                    Condition::CompletedSuccessfully => {
                        hoist_reconcile::Condition::CompletedSuccessfully
                    }
                },
                restart: dep.restart,
                required: dep.required,
            })
            .collect(),
        container_name: svc.container_name.clone(),
        stop_timeout: svc.stop_grace_period.map(|d| d.as_secs()).unwrap_or(10),
        spec: ContainerSpec {
            image,
            options,
            probes: probes(svc),
            stop_signal: svc.stop_signal.clone(),
            number_label: Some(LABEL_NUMBER.into()),
        },
    }
}

#[cfg(test)]
mod tests;
