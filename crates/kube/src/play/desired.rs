//! A workload as the reconciler's desired state, with compose's approach (crates/compose
//! desired/): the workload is the project (`deployment/web`), each container of its pod
//! template a service with the workload's replica count, so replica N of every container
//! lands in pod N. Init containers are services the others depend on with
//! `CompletedSuccessfully`, one after another. Pure: the files ConfigMap and Secret volumes
//! need are returned ([`FileSet`]) for the caller to write.

use super::labels;
use super::manifest::{Kind, Manifest, Workload};
use super::spec::{container_options, Built, PodFiles};
use hoist_reconcile::runtime::ContainerSpec;
use hoist_reconcile::{Condition, Dependency, Desired, ServiceSpec};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// How replica `n` (from 1) names its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodNaming {
    /// A Pod object: its own name.
    Fixed(String),
    /// `<name>-<n-1>` (StatefulSet ordinals; Deployments, DaemonSets and Jobs the same).
    Ordinal(String),
}

/// A named volume to make before a member is created; `{pod}` in `name` is the pod's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeTemplate {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// Belongs to one pod (emptyDir): removed with it.
    pub ephemeral: bool,
}

/// What one container of the pod template is made from.
#[derive(Debug, Clone)]
pub struct KubeSpec {
    /// `options.volumes` may hold `{pod}`, replaced per replica.
    pub container: ContainerSpec,
    pub pod: PodNaming,
    /// The pod's `-p` specs (hostPorts, and Service target ports on a free port).
    pub publish: Vec<String>,
    pub volumes: Vec<VolumeTemplate>,
    /// The container's name in the pod.
    pub member: String,
    /// Runs to completion (init containers, a Job's containers): once it has, a second play
    /// does not run it again.
    pub one_shot: bool,
}

impl PodNaming {
    pub fn pod(&self, number: u32) -> String {
        match self {
            PodNaming::Fixed(n) => n.clone(),
            PodNaming::Ordinal(base) => format!("{base}-{}", number.saturating_sub(1)),
        }
    }
}

/// Files to write for ConfigMap and Secret volumes: a directory per volume.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSet {
    pub dir: std::path::PathBuf,
    pub files: Vec<(String, Vec<u8>, u32)>,
}

/// The desired state of one workload; `files_root` is where its ConfigMap/Secret volumes
/// live (`<root>/kube/files`).
pub fn desired(m: &Manifest, w: &Workload, files_root: &Path) -> (Desired<KubeSpec>, Vec<FileSet>) {
    let mut files = PodFiles::new(files_root.join(w.id().replace('/', "_")));
    let publish = pod_publish(m, w);
    let pod = match w.kind {
        Kind::Pod => PodNaming::Fixed(w.name.clone()),
        _ => PodNaming::Ordinal(w.name.clone()),
    };
    let grace = w.spec.termination_grace_period_seconds.unwrap_or(30).max(0) as u64;
    let inits = w.spec.init_containers.clone().unwrap_or_default();
    let mut services = Vec::new();
    let mut previous: Option<String> = None;
    let depends = |prev: &Option<String>| -> Vec<Dependency> {
        prev.iter()
            .map(|p| Dependency {
                service: p.clone(),
                condition: Condition::CompletedSuccessfully,
                restart: false,
                required: true,
            })
            .collect()
    };
    for c in &inits {
        let built = container_options(m, w, c, true, &mut files);
        let deps = depends(&previous);
        services.push(service(w, built, &pod, &publish, grace, deps, true));
        previous = Some(c.name.clone());
    }
    for c in &w.spec.containers {
        let built = container_options(m, w, c, false, &mut files);
        let one_shot = w.kind == Kind::Job;
        let deps = depends(&previous);
        services.push(service(w, built, &pod, &publish, grace, deps, one_shot));
    }
    let desired = Desired {
        project: w.id(),
        services,
        inactive: Vec::new(),
        networks: Vec::new(),
        volumes: Vec::new(),
    };
    (desired, files.into_sets())
}

fn service(
    w: &Workload,
    built: Built,
    pod: &PodNaming,
    publish: &[String],
    grace: u64,
    depends_on: Vec<Dependency>,
    one_shot: bool,
) -> ServiceSpec<KubeSpec> {
    let Built {
        member,
        image,
        mut options,
        probes,
        volumes,
    } = built;
    let hash = {
        let mut h = Sha256::new();
        h.update(format!(
            "{image}\n{options:?}\n{probes:?}\n{publish:?}\n{volumes:?}\n{pod:?}"
        ));
        hex::encode(h.finalize())
    };
    for (k, v) in [
        (labels::WORKLOAD, w.id()),
        (labels::CONTAINER, member.clone()),
        (labels::CONFIG_HASH, hash.clone()),
        (labels::ONEOFF, "False".into()),
        (labels::NAMESPACE, w.namespace.clone()),
        (labels::KIND, w.kind.as_str().into()),
    ] {
        options.labels.insert(k.into(), v);
    }
    for (k, v) in &w.labels {
        options
            .labels
            .insert(format!("{}{k}", labels::LABEL_PREFIX), v.clone());
    }
    ServiceSpec {
        name: member.clone(),
        replicas: w.replicas,
        config_hash: hash,
        depends_on,
        container_name: None,
        stop_timeout: grace,
        spec: KubeSpec {
            container: ContainerSpec {
                image,
                options,
                probes,
                stop_signal: None,
                number_label: Some(labels::REPLICA.into()),
            },
            pod: pod.clone(),
            publish: publish.to_vec(),
            volumes,
            member,
            one_shot,
        },
    }
}

/// The pod's published ports: each container's hostPorts (on 127.0.0.1 unless hostIP says
/// otherwise, as podman does), then each container port a Service sends traffic to, on a
/// free port of 127.0.0.1 (the Service's keeper connects there).
fn pod_publish(m: &Manifest, w: &Workload) -> Vec<String> {
    let mut out = Vec::new();
    let mut published: Vec<u16> = Vec::new();
    for c in w.spec.containers.iter() {
        for p in c.ports.iter().flatten() {
            let proto = match p.protocol.as_deref() {
                Some("UDP") => "/udp",
                _ => "",
            };
            if let Some(host) = p.host_port {
                let ip = p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
                out.push(format!("{ip}:{host}:{}{proto}", p.container_port));
                published.push(p.container_port as u16);
            }
        }
    }
    for port in super::service::target_ports(m, w) {
        if !published.contains(&port) {
            out.push(port.to_string());
            published.push(port);
        }
    }
    out
}

/// Folds the digest each image has in the store now into the config hashes (and their
/// labels), so a newly pulled or rebuilt image makes the pods anew, as compose's hash does.
pub fn with_image_digests(d: &mut Desired<KubeSpec>, digests: &BTreeMap<String, String>) {
    for s in &mut d.services {
        let Some(digest) = digests.get(&s.spec.container.image) else {
            continue;
        };
        let mut h = Sha256::new();
        h.update(format!("{}\n{digest}", s.config_hash));
        s.config_hash = hex::encode(h.finalize());
        s.spec
            .container
            .options
            .labels
            .insert(labels::CONFIG_HASH.into(), s.config_hash.clone());
    }
}
