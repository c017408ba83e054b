//! One hoist container as a Kubernetes container: image, command (the entrypoint) and args
//! (the command), env, working dir, ports, probes, limits, security context, mounts.

use hoist_runtime::container::ContainerRecord;
use hoist_runtime::security::Seccomp;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, ResourceRequirements, SeccompProfile,
    SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

use super::names::dns_label;
use super::probe::{self, Role};
use super::volumes::PodVolumes;
use super::{ContainerSource, Warnings};

/// Whether published ports become `hostPort`s of the container (a Pod: podman's way, so a
/// `kube play` elsewhere publishes them again) or the Service's (a Deployment, whose
/// replicas could not share one host port, or a Pod generated with its Service): a port
/// published in both places would be bound twice by a `kube play` on one machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPorts {
    Keep,
    Drop,
}

pub fn container(
    src: &ContainerSource,
    name: String,
    host_ports: HostPorts,
    volumes: &mut PodVolumes,
    warn: &mut Warnings,
) -> Container {
    let rec = &src.record;
    let mut c = Container {
        name: name.clone(),
        image: Some(if rec.image_ref.is_empty() {
            rec.image.clone()
        } else {
            rec.image_ref.clone()
        }),
        command: non_empty(rec.entrypoint.clone()),
        args: non_empty(rec.cmd.clone()),
        env: non_empty(env(rec, &src.image_env)),
        working_dir: Some(rec.workdir.clone()).filter(|w| !w.is_empty() && w != "/"),
        ports: non_empty(ports(src, host_ports)),
        resources: resources(rec, &name, warn),
        security_context: security(src, &name, warn),
        volume_mounts: non_empty(volumes.mounts(&rec.mounts, &src.pod_scoped, &name, warn)),
        tty: rec.tty.then_some(true),
        stdin: rec.interactive.then_some(true),
        ..Default::default()
    };
    let p = &src.probes;
    c.startup_probe = p
        .startup
        .as_ref()
        .map(|p| probe::from_hoist(p, Role::Startup, &name, warn));
    c.liveness_probe = p
        .liveness
        .as_ref()
        .map(|p| probe::from_hoist(p, Role::Liveness, &name, warn));
    c.readiness_probe = p
        .readiness
        .as_ref()
        .map(|p| probe::from_hoist(p, Role::Readiness, &name, warn));
    if let Some(h) = &rec.healthcheck {
        if c.liveness_probe.is_none() {
            c.liveness_probe = probe::from_healthcheck(h, &name, warn);
        } else if h.command().is_some() {
            warn.push(format!(
                "container {name}: the HEALTHCHECK is left out (its livenessProbe is the --liveness-probe)"
            ));
        }
    }
    unmapped(rec, &name, warn);
    c
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// The container's env without what the image sets to the same value (the image sets it
/// again wherever it runs) and without HOSTNAME, which the runtime always sets itself (to
/// the pod's name here, as a cluster does): carried over, a played pod's HOSTNAME would
/// come back in another place of the list and the YAML would not round-trip.
fn env(rec: &ContainerRecord, image_env: &[String]) -> Vec<EnvVar> {
    rec.env
        .iter()
        .filter(|e| !image_env.contains(e) && !e.starts_with("HOSTNAME="))
        .map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            EnvVar {
                name: k.to_string(),
                value: Some(v.to_string()),
                value_from: None,
            }
        })
        .collect()
}

fn protocol(p: &str) -> String {
    p.to_ascii_uppercase()
}

/// Published ports (with their host port when kept), then the image's other exposed ports.
fn ports(src: &ContainerSource, host_ports: HostPorts) -> Vec<ContainerPort> {
    let mut out: Vec<ContainerPort> = Vec::new();
    let mut seen = Vec::new();
    for p in &src.record.ports {
        let key = (p.container_port, p.protocol.as_str().to_string());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let keep = host_ports == HostPorts::Keep && p.host_port != 0;
        out.push(ContainerPort {
            container_port: i32::from(p.container_port),
            host_port: keep.then_some(i32::from(p.host_port)),
            // hoist publishes on 127.0.0.1 unless told otherwise; a cluster binds every
            // address. Any other address is written out (hoist's `kube play` reads it back).
            host_ip: (keep && !p.host_ip.is_loopback()).then(|| p.host_ip.to_string()),
            protocol: Some(protocol(p.protocol.as_str())),
            ..Default::default()
        });
    }
    for e in &src.exposed_ports {
        let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        let key = (port, proto.to_ascii_lowercase());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        out.push(ContainerPort {
            container_port: i32::from(port),
            protocol: Some(protocol(proto)),
            ..Default::default()
        });
    }
    out
}

