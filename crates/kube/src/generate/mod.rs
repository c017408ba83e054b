//! `hoist kube generate`: hoist containers and pods as Kubernetes objects a real cluster
//! accepts. Pure: the command reads the records (container, probes, pod, the image's
//! defaults) and this module returns the objects, built with k8s-openapi's types (so every
//! field is the real schema's) and serialized to JSON values; `yaml` writes them out.
//!
//! One workload (a hoist pod, or the containers named together) becomes a Pod or a
//! Deployment; its published ports a Service; its named volumes PersistentVolumeClaims.
//! Whatever hoist holds that a cluster has no field for is named in a warning.

pub mod container;
pub mod names;
pub mod probe;
pub mod volumes;
pub mod yaml;

use hoist_runtime::container::config::PortMapping;
use hoist_runtime::container::ContainerRecord;
use hoist_runtime::pod::PodRecord;
use hoist_runtime::probe::Probes;
use hoist_runtime::spec::NetworkMode;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    HostAlias, PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod, PodDNSConfig, PodSpec,
    PodTemplateSpec, Service, ServicePort, ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::play::labels as play_labels;
use container::HostPorts;
use names::dns_label;
use volumes::PodVolumes;

/// One container as the command read it.
#[derive(Debug, Clone, Default)]
pub struct ContainerSource {
    pub record: ContainerRecord,
    pub probes: Probes,
    /// The image's `Env`: entries the container has unchanged are left out.
    pub image_env: Vec<String>,
    /// The image's `ExposedPorts` keys (`80/tcp`): written as container ports too.
    pub exposed_ports: Vec<String>,
    /// The record's user as uid and gid, resolved against the image's /etc/passwd and
    /// /etc/group (None: no user, or a name the image does not know).
    pub user: Option<(u32, Option<u32>)>,
    /// For what `kube play` made: the volumes made for its pod (emptyDirs in its YAML).
    pub pod_scoped: volumes::PodScoped,
}

/// What becomes one Pod or Deployment.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// The hoist pod, when one was named; else the containers were named themselves.
    pub pod: Option<PodRecord>,
    /// Oldest first.
    pub containers: Vec<ContainerSource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Pod,
    Deployment,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub kind: Kind,
    /// A Deployment's replicas (1 when not given).
    pub replicas: Option<i32>,
    /// A Pod's published ports as a Service rather than hostPorts (podman's `--service`);
    /// a Deployment always has its Service.
    pub service: bool,
}

/// Messages about what could not be carried over as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings(pub Vec<String>);

