//! A container's networks as `inspect` shows them (docker's
//! `NetworkSettings`), and `network connect`/`disconnect`: at once for a
//! running container (runtime's netlive.rs), else from its next start.

use anyhow::bail;
use hoist_network::{record, Request};
use hoist_runtime::container::{self, ContainerRecord};
use hoist_runtime::netlive;
use hoist_runtime::spec::NetworkMode;
use serde_json::{json, Value};
use std::path::Path;

/// docker's HostConfig.NetworkMode: the first network's name in bridge mode.
pub fn mode_name(rec: &ContainerRecord) -> String {
    match rec.network {
        NetworkMode::Bridge => rec
            .networks
            .first()
            .map(|r| r.network.clone())
            .unwrap_or_else(|| "bridge".into()),
        NetworkMode::Private => "private".into(),
        NetworkMode::None => "none".into(),
        NetworkMode::Host => "host".into(),
        NetworkMode::Container => format!(
            "container:{}",
            rec.network_container.as_deref().unwrap_or_default()
        ),
    }
}

/// `NetworkSettings`: the running attachments (addresses empty when the
/// container is not running, as docker shows them), `ports` as given.
pub fn json(rec: &ContainerRecord, dir: &Path, ports: Value) -> Value {
    let live = hoist_runtime::netattach::attachments(dir);
    let mut networks = serde_json::Map::new();
    for req in &rec.networks {
        let a = live.iter().find(|a| a.network == req.network);
        networks.insert(
            req.network.clone(),
            json!({
                "Aliases": req.aliases,
                "NetworkID": a.map(|a| a.network_id.clone()).unwrap_or_default(),
                "EndpointID": a.map(|a| a.host_interface.clone()).unwrap_or_default(),
                "Gateway": a.map(|a| a.gateway.to_string()).unwrap_or_default(),
                "IPAddress": a.map(|a| a.ipv4.to_string()).unwrap_or_default(),
                "IPPrefixLen": a.map(|a| a.prefix_len).unwrap_or(0),
                "MacAddress": a.map(|a| a.mac.clone()).unwrap_or_default(),
                "GlobalIPv6Address": a.and_then(|a| a.ipv6).map(|ip| ip.to_string()).unwrap_or_default(),
                "GlobalIPv6PrefixLen": a.map_or(0, |a| a.ipv6_prefix_len),
                "IPv6Gateway": a.and_then(|a| a.ipv6_gateway).map(|ip| ip.to_string()).unwrap_or_default(),
                "IPAMConfig": req.ip.map(|ip| json!({"IPv4Address": ip.to_string()})),
                "DNSNames": a.map(|_| {
                    let mut n = vec![rec.name.clone(), rec.short_id().to_string()];
                    n.extend(req.aliases.iter().cloned());
                    n
                }),
            }),
        );
    }
    let first = live.first();
    json!({
        "Ports": ports,
        "IPAddress": first.map(|a| a.ipv4.to_string()).unwrap_or_default(),
        "IPPrefixLen": first.map(|a| a.prefix_len).unwrap_or(0),
        "Gateway": first.map(|a| a.gateway.to_string()).unwrap_or_default(),
        "MacAddress": first.map(|a| a.mac.clone()).unwrap_or_default(),
        "GlobalIPv6Address": first.and_then(|a| a.ipv6).map(|ip| ip.to_string()).unwrap_or_default(),
        "GlobalIPv6PrefixLen": first.map_or(0, |a| a.ipv6_prefix_len),
        "IPv6Gateway": first.and_then(|a| a.ipv6_gateway).map(|ip| ip.to_string()).unwrap_or_default(),
        "Networks": networks,
    })
}

pub fn connect(
    root: &Path,
    network: &str,
    what: &str,
    ip: Option<&str>,
    aliases: Vec<String>,
) -> anyhow::Result<i32> {
    let mut rec = container::find(root, what)?;
    let net = record::find(root, network)?;
    if rec.network != NetworkMode::Bridge || rec.pod.is_some() {
        bail!(
            "container {} uses --network {}: only a container on networks can be connected to another",
            rec.name,
            mode_name(&rec)
        );
    }
    if let Some(bad) = aliases
        .iter()
        .find(|a| !hoist_runtime::netcheck::is_name(a))
    {
        bail!("invalid --alias {bad:?}: use letters, digits, '-', '_' and '.'");
    }
    if rec.networks.iter().any(|r| r.network == net.name) {
        bail!("container {} is already on network {}", rec.name, net.name);
    }
    let ip = match ip {
        Some(s) => Some(
            s.parse()
                .map_err(|_| anyhow::anyhow!("invalid --ip {s:?}: give an IPv4 address"))?,
        ),
        None => None,
    };
    if let Some(ip) = ip {
        if !net.subnet.is_host(ip) || ip == net.gateway {
            return Err(hoist_network::NetworkError::AddressOutside {
                ip: ip.to_string(),
                network: net.name,
                subnet: net.subnet.to_string(),
            }
            .into());
        }
    }
    let req = Request {
        network: net.name.clone(),
        ip,
        aliases,
    };
    match netlive::running_pid(root, &rec) {
        Some(pid) => {
            netlive::connect(root, &mut rec, pid, req)?;
        }
        None => {
            rec.networks.push(req);
            container::save(root, &rec)?;
        }
    }
    Ok(0)
}

pub fn disconnect(root: &Path, network: &str, what: &str, force: bool) -> anyhow::Result<i32> {
    let mut rec = container::find(root, what)?;
    let network = record::find(root, network)
        .map(|n| n.name)
        .unwrap_or_else(|_| network.to_string());
    if !rec.networks.iter().any(|r| r.network == network) {
        if force {
            return Ok(0);
        }
        bail!("container {} is not on network {network}", rec.name);
    }
    if rec.networks.len() == 1 {
        bail!(
            "network {network} is container {}'s only network; connect it to another first (hoist network connect)",
            rec.name
        );
    }
    match netlive::running_pid(root, &rec) {
        Some(_) => netlive::disconnect(root, &mut rec, &network)?,
        None => {
            rec.networks.retain(|r| r.network != network);
            container::save(root, &rec)?;
        }
    }
    Ok(0)
}
