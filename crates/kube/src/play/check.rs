//! Mistakes found before anything is created: a reference to a ConfigMap, Secret or volume
//! that does not exist, a probe on a port its container does not declare, a pod template
//! without containers or images, a restart policy its kind does not allow.

use super::error::{KubeError, Result};
use super::manifest::{Kind, Manifest, Workload};
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub fn check(m: &Manifest) -> Result<()> {
    for w in &m.workloads {
        workload(m, w)?;
    }
    for (at, s) in &m.services {
        let name = s.metadata.name.clone().unwrap_or_default();
        let spec = s.spec.clone().unwrap_or_default();
        if let Some(p) = spec
            .ports
            .iter()
            .flatten()
            .find(|p| p.protocol.as_deref().is_some_and(|p| p != "TCP"))
        {
            return Err(KubeError::Invalid {
                at: at.clone(),
                message: format!(
                    "Service {name:?} port {}: protocol {:?} is not supported (a Service's keeper forwards TCP only)",
                    p.port,
                    p.protocol.as_deref().unwrap_or("")
                ),
            });
        }
        if spec.selector.as_ref().is_none_or(|s| s.is_empty()) {
            return Err(KubeError::Invalid {
                at: at.clone(),
                message: format!("Service {name:?} has no spec.selector; hoist publishes the ports of the pods a selector picks"),
            });
        }
    }
    Ok(())
}

fn fail(w: &Workload, message: String) -> KubeError {
    KubeError::Object {
        kind: w.kind.as_str().into(),
        name: w.name.clone(),
        message,
    }
}

fn workload(m: &Manifest, w: &Workload) -> Result<()> {
    let spec = &w.spec;
    if spec.containers.is_empty() {
        return Err(fail(w, "its pod template has no containers".into()));
    }
    let policy = spec.restart_policy.as_deref().unwrap_or(match w.kind {
        Kind::Job => "",
        _ => "Always",
    });
    match (w.kind, policy) {
        (Kind::Job, "Never" | "OnFailure") => {}
        (Kind::Job, _) => return Err(fail(
            w,
            "a Job's restartPolicy must be Never or OnFailure (Kubernetes refuses anything else)"
                .into(),
        )),
        (Kind::Pod, "Always" | "Never" | "OnFailure") => {}
        (_, "Always") => {}
        (k, p) => {
            return Err(fail(
                w,
                format!(
                    "restartPolicy {p:?}: a {} keeps its pods running, so only Always is allowed",
                    k.as_str()
                ),
            ))
        }
    }
    let volumes: Vec<String> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.clone())
        .chain(w.claim_templates.iter().cloned())
        .collect();
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = &v.config_map {
            if !cm.optional.unwrap_or(false) && !m.config_maps.contains_key(&cm.name) {
                return Err(missing(
                    w,
                    "ConfigMap",
                    &cm.name,
                    &format!("volume {:?}", v.name),
                ));
            }
        }
        if let Some(s) = &v.secret {
            let sname = s.secret_name.clone().unwrap_or_default();
            if !s.optional.unwrap_or(false) && !m.secrets.contains_key(&sname) {
                return Err(missing(
                    w,
                    "Secret",
                    &sname,
                    &format!("volume {:?}", v.name),
                ));
            }
        }
        let known = v.empty_dir.is_some()
            || v.host_path.is_some()
            || v.config_map.is_some()
            || v.secret.is_some()
            || v.persistent_volume_claim.is_some();
        if !known {
            return Err(fail(w, format!("volume {:?}: only emptyDir, hostPath, configMap, secret and persistentVolumeClaim volumes are supported", v.name)));
        }
    }
    let all = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers);
    for c in all {
        container(m, w, c, &volumes)?;
    }
    Ok(())
}

fn missing(w: &Workload, kind: &str, name: &str, used_by: &str) -> KubeError {
    fail(
        w,
        format!("{used_by} uses {kind} {name:?}, which does not exist; add it to the files played (or mark the reference optional: true)"),
    )
}