impl Warnings {
    pub fn push(&mut self, m: String) {
        self.0.push(m);
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GenerateError {
    #[error("nothing to generate: name one or more containers or pods")]
    Nothing,
    #[error("pod {0} has no containers: add one with `hoist run --pod {0}` or name the containers instead")]
    EmptyPod(String),
    #[error("--replicas {0}: a Deployment needs at least 0 replicas")]
    Replicas(i32),
    #[error("--replicas is for --type deployment: a Pod is one instance")]
    ReplicasWithoutDeployment,
}

/// The objects, in the order a cluster wants them (claims before the pods that mount
/// them), and the warnings.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    pub objects: Vec<Value>,
    pub warnings: Warnings,
}

impl Generated {
    /// The objects as one multi-document YAML stream.
    pub fn to_yaml(&self) -> String {
        yaml::documents(&self.objects)
    }
}

/// The prefix of the labels `kube play` puts on what it makes.
const PLAY_PREFIX: &str = "io.hoist.kube.";

/// The label that ties a workload's pods to its Deployment selector and its Service.
pub const APP_LABEL: &str = "app";

/// A named volume's size request: a claim must ask for some storage, and hoist volumes
/// have no size (podman writes the same).
pub const CLAIM_SIZE: &str = "1Gi";

pub fn generate(workloads: &[Workload], opts: &Options) -> Result<Generated, GenerateError> {
    if workloads.is_empty() {
        return Err(GenerateError::Nothing);
    }
    match (opts.kind, opts.replicas) {
        (Kind::Pod, Some(_)) => return Err(GenerateError::ReplicasWithoutDeployment),
        (_, Some(n)) if n < 0 => return Err(GenerateError::Replicas(n)),
        _ => {}
    }
    let mut warn = Warnings::default();
    let mut claims: Vec<(String, String)> = Vec::new();
    let mut main = Vec::new();
    for w in workloads {
        let built = workload(w, opts, &mut warn)?;
        for c in built.claims {
            if !claims.iter().any(|(n, _)| *n == c.0) {
                claims.push(c);
            }
        }
        main.extend(built.objects);
    }
    let mut objects: Vec<Value> = claims.iter().map(|(c, v)| claim(c, v)).collect();
    objects.extend(main);
    Ok(Generated {
        objects,
        warnings: warn,
    })
}

struct Built {
    objects: Vec<Value>,
    claims: Vec<(String, String)>,
}

fn to_value<T: serde::Serialize>(o: &T) -> Value {
    serde_json::to_value(o).expect("k8s-openapi objects serialize")
}

fn workload(w: &Workload, opts: &Options, warn: &mut Warnings) -> Result<Built, GenerateError> {
    let name = match &w.pod {
        Some(p) => {
            if w.containers.is_empty() {
                return Err(GenerateError::EmptyPod(p.name.clone()));
            }
            dns_label(&p.name, "pod")
        }
        None => {
            let first = w.containers.first().ok_or(GenerateError::Nothing)?;
            format!("{}-pod", dns_label(&first.record.name, "container"))
        }
    };
    let mut sources = w.containers.clone();
    // A hoist pod publishes its ports itself (members may not): they go to the member
    // that listens on them as far as its probes and exposed ports tell, else the first.
    if let Some(pod) = &w.pod {
        for p in &pod.ports {
            let i = sources.iter().position(|s| uses_port(s, p)).unwrap_or(0);
            sources[i].record.ports.push(*p);
        }
    }
    let with_service = opts.kind == Kind::Deployment || opts.service;
    let host_ports = if with_service {
        HostPorts::Drop
    } else {
        HostPorts::Keep
    };
    let mut vols = PodVolumes::default();
    let mut names = names::Unique::default();
    let mut containers = Vec::new();
    for s in &sources {
        let wanted = container::name_of(&s.record);
        let cname = names.take(&wanted);
        if cname != s.record.name {
            warn.push(format!(
                "container {:?} is named {cname:?} (Kubernetes names are lower-case letters, digits and '-')",
                s.record.name
            ));
        }
        containers.push(container::container(s, cname, host_ports, &mut vols, warn));
    }
    let (labels, annotations) = labels(&name, &sources, warn);
    let spec = PodSpec {
        containers,
        volumes: (!vols.volumes.is_empty()).then(|| vols.volumes.clone()),
        restart_policy: Some(restart_policy(&sources, opts.kind, warn)),
        host_network: sources
            .iter()
            .any(|s| s.record.network == NetworkMode::Host)
            .then_some(true),
        host_aliases: host_aliases(&sources, warn),
        ..dns(&sources)
    };
    let meta = ObjectMeta {
        name: Some(name.clone()),
        labels: Some(labels.clone()),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    };
    let main = match opts.kind {
        Kind::Pod => to_value(&Pod {
            metadata: meta,
            spec: Some(spec),
            status: None,
        }),
        Kind::Deployment => to_value(&Deployment {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(labels),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(opts.replicas.unwrap_or(1)),
                selector: LabelSelector {
                    match_labels: Some(app_selector(&name)),
                    match_expressions: None,
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta { name: None, ..meta }),
                    spec: Some(spec),
                },
                ..Default::default()
            }),
            status: None,
        }),
    };
    let mut objects = vec![main];
    let published: Vec<PortMapping> = sources
        .iter()
        .flat_map(|s| s.record.ports.iter().copied())
        .collect();
    if with_service && !published.is_empty() {
        objects.push(service(&name, &published, warn));
    }
    Ok(Built {
        objects,
        claims: vols.claims,
    })
}

