//! Services: which container ports they send traffic to (pure), and each Service's
//! definition as its keeper process ([`super::keeper`]) serves it.

use super::manifest::{Manifest, Workload};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One Service as its keeper serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDef {
    pub namespace: String,
    pub name: String,
    /// Pods whose template labels hold all of these.
    pub selector: BTreeMap<String, String>,
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePort {
    /// On 127.0.0.1 of the host (nodePort when given, else port).
    pub listen: u16,
    /// The container port of the selected pods.
    pub target: u16,
}

fn selects(s: &Service, w: &Workload) -> bool {
    let ns = s.metadata.namespace.as_deref().unwrap_or("default");
    let sel = s.spec.as_ref().and_then(|s| s.selector.as_ref());
    ns == w.namespace
        && sel.is_some_and(|sel| {
            !sel.is_empty() && sel.iter().all(|(k, v)| w.labels.get(k) == Some(v))
        })
}

/// The container port a Service port sends to, for the pods of `w`: `targetPort` (a number,
/// or a port name looked up in the containers), else `port`.
fn target(w: &Workload, port: i32, target: Option<&IntOrString>) -> Option<u16> {
    match target {
        None => u16::try_from(port).ok(),
        Some(IntOrString::Int(n)) => u16::try_from(*n).ok(),
        Some(IntOrString::String(name)) => w
            .spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

/// The container ports of `w` that Services of the manifest send traffic to.
pub fn target_ports(m: &Manifest, w: &Workload) -> Vec<u16> {
    let mut out = Vec::new();
    for (_, s) in &m.services {
        if !selects(s, w) {
            continue;
        }
        for p in s.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
            if let Some(t) = target(w, p.port, p.target_port.as_ref()) {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// The Services of the manifest as their keepers serve them. A named targetPort is
/// resolved against the first workload the Service selects.
pub fn definitions(m: &Manifest) -> Vec<ServiceDef> {
    m.services
        .iter()
        .map(|(_, s)| {
            let spec = s.spec.clone().unwrap_or_default();
            let first = m.workloads.iter().find(|w| selects(s, w));
            let ports = spec
                .ports
                .iter()
                .flatten()
                .filter_map(|p| {
                    let listen = u16::try_from(p.node_port.unwrap_or(p.port)).ok()?;
                    let target = match first {
                        Some(w) => target(w, p.port, p.target_port.as_ref())?,
                        None => match &p.target_port {
                            Some(IntOrString::Int(n)) => u16::try_from(*n).ok()?,
                            _ => u16::try_from(p.port).ok()?,
                        },
                    };
                    Some(ServicePort { listen, target })
                })
                .collect();
            ServiceDef {
                namespace: s
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into()),
                name: s.metadata.name.clone().unwrap_or_default(),
                selector: spec.selector.unwrap_or_default(),
                ports,
            }
        })
        .collect()
}
