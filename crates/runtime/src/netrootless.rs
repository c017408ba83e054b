//! A rootless container's network (`--network bridge`, the default): its
//! own namespace with a loopback, as `private`, plus the user-mode helper
//! (hoist_network::rootless, slirp4netns) for outbound access and DNS.
//! Root's bridge needs veth pairs, a bridge and nftables in the host's
//! namespace, which the initial user namespace owns, so a rootless hoist
//! cannot make them. Published ports keep the monitor's proxy (it binds on
//! the host and connects from inside the container's namespace, which the
//! rootless hoist's user namespace owns), with its readiness gating.
//!
//! The monitor starts the helper on the namespace the netns helper thread
//! made, before the container's process is cloned, and waits for its ready
//! report: the container's first connection already goes out, and `run -d`
//! reports the container started only after that. The helper ends with the
//! run (the handle is dropped), or with the monitor if it is killed (the
//! kernel closes its exit descriptor).

use hoist_network::rootless::{self as helper, Options, Outbound, Target};
use hoist_network::{Attachment, DEFAULT_NETWORK};
use std::os::fd::AsFd;
use std::path::Path;

use crate::container::config::RunOptions;
use crate::container::ContainerRecord;
use crate::core::plan::ContainerPlan;
use crate::error::{Result, RuntimeError};
use crate::spec::NetworkMode;

/// The name `inspect` and /etc/hosts know the helper's network by.
pub const NETWORK: &str = "slirp4netns";

/// Whether `rec` gets the helper: a rootless container on the default
/// network with a namespace of its own (a pod member shares its pod's; a
/// container on user networks is on bridges in the rootless network
/// namespace instead, hoist_network::rootless::netns).
pub fn wanted(rec: &ContainerRecord) -> bool {
    crate::rootless::active()
        && rec.network == NetworkMode::Bridge
        && rec.pod.is_none()
        && !on_user_networks(rec)
}

/// Whether `rec` asks for user networks (not the default one).
pub fn on_user_networks(rec: &ContainerRecord) -> bool {
    rec.networks.iter().any(|r| r.network != DEFAULT_NETWORK)
}

/// The helper, for `hoist info`.
pub fn helper_name() -> &'static str {
    helper::BINARY
}

/// Whether the helper can work for this process (binary, /dev/net/tun).
pub fn usable() -> std::result::Result<(), hoist_network::NetworkError> {
    helper::check(&Options::default())
}

/// Refuses, at create, the default network together with user networks
/// for a rootless container: the default is the helper's own network
/// (slirp4netns in the container's namespace), user networks are bridges
/// in the rootless network namespace, and one namespace cannot have both
/// default routes.
pub fn check(opts: &RunOptions) -> Result<()> {
    let user: Vec<&str> = opts
        .networks
        .iter()
        .map(|r| r.network.as_str())
        .filter(|n| *n != DEFAULT_NETWORK)
        .collect();
    let default = opts.networks.iter().any(|r| r.network == DEFAULT_NETWORK);
    if user.is_empty() || !default {
        return Ok(());
    }
    Err(RuntimeError::Invalid(format!(
        "--network {DEFAULT_NETWORK},{}: a rootless container is either on the default \
         network (its own way out through {}) or on user networks (bridges in your \
         rootless network namespace, which go out through it too): give one or the other",
        user.join(","),
        helper::BINARY
    )))
}

/// Starts the helper on the network namespace the plan makes the child
/// join, and rewrites /etc/hosts and resolv.conf beside the container for
/// the helper's network. None when `rec` does not get the helper.
pub fn attach(dir: &Path, rec: &ContainerRecord, plan: &ContainerPlan) -> Result<Option<Outbound>> {
    if !wanted(rec) {
        return Ok(None);
    }
    let Some((netns, _)) = plan
        .join_namespaces
        .iter()
        .rev()
        .find(|(_, kind)| *kind == libc::CLONE_NEWNET)
    else {
        return Ok(None);
    };
    let target = Target::Netns {
        netns: netns.as_fd(),
        userns: None,
    };
    let outbound = helper::start(target, &Options::default())?;
    crate::netattach::write_etc(dir, rec, &[attachment()])?;
    Ok(Some(outbound))
}

/// The container's place on the helper's network, for /etc/hosts (its
/// address) and resolv.conf (the helper's DNS forwarder).
pub fn attachment() -> Attachment {
    Attachment {
        network: NETWORK.into(),
        network_id: String::new(),
        interface: helper::INTERFACE.into(),
        host_interface: String::new(),
        bridge: String::new(),
        bridge_index: 0,
        ipv4: helper::ADDRESS,
        prefix_len: helper::PREFIX_LEN,
        gateway: helper::GATEWAY,
        mac: String::new(),
        aliases: Vec::new(),
        internal: false,
        dns: Some(helper::DNS),
        ipv6: None,
        ipv6_prefix_len: 0,
        ipv6_gateway: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etc_files_name_the_helpers_address_and_forwarder() {
        let rec = ContainerRecord {
            id: "a".repeat(64),
            name: "web".into(),
            hostname: "abc".into(),
            network: NetworkMode::Bridge,
            ..Default::default()
        };
        let hosts = crate::netattach::hosts(&rec, &[attachment()]);
        assert!(hosts.contains("10.0.2.100\tabc web\n"), "{hosts}");
        let resolv = crate::netattach::resolv_conf(&rec, &[attachment()]);
        assert!(resolv.ends_with("nameserver 10.0.2.3\n"), "{resolv}");
    }

    #[test]
    fn the_default_network_and_user_networks_are_not_mixed() {
        let mut opts = RunOptions {
            networks: vec![hoist_network::Request {
                network: DEFAULT_NETWORK.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        check(&opts).unwrap();
        opts.networks.push(hoist_network::Request {
            network: "backend".into(),
            ..Default::default()
        });
        let msg = check(&opts).unwrap_err().to_string();
        assert!(
            msg.contains("--network bridge,backend") && msg.contains("one or the other"),
            "{msg}"
        );
        opts.networks.remove(0);
        check(&opts).unwrap();
    }
}
