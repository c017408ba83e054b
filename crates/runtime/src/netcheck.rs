//! `run`/`create` network flags checked before anything is written: the
//! networks exist, `--ip` is a free host address of its network, `--add-host`
//! and `--dns` are well formed.

use hoist_network::{lease, record, Request};
use std::net::IpAddr;
use std::path::Path;

use crate::container::config::RunOptions;
use crate::error::{Result, RuntimeError};
use crate::spec::NetworkMode;

/// The networks a bridge-mode container will be on (the default network when
/// none is named), each checked.
pub fn networks(root: &Path, opts: &RunOptions) -> Result<Vec<Request>> {
    if opts.network != NetworkMode::Bridge {
        if !opts.networks.is_empty() {
            return Err(RuntimeError::Invalid(format!(
                "--network {:?} cannot be combined with networks",
                opts.network
            )));
        }
        return Ok(Vec::new());
    }
    let mut reqs = opts.networks.clone();
    if reqs.is_empty() {
        reqs.push(Request {
            network: record::DEFAULT_NETWORK.into(),
            ..Default::default()
        });
    }
    let mut seen = Vec::new();
    for req in &mut reqs {
        let net = record::find(root, &req.network)?;
        if seen.contains(&net.name) {
            return Err(RuntimeError::Invalid(format!(
                "network {} is given twice",
                net.name
            )));
        }
        seen.push(net.name.clone());
        req.network = net.name.clone();
        if let Some(ip) = req.ip {
            if !net.subnet.is_host(ip) || ip == net.gateway {
                return Err(hoist_network::NetworkError::AddressOutside {
                    ip: ip.to_string(),
                    network: net.name.clone(),
                    subnet: net.subnet.to_string(),
                }
                .into());
            }
            let taken = lease::read(&lease::leases_dir(root, &net.name), ip).is_some_and(|l| {
                lease::Owner {
                    pid: l.owner_pid,
                    start_time: l.owner_start_time,
                }
                .alive()
            });
            if taken {
                return Err(hoist_network::NetworkError::AddressInUse {
                    ip: ip.to_string(),
                    network: net.name.clone(),
                }
                .into());
            }
        }
    }
    Ok(reqs)
}

/// A host name, alias or search domain as /etc/hosts, resolv.conf and the
/// DNS responder take it: letters, digits, '-', '_' and '.', nothing that
/// could start another line or field.
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// `--add-host HOST:IP` (or `HOST:host-gateway`), `--dns IP`,
/// `--dns-search DOMAIN`, `--network-alias NAME`.
pub fn dns_flags(opts: &RunOptions) -> Result<()> {
    for alias in opts.networks.iter().flat_map(|r| &r.aliases) {
        if !is_name(alias) {
            return Err(RuntimeError::Invalid(format!(
                "invalid --network-alias {alias:?}: use letters, digits, '-', '_' and '.'"
            )));
        }
    }
    for d in &opts.dns_search {
        if !is_name(d) {
            return Err(RuntimeError::Invalid(format!(
                "invalid --dns-search {d:?}: give a domain such as example.com"
            )));
        }
    }
    for h in &opts.add_hosts {
        let ok = h.split_once(':').is_some_and(|(host, ip)| {
            is_name(host) && (ip == "host-gateway" || ip.parse::<IpAddr>().is_ok())
        });
        if !ok {
            return Err(RuntimeError::Invalid(format!(
                "invalid --add-host {h:?}: use HOST:IP (e.g. db:192.0.2.10) or HOST:host-gateway"
            )));
        }
    }
    for d in &opts.dns {
        if d.parse::<IpAddr>().is_err() {
            return Err(RuntimeError::Invalid(format!(
                "invalid --dns {d:?}: give a name server's IP address"
            )));
        }
    }
    Ok(())
}
