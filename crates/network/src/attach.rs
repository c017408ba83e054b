//! Attaching a container's network namespace to networks, in two halves so
//! the runtime can overlap them with the rest of a start:
//! `reserve` (host namespace: the bridge and rules if missing, an address
//! lease per network) then `plumb` (veth pairs whose peers are born in the
//! container's namespace as eth0, eth1..., addresses, the default route).
//! `release` undoes both when the container stops or is removed.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::error::{NetworkError, Result};
use crate::lease::{self, lock_path, Claim, Owner};
use crate::lock::Lock;
use crate::netlink::{index_of, Netlink};
use crate::record::{self, Network};

/// One network a container asks to be on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Request {
    pub network: String,
    /// `--ip`: this address, else the lowest free one.
    #[serde(default)]
    pub ip: Option<Ipv4Addr>,
    /// `--network-alias`: more names the container answers to on this network.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A container on a network: what `inspect` shows as
/// `NetworkSettings.Networks.<name>` and what `release` needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    pub network: String,
    pub network_id: String,
    /// Inside the container: eth0, eth1, ...
    pub interface: String,
    /// The host end of the veth pair, a port of `bridge`.
    pub host_interface: String,
    pub bridge: String,
    #[serde(skip)]
    pub bridge_index: u32,
    pub ipv4: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
    pub aliases: Vec<String>,
    pub internal: bool,
    /// The network's DNS responder (its gateway) when it resolves names.
    pub dns: Option<Ipv4Addr>,
    /// On a network with `--ipv6`: the address, prefix length and gateway.
    #[serde(default)]
    pub ipv6: Option<Ipv6Addr>,
    #[serde(default)]
    pub ipv6_prefix_len: u8,
    #[serde(default)]
    pub ipv6_gateway: Option<Ipv6Addr>,
}

/// Who is attached, and how to start a network's DNS responder
/// (`hoist_exe`: the binary that has the hidden `__dns` verb).
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub container_id: &'a str,
    pub name: &'a str,
    pub owner: Owner,
    pub hoist_exe: Option<&'a Path>,
}

/// Reserves an address on each requested network (making bridges, rules and
/// DNS responders that are missing). Runs in the host's namespace — for a
/// rootless hoist, the rootless network namespace (`rootless::netns`). On
/// error nothing stays reserved.
pub fn reserve(root: &Path, who: &Endpoint, requests: &[Request]) -> Result<Vec<Attachment>> {
    crate::rootless::netns::run_in(true, || reserve_here(root, who, requests))
}

fn reserve_here(root: &Path, who: &Endpoint, requests: &[Request]) -> Result<Vec<Attachment>> {
    let container_id = who.container_id;
    let mut done: Vec<Attachment> = Vec::new();
    for (n, req) in requests.iter().enumerate() {
        match reserve_one(root, who, req, n) {
            Ok(a) => done.push(a),
            Err(e) => {
                release(root, container_id, &done);
                return Err(e);
            }
        }
    }
    Ok(done)
}