/// Whether `s` is the container of a pod that serves `p` (a probe checks it, or its image
/// exposes it).
fn uses_port(s: &ContainerSource, p: &PortMapping) -> bool {
    let probes = [&s.probes.startup, &s.probes.liveness, &s.probes.readiness];
    probes
        .iter()
        .filter_map(|p| p.as_ref().and_then(|p| p.port()))
        .any(|port| port == p.container_port)
        || s.exposed_ports.contains(&p.key())
}

fn app_selector(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(APP_LABEL.to_string(), name.to_string())])
}

/// `app: NAME`, then the containers' labels that are valid Kubernetes labels (the first
/// container's value wins); the others are kept as annotations, which take any text.
fn labels(
    name: &str,
    sources: &[ContainerSource],
    warn: &mut Warnings,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut labels = app_selector(name);
    let mut annotations = BTreeMap::new();
    let mut as_annotation = Vec::new();
    for s in sources {
        for (k, v) in s.record.labels.iter() {
            // What `kube play` made: its copies of the pod's labels are the labels; the
            // rest is its own bookkeeping.
            let k = match k.strip_prefix(play_labels::LABEL_PREFIX) {
                Some(original) => original,
                None if k.starts_with(PLAY_PREFIX) => continue,
                None => k.as_str(),
            };
            if k == APP_LABEL {
                continue;
            }
            let (k, v) = (&k.to_string(), v);
            if names::is_label(k, v) {
                labels.entry(k.clone()).or_insert_with(|| v.clone());
            } else if !annotations.contains_key(k) {
                annotations.insert(k.clone(), v.clone());
                as_annotation.push(k.clone());
            }
        }
    }
    if !as_annotation.is_empty() {
        warn.push(format!(
            "labels {as_annotation:?} are not valid Kubernetes labels; written as annotations"
        ));
    }
    (labels, annotations)
}

/// docker's restart policies as the pod's: `no` → Never, `on-failure[:N]` → OnFailure,
/// `always`/`unless-stopped` → Always. A Deployment allows Always only.
fn restart_policy(sources: &[ContainerSource], kind: Kind, warn: &mut Warnings) -> String {
    let rank = |r: &Option<String>| match r.as_deref().map(|r| r.split(':').next().unwrap_or(r)) {
        Some("always") | Some("unless-stopped") => 2,
        Some("on-failure") => 1,
        _ => 0,
    };
    let ranks: Vec<u8> = sources.iter().map(|s| rank(&s.record.restart)).collect();
    let most = ranks.iter().copied().max().unwrap_or(0);
    if ranks.iter().any(|r| *r != most) {
        warn.push(
            "the containers' restart policies differ; the pod restarts as the most persistent asks"
                .into(),
        );
    }
    if let Some(n) = sources.iter().find_map(|s| {
        s.record
            .restart
            .as_deref()
            .and_then(|r| r.strip_prefix("on-failure:"))
    }) {
        warn.push(format!(
            "restart policy on-failure:{n}: Kubernetes has no retry limit for a pod; OnFailure retries for ever"
        ));
    }
    if kind == Kind::Deployment {
        if most != 2 {
            warn.push("a Deployment's pods restart Always (the only policy it allows)".into());
        }
        return "Always".into();
    }
    match most {
        2 => "Always",
        1 => "OnFailure",
        _ => "Never",
    }
    .into()
}

/// `--add-host HOST:IP` entries, grouped by address.
fn host_aliases(sources: &[ContainerSource], warn: &mut Warnings) -> Option<Vec<HostAlias>> {
    let mut by_ip: Vec<HostAlias> = Vec::new();
    for s in sources {
        for h in &s.record.add_hosts {
            let Some((host, ip)) = h.split_once(':') else {
                warn.push(format!("--add-host {h:?} is not HOST:IP; left out"));
                continue;
            };
            if ip == "host-gateway" {
                warn.push(format!(
                    "--add-host {h:?}: host-gateway has no address in a cluster; left out"
                ));
                continue;
            }
            match by_ip.iter_mut().find(|a| a.ip == ip) {
                Some(a) => {
                    let names = a.hostnames.get_or_insert_with(Vec::new);
                    if !names.iter().any(|n| n == host) {
                        names.push(host.to_string());
                    }
                }
                None => by_ip.push(HostAlias {
                    ip: ip.to_string(),
                    hostnames: Some(vec![host.to_string()]),
                }),
            }
        }
    }
    (!by_ip.is_empty()).then_some(by_ip)
}