fn container(m: &Manifest, w: &Workload, c: &Container, volumes: &[String]) -> Result<()> {
    if c.image.as_deref().unwrap_or("").is_empty() {
        return Err(fail(w, format!("container {:?} has no image", c.name)));
    }
    let who = format!("container {:?}", c.name);
    for e in c.env.iter().flatten() {
        let Some(from) = &e.value_from else { continue };
        if let Some(r) = &from.config_map_key_ref {
            let found = m.config_maps.get(&r.name).map(|d| d.contains_key(&r.key));
            if !r.optional.unwrap_or(false) && found != Some(true) {
                return Err(match found {
                    None => missing(w, "ConfigMap", &r.name, &format!("{who} env {:?}", e.name)),
                    Some(_) => fail(
                        w,
                        format!(
                            "{who} env {:?}: ConfigMap {:?} has no key {:?}",
                            e.name, r.name, r.key
                        ),
                    ),
                });
            }
        }
        if let Some(r) = &from.secret_key_ref {
            let found = m.secrets.get(&r.name).map(|d| d.contains_key(&r.key));
            if !r.optional.unwrap_or(false) && found != Some(true) {
                return Err(match found {
                    None => missing(w, "Secret", &r.name, &format!("{who} env {:?}", e.name)),
                    Some(_) => fail(
                        w,
                        format!(
                            "{who} env {:?}: Secret {:?} has no key {:?}",
                            e.name, r.name, r.key
                        ),
                    ),
                });
            }
        }
        if from.field_ref.is_some() || from.resource_field_ref.is_some() {
            return Err(fail(w, format!("{who} env {:?}: only configMapKeyRef and secretKeyRef are supported in valueFrom", e.name)));
        }
    }
    for e in c.env_from.iter().flatten() {
        if let Some(r) = &e.config_map_ref {
            if !r.optional.unwrap_or(false) && !m.config_maps.contains_key(&r.name) {
                return Err(missing(w, "ConfigMap", &r.name, &format!("{who} envFrom")));
            }
        }
        if let Some(r) = &e.secret_ref {
            if !r.optional.unwrap_or(false) && !m.secrets.contains_key(&r.name) {
                return Err(missing(w, "Secret", &r.name, &format!("{who} envFrom")));
            }
        }
    }
    for vm in c.volume_mounts.iter().flatten() {
        if !volumes.contains(&vm.name) {
            return Err(fail(
                w,
                format!(
                    "{who} mounts volume {:?}, which the pod does not declare in spec.volumes",
                    vm.name
                ),
            ));
        }
    }
    for (which, p) in [
        ("startupProbe", &c.startup_probe),
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
    ] {
        if let Some(p) = p {
            probe_port(w, c, which, p)?;
        }
    }
    Ok(())
}

/// A probe's port as a number; a named port is looked up in the container's ports.
pub fn resolve_port(c: &Container, port: &IntOrString) -> Option<u16> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).ok(),
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

fn probe_port(w: &Workload, c: &Container, which: &str, p: &Probe) -> Result<()> {
    let port = match (&p.http_get, &p.tcp_socket) {
        (Some(h), _) => &h.port,
        (_, Some(t)) => &t.port,
        _ => {
            if p.exec.is_none() {
                return Err(fail(w, format!("container {:?} {which}: needs exec, httpGet or tcpSocket (grpc is not supported)", c.name)));
            }
            return Ok(());
        }
    };
    let declared: Vec<u16> = c
        .ports
        .iter()
        .flatten()
        .filter_map(|p| u16::try_from(p.container_port).ok())
        .collect();
    match resolve_port(c, port) {
        Some(n) if declared.contains(&n) => Ok(()),
        _ => Err(fail(
            w,
            format!(
                "container {:?} {which} checks port {}, which the container does not expose (its ports: {}); add it to ports[].containerPort",
                c.name,
                match port {
                    IntOrString::Int(n) => n.to_string(),
                    IntOrString::String(s) => format!("{s:?}"),
                },
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
                }
            ),
        )),
    }
}
