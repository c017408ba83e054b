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

pub mod netns;
mod slirp;

pub use slirp::{start, start_shared, Options, Outbound, Target};

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{NetworkError, Result};

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

/// The tun device the helper opens (in the container's network namespace,
/// but through this process's mount namespace).
pub const TUN: &str = "/dev/net/tun";

/// Whether the helper can work for this process: its binary is there and
/// the tun device opens (it does not on machines whose /dev/net/tun is
/// root's alone, mode 0600, where no unprivileged user can have a tap).
pub fn check(opts: &Options) -> Result<()> {
    let found = if opts.binary.components().count() > 1 {
        opts.binary.is_file()
    } else {
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join(&opts.binary).is_file())
        })
    };
    if !found {
        return Err(NetworkError::HelperMissing {
            binary: opts.binary.display().to_string(),
            package: PACKAGE,
            source: std::io::ErrorKind::NotFound.into(),
        });
    }
    match std::fs::OpenOptions::new().read(true).write(true).open(TUN) {
        Ok(_) => Ok(()),
        Err(source) => Err(NetworkError::TunUnavailable {
            mode: std::fs::metadata(Path::new(TUN)).map_or_else(
                |e| e.to_string(),
                |m| format!("{:04o}", m.permissions().mode() & 0o7777),
            ),
            source,
        }),
    }
}