fn reserve_one(root: &Path, who: &Endpoint, req: &Request, n: usize) -> Result<Attachment> {
    let net = record::find(root, &req.network)?;
    let lock = Lock::exclusive(&lock_path(root, &net.name))?;
    // `network rm` may have won the lock meanwhile: nothing may be made for
    // a network that is gone.
    if !record::record_path(root, &net.name).exists() {
        return Err(NetworkError::NotFound(net.name));
    }
    let bridge_index = crate::host::ensure_bridge(&net)?;
    let claim = Claim {
        container_id: who.container_id,
        name: who.name,
        aliases: &req.aliases,
        ip: req.ip,
        owner: who.owner,
    };
    let lease = lease::allocate(root, &net, &claim)?;
    drop(lock);
    if let (true, Some(exe)) = (net.dns_enabled, who.hoist_exe) {
        // After the lease: the lease is what keeps the responder alive.
        if let Err(e) = crate::dns::ensure_responder(root, &net.name, net.gateway, exe) {
            let _lock = Lock::exclusive(&lock_path(root, &net.name))?;
            let _ = lease::release(root, &net.name, lease.ipv4, who.container_id);
            return Err(NetworkError::Invalid(format!(
                "starting the DNS responder of network {}: {e}",
                net.name
            )));
        }
    }
    Ok(Attachment {
        network: net.name.clone(),
        network_id: net.id.clone(),
        interface: format!("eth{n}"),
        host_interface: veth_name(),
        bridge: net.bridge.clone(),
        bridge_index,
        ipv4: lease.ipv4,
        prefix_len: net.subnet.prefix,
        gateway: net.gateway,
        mac: lease.mac,
        aliases: req.aliases.clone(),
        internal: net.internal,
        dns: net.dns_enabled.then_some(net.gateway),
        ipv6: net.ipv6_for(lease.ipv4),
        ipv6_prefix_len: net.ipv6_subnet.map_or(0, |p| p.prefix),
        ipv6_gateway: net.ipv6_gateway(),
    })
}

/// `veth` and 8 random hex digits (a restarted container's old pair may
/// still be on its way out of a dying namespace).
fn veth_name() -> String {
    let mut b = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut b);
    }
    format!("veth{:08x}", u32::from_ne_bytes(b))
}

/// Makes the veth pairs and configures the container's side. `host` is a
/// socket opened in the host's namespace, `ctr` one opened in the container's;
/// the calling thread must be in the container's namespace (interface names
/// are looked up there).
pub fn plumb(
    atts: &[Attachment],
    host: &mut Netlink,
    ctr: &mut Netlink,
    netns: BorrowedFd,
) -> Result<()> {
    let mut have_route = false;
    let mut have_route6 = false;
    for a in atts {
        let step = |what: &str| {
            let what = format!("{what} ({} on network {})", a.interface, a.network);
            move |source| NetworkError::Netlink { step: what, source }
        };
        let mac = parse_mac(&a.mac);
        host.add_veth(&a.host_interface, a.bridge_index, &a.interface, netns, mac)
            .map_err(step("creating the veth pair"))?;
        let index = index_of(&a.interface).ok_or_else(|| NetworkError::Netlink {
            step: format!("finding {} in the container", a.interface),
            source: std::io::Error::from_raw_os_error(libc::ENODEV),
        })?;
        ctr.add_address(index, a.ipv4, a.prefix_len)
            .map_err(step("adding the address"))?;
        ctr.set_up(index)
            .map_err(step("bringing the interface up"))?;
        if !a.internal && !have_route {
            match ctr.add_default_route(index, a.gateway) {
                // A network connected later: the first one has the route.
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                other => other.map_err(step("adding the default route"))?,
            }
            have_route = true;
        }
        if let Some(ip6) = a.ipv6 {
            ctr.add_address6(index, ip6, a.ipv6_prefix_len)
                .map_err(step("adding the IPv6 address"))?;
            if let (false, false, Some(gw6)) = (a.internal, have_route6, a.ipv6_gateway) {
                match ctr.add_default_route6(index, gw6) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    other => other.map_err(step("adding the IPv6 default route"))?,
                }
                have_route6 = true;
            }
        }
    }
    Ok(())
}

fn parse_mac(s: &str) -> [u8; 6] {
    let mut mac = [0u8; 6];
    for (i, part) in s.split(':').take(6).enumerate() {
        mac[i] = u8::from_str_radix(part, 16).unwrap_or(0);
    }
    mac
}

/// The leases now follow `owner` (the container's PID 1 once it runs): a
/// container whose monitor was SIGKILLed keeps its address while it lives.
pub fn hand_over(root: &Path, container_id: &str, atts: &[Attachment], owner: Owner) -> Result<()> {
    for a in atts {
        let _lock = Lock::exclusive(&lock_path(root, &a.network))?;
        lease::set_owner(root, &a.network, a.ipv4, container_id, owner)?;
    }
    Ok(())
}

