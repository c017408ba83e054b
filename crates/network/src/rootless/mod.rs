//! Network access for rootless containers. A rootless hoist is root only in
//! its per-user user namespace: it cannot make veth pairs, bridges or NAT
//! rules in the host's network namespace (the initial user namespace owns
//! it). A user-mode helper does instead what the bridge does for root's
//! containers: slirp4netns, started in the host's network namespace,
//! enters the container's (its user namespace owns that one), makes a tap
//! device there and relays its packets through ordinary sockets of the
//! host — outbound connections NATed by the helper, DNS at [`DNS`]
//! forwarded to the host's resolver.
//!
//! Why slirp4netns and not pasta (ARCHITECTURE.md, "Rootless: Networking"):
//! measured here, its setup takes ~5 ms per container against pasta's
//! ~70 ms (Debian bookworm's pasta of 2023-03 opens its socket pools and
//! scans ports first), and `--exit-fd` ties its life to a descriptor the
//! monitor holds, so it cannot outlive a killed monitor.
//!
//! Published ports do not go through the helper: the monitor's port proxy
//! (runtime/src/ports.rs) already binds on the host and connects from
//! inside the container's namespace, and keeps readiness gating and
//! restarts as for root's containers.

mod slirp;

pub use slirp::{start, Options, Outbound, Target};

use std::net::Ipv4Addr;

/// The container's address on slirp4netns' network (its default
/// 10.0.2.0/24; `--configure` assigns it to the tap device).
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 100);
/// The gateway: the helper itself (it does not reach the host's loopback:
/// `--disable-host-loopback`, as podman's default).
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The helper's DNS forwarder (to the host's first resolver).
pub const DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);
pub const PREFIX_LEN: u8 = 24;
/// The container's interface, named as root's containers' first one.
pub const INTERFACE: &str = "eth0";
/// The helper's binary and the Debian package that has it.
pub const BINARY: &str = "slirp4netns";
pub const PACKAGE: &str = "slirp4netns";