/// `--dns`/`--dns-search` as the pod's DNS config: name servers of its own replace the
/// cluster's (dnsPolicy None), search domains are added to them.
fn dns(sources: &[ContainerSource]) -> PodSpec {
    let mut servers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    for s in sources {
        for d in &s.record.dns {
            if !servers.contains(d) {
                servers.push(d.clone());
            }
        }
        for d in &s.record.dns_search {
            if !searches.contains(d) {
                searches.push(d.clone());
            }
        }
    }
    if servers.is_empty() && searches.is_empty() {
        return PodSpec::default();
    }
    PodSpec {
        dns_policy: (!servers.is_empty()).then(|| "None".to_string()),
        dns_config: Some(PodDNSConfig {
            nameservers: (!servers.is_empty()).then_some(servers),
            searches: (!searches.is_empty()).then_some(searches),
            options: None,
        }),
        ..Default::default()
    }
}

/// The lowest port a cluster gives a NodePort.
pub const NODE_PORT_MIN: u16 = 30000;
pub const NODE_PORT_MAX: u16 = 32767;

/// Published ports as a Service. Its port is the host port (a `kube play` on one machine
/// listens there, so the ports stay where they were), its target the container port. A
/// port published on an outside address makes it a NodePort Service, its node port the
/// host port when a cluster allows that number (else the cluster picks one); ports on
/// 127.0.0.1 only (hoist's default) were reachable from this machine alone: ClusterIP.
fn service(name: &str, published: &[PortMapping], warn: &mut Warnings) -> Value {
    let outside = published.iter().any(|p| !p.host_ip.is_loopback());
    let mut ports: Vec<ServicePort> = Vec::new();
    for p in published {
        let port_name = format!("{}-{}", p.container_port, p.protocol.as_str());
        if ports.iter().any(|s| s.name.as_deref() == Some(&port_name)) {
            continue;
        }
        let node_port = (outside && (NODE_PORT_MIN..=NODE_PORT_MAX).contains(&p.host_port))
            .then_some(i32::from(p.host_port));
        if outside && node_port.is_none() && p.host_port != 0 {
            warn.push(format!(
                "port {}:{}: host port {} is outside a cluster's NodePort range {NODE_PORT_MIN}-{NODE_PORT_MAX}; the Service's nodePort is left for the cluster to pick",
                p.host_port, p.container_port, p.host_port
            ));
        }
        let port = if p.host_port == 0 {
            p.container_port
        } else {
            p.host_port
        };
        ports.push(ServicePort {
            name: Some(port_name),
            port: i32::from(port),
            target_port: Some(IntOrString::Int(i32::from(p.container_port))),
            protocol: Some(p.protocol.as_str().to_ascii_uppercase()),
            node_port,
            ..Default::default()
        });
    }
    to_value(&Service {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(app_selector(name)),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some(if outside { "NodePort" } else { "ClusterIP" }.into()),
            selector: Some(app_selector(name)),
            ports: Some(ports),
            ..Default::default()
        }),
        status: None,
    })
}

fn claim(claim: &str, volume: &str) -> Value {
    let mut annotations = BTreeMap::new();
    if claim != volume {
        // The hoist volume's own name, for a `kube play` back onto hoist.
        annotations.insert(VOLUME_ANNOTATION.to_string(), volume.to_string());
    }
    to_value(&PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(claim.to_string()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(CLAIM_SIZE.into()),
                )])),
                limits: None,
            }),
            ..Default::default()
        }),
        status: None,
    })
}

/// The annotation that keeps a hoist volume's name when its claim had to be renamed.
pub const VOLUME_ANNOTATION: &str = "hoist.dev/volume-name";

#[cfg(test)]
mod tests;