/// Adds (`add`) or removes a name among the aliases of `owner_id`'s leases
/// in `atts` (a pod member's name on the pod's lease).
pub fn alias(root: &Path, owner_id: &str, atts: &[Attachment], name: &str, add: bool) {
    for a in atts {
        let changed = Lock::exclusive(&lock_path(root, &a.network)).and_then(|_lock| {
            lease::set_aliases(root, &a.network, a.ipv4, owner_id, |aliases| {
                aliases.retain(|n| n != name);
                if add {
                    aliases.push(name.to_string());
                }
            })
        });
        if let Err(e) = changed {
            tracing::warn!("updating the aliases on {}: {e}", a.network);
        }
    }
}

/// Gives the addresses back. The veth pairs go with the container's
/// namespace (the kernel deletes them when it dies, off our path: deleting
/// them here cost tens of milliseconds of RCU waits per container); bridges
/// and rules stay while the network exists, as docker's do (`network rm` and
/// `network prune` remove them): making and removing them per container
/// cost ~50 ms of `nft` and netlink per `run --rm`. Runs in the host's
/// namespace; errors are logged, not returned (a stale lease is reclaimed
/// later anyway).
pub fn release(root: &Path, container_id: &str, atts: &[Attachment]) {
    for a in atts {
        let net = match record::load(root, &a.network) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("releasing {} on {}: {e}", a.ipv4, a.network);
                continue;
            }
        };
        let lock = match Lock::exclusive(&lock_path(root, &net.name)) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("releasing {} on {}: {e}", a.ipv4, a.network);
                continue;
            }
        };
        if let Err(e) = lease::release(root, &net.name, a.ipv4, container_id) {
            tracing::warn!("releasing {} on {}: {e}", a.ipv4, a.network);
        }
        drop(lock);
    }
}

/// `network rm`: refused while a live lease exists; else the bridge, rules,
/// DNS responder and record go.
pub fn remove_network(root: &Path, name: &str) -> Result<Network> {
    let net = record::find(root, name)?;
    if net.name == record::DEFAULT_NETWORK {
        return Err(NetworkError::Predefined(net.name));
    }
    let lock = Lock::exclusive(&lock_path(root, &net.name))?;
    if lease::sweep(root, &net.name)? > 0 {
        let users: Vec<String> = lease::all(root, &net.name)?
            .into_iter()
            .map(|l| l.name)
            .collect();
        return Err(NetworkError::InUse {
            network: net.name.clone(),
            users: users.join(", "),
        });
    }
    if let Err(e) = crate::dns::stop_responder(root, &net.name) {
        tracing::warn!("stopping the DNS responder of {}: {e}", net.name);
    }
    crate::host::teardown(&net);
    record::remove_record(root, &net)?;
    drop(lock);
    Ok(net)
}

/// Removes a network's bridge and rules when no container uses it, keeping
/// the record (`network prune` does this for the default network, which
/// cannot be removed). Returns whether they were removed.
pub fn remove_host_state(root: &Path, net: &Network) -> Result<bool> {
    crate::rootless::netns::run_in(false, || remove_host_state_here(root, net))
}

fn remove_host_state_here(root: &Path, net: &Network) -> Result<bool> {
    // Bridge and table are made together: no bridge, nothing to remove (and
    // no `nft` run on a machine where this network never started).
    if index_of(&net.bridge).is_none() {
        return Ok(false);
    }
    let _lock = Lock::exclusive(&lock_path(root, &net.name))?;
    if lease::sweep(root, &net.name)? > 0 {
        return Ok(false);
    }
    crate::host::teardown(net);
    Ok(true)
}

/// Whether a network has live users (for prune).
pub fn in_use(root: &Path, net: &Network) -> Result<bool> {
    let _lock = Lock::exclusive(&lock_path(root, &net.name))?;
    Ok(lease::sweep(root, &net.name)? > 0)
}
