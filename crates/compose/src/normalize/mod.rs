//! The merged, interpolated tree → the typed [`Project`]: services (profiles applied),
//! top-level networks and volumes with their names on this machine, and the implicit
//! `default` network that every service without `networks:` joins.

mod mounts;
mod ports;
mod probes;
mod read;
mod service;

use crate::error::Result;
use crate::interpolate::Vars;
use crate::model::{Ipam, IpamPool, Network, Project, Service, Volume, Warning};
use crate::yaml::{Node, Value};
use read::{boolean, labels, map, opt_string, string, sub, unknown, unsupported};
use std::collections::BTreeMap;
use std::path::Path;

pub(crate) use mounts::clean;

/// What normalization gives: the project, and the services its profiles turned off (kept so
/// that validation can say "db is in profile X" rather than "db does not exist").
pub(crate) struct Normalized {
    pub project: Project,
    pub disabled: BTreeMap<String, Service>,
}

pub(crate) struct Inputs<'a> {
    pub name: &'a str,
    pub dir: &'a Path,
    pub vars: &'a Vars,
    pub profiles: &'a [String],
}

pub(crate) fn normalize(
    root: &Node,
    inp: &Inputs,
    warnings: &mut Vec<Warning>,
) -> Result<Normalized> {
    let mut project = Project {
        name: inp.name.to_string(),
        working_dir: inp.dir.to_path_buf(),
        ..Project::default()
    };
    let mut disabled = BTreeMap::new();
    let ctx = service::ServiceCtx {
        paths: mounts::Paths {
            dir: inp.dir,
            home: inp.vars.get("HOME").map(String::as_str),
        },
        vars: inp.vars,
    };
    if matches!(root.value, Value::Scalar { .. } | Value::Seq(_)) {
        return Err(crate::error::invalid(
            &root.pos,
            "(top level)",
            format!(
                "a compose file is a mapping (services:, networks:, ...), not {}",
                root.kind()
            ),
        ));
    }
    for (k, v) in map(root, "")? {
        match k.as_str() {
            "name" => {}
            "version" => warnings.push(Warning {
                pos: v.pos.clone(),
                path: k.clone(),
                message: "obsolete, ignored (the Compose Specification has no version)".into(),
            }),
            "services" => {
                for (name, s) in map(v, k)? {
                    let svc = service::service(s, &sub(k, name), &ctx, warnings)?;
                    if enabled(&svc, inp.profiles) {
                        project.services.insert(name.clone(), svc);
                    } else {
                        disabled.insert(name.clone(), svc);
                    }
                }
            }
            "networks" => {
                for (name, n) in map(v, k)? {
                    let net = network(n, &sub(k, name), name, inp.name, warnings)?;
                    project.networks.insert(name.clone(), net);
                }
            }
            "volumes" => {
                for (name, n) in map(v, k)? {
                    let vol = volume(n, &sub(k, name), name, inp.name, warnings)?;
                    project.volumes.insert(name.clone(), vol);
                }
            }
            "secrets" | "configs" | "include" | "models" => unsupported(warnings, k, v, ""),
            _ => unknown(warnings, k, v, ""),
        }
    }
    let mut uses_default = false;
    for svc in project.services.values_mut() {
        if svc.network_mode.is_none() && svc.networks.is_empty() {
            svc.networks.insert("default".into(), Default::default());
        }
        uses_default |= svc.networks.contains_key("default");
    }
    if uses_default && !project.networks.contains_key("default") {
        let name = format!("{}_default", inp.name);
        project.networks.insert(
            "default".into(),
            Network {
                name,
                ..Network::default()
            },
        );
    }
    Ok(Normalized { project, disabled })
}

/// A service without profiles is always on; one with profiles only when one of them is
/// active (`*` activates all).
fn enabled(svc: &Service, active: &[String]) -> bool {
    svc.profiles.is_empty() || active.iter().any(|a| a == "*" || svc.profiles.contains(a))
}

/// `external: true`, or the legacy `external: {name: x}`.
fn external(v: &Node, path: &str, explicit_name: &mut Option<String>) -> Result<bool> {
    if let Value::Map(_) = v.value {
        if let Some(n) = v.get("name") {
            *explicit_name = Some(string(n, &sub(path, "name"))?);
        }
        return Ok(true);
    }
    boolean(v, path)
}

fn network(
    n: &Node,
    path: &str,
    key: &str,
    project: &str,
    warnings: &mut Vec<Warning>,
) -> Result<Network> {
    let mut net = Network::default();
    let mut explicit_name = None;
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "name" => explicit_name = opt_string(v, &p)?,
            "driver" => net.driver = opt_string(v, &p)?,
            "driver_opts" => net.driver_opts = labels(v, &p)?,
            "external" => net.external = external(v, &p, &mut explicit_name)?,
            "internal" => net.internal = boolean(v, &p)?,
            "enable_ipv6" => net.enable_ipv6 = boolean(v, &p)?,
            "attachable" => net.attachable = boolean(v, &p)?,
            "labels" => net.labels = labels(v, &p)?,
            "ipam" => net.ipam = Some(ipam(v, &p, warnings)?),
            "enable_ipv4" => unsupported(warnings, k, v, path),
            _ => unknown(warnings, k, v, path),
        }
    }
    net.name = name_on_host(explicit_name, net.external, key, project);
    Ok(net)
}

fn ipam(n: &Node, path: &str, warnings: &mut Vec<Warning>) -> Result<Ipam> {
    let mut ipam = Ipam::default();
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "driver" => ipam.driver = opt_string(v, &p)?,
            "config" => {
                let Value::Seq(items) = &v.value else {
                    return Err(crate::error::invalid(
                        &v.pos,
                        &p,
                        "expected a list of pools",
                    ));
                };
                for (i, item) in items.iter().enumerate() {
                    let ip = format!("{p}[{i}]");
                    let mut pool = IpamPool::default();
                    for (ck, cv) in map(item, &ip)? {
                        let cp = sub(&ip, ck);
                        match ck.as_str() {
                            "subnet" => pool.subnet = opt_string(cv, &cp)?,
                            "gateway" => pool.gateway = opt_string(cv, &cp)?,
                            "ip_range" => pool.ip_range = opt_string(cv, &cp)?,
                            "aux_addresses" => unsupported(warnings, ck, cv, &ip),
                            _ => unknown(warnings, ck, cv, &ip),
                        }
                    }
                    ipam.config.push(pool);
                }
            }
            "options" => unsupported(warnings, k, v, path),
            _ => unknown(warnings, k, v, path),
        }
    }
    Ok(ipam)
}

fn volume(
    n: &Node,
    path: &str,
    key: &str,
    project: &str,
    warnings: &mut Vec<Warning>,
) -> Result<Volume> {
    let mut vol = Volume::default();
    let mut explicit_name = None;
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "name" => explicit_name = opt_string(v, &p)?,
            "driver" => vol.driver = opt_string(v, &p)?,
            "driver_opts" => vol.driver_opts = labels(v, &p)?,
            "external" => vol.external = external(v, &p, &mut explicit_name)?,
            "labels" => vol.labels = labels(v, &p)?,
            _ => unknown(warnings, k, v, path),
        }
    }
    vol.name = name_on_host(explicit_name, vol.external, key, project);
    Ok(vol)
}

fn name_on_host(explicit: Option<String>, external: bool, key: &str, project: &str) -> String {
    match explicit {
        Some(n) => n,
        None if external => key.to_string(),
        None => format!("{project}_{key}"),
    }
}
