//! What a network puts on the host: its bridge (with the gateway address) and
//! its nftables table, made when its first container attaches and removed
//! with the network (`network rm`, `network prune`). Callers hold the
//! network's lock.

use crate::error::{NetworkError, Result};
use crate::firewall;
use crate::netlink::{index_of, Netlink};
use crate::record::Network;

/// Makes the bridge and its rules unless the bridge exists; returns the
/// bridge's interface index. Must run in the namespace hoist's networks live
/// in (the host's, or a rootless hoist's rootless network namespace), not a
/// container's.
pub fn ensure_bridge(net: &Network) -> Result<u32> {
    if let Some(i) = index_of(&net.bridge) {
        return Ok(i);
    }
    let step = |what: &str| {
        let what = format!("{what} ({})", net.bridge);
        move |source| NetworkError::Netlink { step: what, source }
    };
    let mut nl = Netlink::open().map_err(step("opening a socket"))?;
    // The gateway's MAC by the containers' scheme: no container has the
    // gateway's address, so no container has this MAC.
    nl.add_bridge(&net.bridge, crate::lease::mac_for(net.gateway))
        .map_err(step("creating the bridge"))?;
    let made = (|| {
        let index = index_of(&net.bridge).ok_or_else(|| NetworkError::Netlink {
            step: format!("finding the new bridge {}", net.bridge),
            source: std::io::Error::from_raw_os_error(libc::ENODEV),
        })?;
        nl.add_address(index, net.gateway, net.subnet.prefix)
            .map_err(step("adding the gateway address"))?;
        if let (Some(gw6), Some(p)) = (net.ipv6_gateway(), net.ipv6_subnet) {
            nl.add_address6(index, gw6, p.prefix)
                .map_err(step("adding the IPv6 gateway address"))?;
        }
        if !net.internal {
            firewall::enable_forwarding(net.ipv6_subnet.is_some())?;
        }
        firewall::apply(net)?;
        crate::xtables::allow_bridge(&net.bridge);
        Ok(index)
    })();
    if made.is_err() {
        teardown_here(net);
    }
    made
}

/// Removes the bridge and the rules (whatever of them exists).
pub fn teardown(net: &Network) {
    let done = crate::rootless::netns::run_in(false, || {
        teardown_here(net);
        Ok(())
    });
    if let Err(e) = done {
        tracing::warn!("removing the bridge of network {}: {e}", net.name);
    }
}

fn teardown_here(net: &Network) {
    if let Some(i) = index_of(&net.bridge) {
        if let Ok(mut nl) = Netlink::open() {
            if let Err(e) = nl.delete_link(i) {
                tracing::warn!("deleting bridge {}: {e}", net.bridge);
            }
        }
    }
    if let Err(e) = firewall::remove(net) {
        tracing::warn!("removing the rules of network {}: {e}", net.name);
    }
    crate::xtables::forget_bridge(&net.bridge);
}

/// Deletes a host-side veth (and so its peer) if it still exists. Normally
/// the kernel deletes it with the container's namespace; this is for a
/// namespace something else still holds.
pub fn delete_veth(name: &str) {
    let _ = crate::rootless::netns::run_in(false, || {
        if let Some(i) = index_of(name) {
            if let Ok(mut nl) = Netlink::open() {
                let _ = nl.delete_link(i);
            }
        }
        Ok(())
    });
}

/// What hoist has made on the host for `net` (for `network inspect`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct HostState {
    pub bridge: Option<String>,
    pub nftables_table: Option<String>,
}

pub fn state(net: &Network) -> HostState {
    let here = || HostState {
        bridge: index_of(&net.bridge).map(|_| net.bridge.clone()),
        nftables_table: firewall::present(net).then(|| firewall::table_name(net)),
    };
    crate::rootless::netns::run_in(false, || Ok(here())).unwrap_or(HostState {
        bridge: None,
        nftables_table: None,
    })
}