/// `--memory` and `--cpus` as limits (a cluster then requests as much).
fn resources(
    rec: &ContainerRecord,
    name: &str,
    warn: &mut Warnings,
) -> Option<ResourceRequirements> {
    let mut limits = BTreeMap::new();
    if let Some(m) = rec.memory.filter(|m| *m > 0) {
        limits.insert("memory".to_string(), Quantity(memory(m)));
    }
    if let Some(c) = rec.cpus.filter(|c| *c > 0.0) {
        let milli = (c * 1000.0).round() as i64;
        if (milli as f64 - c * 1000.0).abs() > 1e-6 {
            warn.push(format!(
                "container {name}: --cpus {c} written as {milli}m (Kubernetes counts thousandths)"
            ));
        }
        let q = if milli % 1000 == 0 {
            (milli / 1000).to_string()
        } else {
            format!("{milli}m")
        };
        limits.insert("cpu".to_string(), Quantity(q));
    }
    (!limits.is_empty()).then(|| ResourceRequirements {
        limits: Some(limits),
        ..Default::default()
    })
}

/// Bytes in the largest binary unit that divides them: 67108864 → `64Mi`.
pub fn memory(bytes: i64) -> String {
    for (unit, size) in [("Gi", 1i64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// `CAP_NET_ADMIN` → `NET_ADMIN` (Kubernetes' spelling); `ALL` stays.
fn cap(c: &str) -> String {
    c.strip_prefix("CAP_").unwrap_or(c).to_string()
}

fn security(src: &ContainerSource, name: &str, warn: &mut Warnings) -> Option<SecurityContext> {
    let rec = &src.record;
    let s = &rec.security;
    let mut sc = SecurityContext::default();
    match src.user {
        Some((uid, gid)) => {
            sc.run_as_user = Some(i64::from(uid));
            sc.run_as_group = gid.map(i64::from);
        }
        None if !rec.user.is_empty() => warn.push(format!(
            "container {name}: user {:?} is not in the image's /etc/passwd; runAsUser left out",
            rec.user
        )),
        None => {}
    }
    sc.read_only_root_filesystem = rec.read_only.then_some(true);
    sc.privileged = s.privileged.then_some(true);
    if !s.cap_add.is_empty() || !s.cap_drop.is_empty() {
        sc.capabilities = Some(Capabilities {
            add: non_empty(s.cap_add.iter().map(|c| cap(c)).collect()),
            drop: non_empty(s.cap_drop.iter().map(|c| cap(c)).collect()),
        });
    }
    if s.no_new_privileges {
        sc.allow_privilege_escalation = Some(false);
    }
    match &s.seccomp {
        Seccomp::Default => {}
        Seccomp::Unconfined if !s.privileged => {
            sc.seccomp_profile = Some(SeccompProfile {
                type_: "Unconfined".into(),
                localhost_profile: None,
            })
        }
        Seccomp::Unconfined => {}
        Seccomp::Profile(_) => warn.push(format!(
            "container {name}: its seccomp profile file is left out (a cluster loads Localhost profiles from each node's disk)"
        )),
    }
    (sc != SecurityContext::default()).then_some(sc)
}

/// What the record holds that a Kubernetes container has no field for.
fn unmapped(rec: &ContainerRecord, name: &str, warn: &mut Warnings) {
    let mut left = Vec::new();
    if rec.pids_limit.is_some() {
        left.push("--pids-limit");
    }
    if rec.stop_signal.is_some() {
        left.push("--stop-signal");
    }
    if !rec.log.is_default() {
        left.push("--log-opt");
    }
    if rec.network_container.is_some() {
        left.push("--network container:");
    }
    if !left.is_empty() {
        warn.push(format!(
            "container {name}: {} {} no Kubernetes field; left out",
            left.join(", "),
            if left.len() == 1 { "has" } else { "have" }
        ));
    }
}

/// The container's name in the pod: the name in its YAML for what `kube play` made (whose
/// hoist name is `<pod>-<container>`), else its own.
pub fn name_of(rec: &ContainerRecord) -> String {
    match rec.labels.get(crate::play::labels::CONTAINER) {
        Some(name) => dns_label(name, "container"),
        None => dns_label(&rec.name, "container"),
    }
}
