//! `run`/`create`'s network flags: `--network` (a mode, or one or more
//! networks), `--ip` and `--network-alias`, turned into the runtime's mode
//! and network requests. Without `--network` a container goes on the default
//! `bridge` network, as in docker and podman (`$HOIST_DEFAULT_NETWORK` can
//! name another default, e.g. `private`; rootless: hoist_runtime::rootless
//! decides); a pod member shares its pod's.

use anyhow::{anyhow, bail};
use hoist_network::Request;
use hoist_runtime::spec::NetworkMode;
use std::net::Ipv4Addr;

use crate::cli::container::CreateArgs;

pub struct NetworkFlags {
    pub mode: NetworkMode,
    pub networks: Vec<Request>,
    /// `container:NAME`.
    pub container: Option<String>,
}

/// The environment variable naming the default for `--network`.
pub const DEFAULT_ENV: &str = "HOIST_DEFAULT_NETWORK";

pub fn parse(a: &CreateArgs) -> anyhow::Result<NetworkFlags> {
    let values: Vec<String> = if !a.network.is_empty() {
        a.network.clone()
    } else if a.pod.is_some() {
        vec!["private".into()]
    } else {
        vec![std::env::var(DEFAULT_ENV)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| hoist_runtime::rootless::default_network().into())]
    };
    let ip =
        a.ip.as_deref()
            .map(|s| {
                s.parse::<Ipv4Addr>()
                    .map_err(|_| anyhow!("invalid --ip {s:?}: give an IPv4 address"))
            })
            .transpose()?;
    let mut networks = Vec::new();
    let mut mode = None;
    if let Some(name) = values.iter().find_map(|v| v.strip_prefix("container:")) {
        if values.len() > 1 || ip.is_some() || !a.network_alias.is_empty() {
            bail!("--network container:{name} cannot be combined with other networks, --ip or --network-alias");
        }
        if name.is_empty() {
            bail!("--network container: needs a container's name");
        }
        return Ok(NetworkFlags {
            mode: NetworkMode::Container,
            networks: Vec::new(),
            container: Some(name.to_string()),
        });
    }
    for v in &values {
        match v.parse::<NetworkMode>() {
            Ok(NetworkMode::Bridge) | Err(_) => networks.push(Request {
                network: if v == "default" {
                    "bridge".into()
                } else {
                    v.clone()
                },
                ip: None,
                aliases: a.network_alias.clone(),
            }),
            Ok(m) => mode = Some(m),
        }
    }
    if let Some(m) = mode {
        if values.len() > 1 {
            bail!("--network {m:?} cannot be combined with other networks");
        }
        if ip.is_some() || !a.network_alias.is_empty() {
            bail!("--ip and --network-alias need a network (--network bridge or a network's name)");
        }
        return Ok(NetworkFlags {
            mode: m,
            networks: Vec::new(),
            container: None,
        });
    }
    if let Some(first) = networks.first_mut() {
        first.ip = ip;
    }
    Ok(NetworkFlags {
        mode: NetworkMode::Bridge,
        networks,
        container: None,
    })
}

/// `pod create`'s networks: as given, else the same default as `run`'s.
pub fn pod_default(given: Vec<String>) -> Vec<String> {
    if !given.is_empty() {
        return given;
    }
    vec![std::env::var(DEFAULT_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| hoist_runtime::rootless::default_pod_network().into())]
}
