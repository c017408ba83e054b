//! What a rootless hoist (root of its per-user namespace, see the binary's
//! src/rootless) may not do the way root does, decided in one place:
//! - cgroups: with a cgroup v2 directory delegated to the user (systemd's
//!   delegation, cgroup/delegated.rs) containers get cgroups under it and
//!   the limits whose controller is delegated; a flag whose controller is
//!   not, and every limit flag without a delegated cgroup (v1 never
//!   delegates), is refused with the reason — never silently ignored;
//! - networks: the default network of a rootless container, and which
//!   modes exist without root. The rootless network helper (slirp4netns,
//!   crates/network/src/rootless/) plugs in here: [`default_network`] and
//!   [`check_network`] are its hook; user networks live in the rootless
//!   network namespace (hoist_network::rootless::netns).

use crate::container::config::RunOptions;
use crate::error::{Result, RuntimeError};
use crate::spec::NetworkMode;

pub use hoist_store::rootless::active;

/// The cgroup v2 directory delegated to the user that hoist makes its
/// containers' cgroups under (cgroup/delegated.rs), or why there is none.
pub fn delegation() -> std::result::Result<crate::cgroup::delegated::Delegated, String> {
    crate::cgroup::delegated::from_env()
}

/// Why a rootless container cannot have any resource limit here.
pub fn no_cgroup_reason(why: &str) -> String {
    format!(
        "rootless hoist cannot set resource limits on this machine: {why}; the container \
         would run unlimited, so the flag is refused: run without it, or as root"
    )
}

/// The cgroup mode, for `hoist info`: `v2 delegated: DIR (controllers:
/// ...)`, or `none (WHY)`.
pub fn cgroup_info() -> String {
    match delegation() {
        Ok(d) if d.controllers.is_empty() => format!(
            "v2 delegated: {} (controllers: none; pause works, limit flags are refused)",
            d.dir.display()
        ),
        Ok(d) => format!(
            "v2 delegated: {} (controllers: {})",
            d.dir.display(),
            d.controllers.join(" ")
        ),
        Err(why) => format!("none ({why}; limit flags are refused)"),
    }
}

/// Refuses limit `flags` a rootless container cannot have: all of them
/// without a delegated cgroup, those whose controller is not delegated
/// with one — never silently ignored.
pub fn check_limit_flags(flags: &[&str]) -> Result<()> {
    if flags.is_empty() || !active() {
        return Ok(());
    }
    let refused = match delegation() {
        Err(why) => Some(format!("{}: {}", flags.join(", "), no_cgroup_reason(&why))),
        Ok(d) => crate::cgroup::delegated::missing_controllers(flags, &d.dir, &d.controllers),
    };
    match refused {
        Some(msg) => Err(RuntimeError::Invalid(msg)),
        None => Ok(()),
    }
}

/// The network mode a container gets without `--network`: root's
/// containers go on the `bridge` network; so does a rootless one, where
/// `bridge` is a namespace of its own reaching out through the user-mode
/// network helper (netrootless.rs) — when the helper can work here;
/// otherwise a loopback of its own (`private`), and `hoist info` says why.
pub fn default_network() -> &'static str {
    if !active() || crate::netrootless::usable().is_ok() {
        "bridge"
    } else {
        "private"
    }
}

/// A pod's network without `--network`: as root's, the default network
/// `bridge` — for a rootless pod the bridge of that name in the rootless
/// network namespace (hoist_network::rootless::netns), going out through
/// its shared slirp4netns — when the helper can work here; otherwise a
/// loopback of the pod's own, as for containers.
pub fn default_pod_network() -> &'static str {
    if !active() || crate::netrootless::usable().is_ok() {
        "bridge"
    } else {
        "private"
    }
}

/// The network helper rootless containers use, for `hoist info`.
pub fn network_helper() -> String {
    if !active() {
        return "none (root's containers use bridges and veth pairs)".into();
    }
    match crate::netrootless::usable() {
        Ok(()) => crate::netrootless::helper_name().into(),
        Err(e) => format!(
            "none (containers get --network private by default; user networks connect \
             containers to each other but not to the outside): {e}"
        ),
    }
}

/// Refuses, before anything is created, what a rootless container cannot
/// have: limits (no cgroup) and networks that need root.
pub fn check_create(opts: &RunOptions) -> Result<()> {
    if !active() {
        return Ok(());
    }
    check_overlay()?;
    check_limits(opts)?;
    check_userns(opts)?;
    check_network(opts)
}

/// The environment variable that makes hoist act as on a kernel without
/// overlayfs in user namespaces (tests of the error; nothing else).
pub const NO_USERNS_OVERLAY_ENV: &str = "HOIST_TEST_NO_USERNS_OVERLAY";

/// A rootless rootfs is an overlay mounted inside a user namespace, which
/// Linux allows since 5.11 (overlayfs' FS_USERNS_MOUNT, with `userxattr`).
/// Checked before anything is made, so an older kernel gets the reason
/// instead of the mount's bare EPERM at start.
pub fn check_overlay() -> Result<()> {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let simulated = std::env::var_os(NO_USERNS_OVERLAY_ENV).is_some_and(|v| v == "1");
    if !simulated && crate::overlay::release_at_least(&release, (5, 11)) {
        return Ok(());
    }
    Err(RuntimeError::Invalid(format!(
        "rootless containers need overlayfs mounts in a user namespace (Linux 5.11 or later, \
         overlayfs with userxattr); this kernel ({release}) does not allow them: upgrade \
         the kernel, or run hoist as root"
    )))
}

/// A user namespace of the container's own inside hoist's: `keep-id` is
/// supported (crate::keepid: a nested namespace over copies of the layers
/// owned for its map). `auto` takes ids from 1,000,000,000 up, which
/// hoist's namespace does not have, and `--uidmap`'s host ids would have
/// to be read as ids of hoist's namespace, unlike podman's: both refused,
/// with the reason.
fn check_userns(opts: &RunOptions) -> Result<()> {
    let asked = opts.userns.as_deref().filter(|m| *m != "host");
    if asked.is_none() && opts.uidmap.is_empty() && opts.gidmap.is_empty() {
        return Ok(());
    }
    if asked == Some("keep-id") && opts.uidmap.is_empty() && opts.gidmap.is_empty() {
        return Ok(());
    }
    let flag = asked
        .map(|m| format!("--userns={m}"))
        .unwrap_or_else(|| "--uidmap/--gidmap".into());
    Err(RuntimeError::Invalid(format!(
        "{flag}: rootless hoist runs every container in your user namespace already (its \
         root is you, other ids are your /etc/subuid range); of the namespaces of a \
         container's own inside it only --userns=keep-id is supported (your ids as \
         themselves inside): use it, run without --userns, or use -u UID"
    )))
}

fn check_limits(opts: &RunOptions) -> Result<()> {
    let e = &opts.extras;
    let flags: Vec<&str> = [
        (opts.memory.is_some(), "--memory"),
        (opts.cpus.is_some(), "--cpus"),
        (opts.pids_limit.is_some(), "--pids-limit"),
        (e.memory_swap.is_some(), "--memory-swap"),
        (e.memory_reservation.is_some(), "--memory-reservation"),
        (e.cpu_shares.is_some(), "--cpu-shares"),
        (e.cpuset_cpus.is_some(), "--cpuset-cpus"),
        (e.cpuset_mems.is_some(), "--cpuset-mems"),
    ]
    .into_iter()
    .filter_map(|(set, flag)| set.then_some(flag))
    .collect();
    check_limit_flags(&flags)
}

/// The networks a rootless container may have: its own namespace with a
/// loopback (`none`, `private`), that and the helper (`bridge`, the
/// default), or another container's.
pub fn check_network(opts: &RunOptions) -> Result<()> {
    if opts.network == NetworkMode::Host {
        return Err(RuntimeError::Invalid(
            "--network host: rootless hoist cannot give a container the host's network \
             (its sysfs needs a network namespace of its own); use the default network \
             (outbound access through slirp4netns), none or private"
                .into(),
        ));
    }
    // The default network goes out through the helper; -p is the
    // monitor's proxy, as for root's containers.
    crate::netrootless::check(opts)
}

/// A pod's networks, as [`check_network`] for a container (a pod's
/// namespaces are made by its holder the same way): user networks and the
/// default `bridge` are bridges in the rootless network namespace;
/// published ports are the holder's proxy, as for root's pods.
pub fn check_pod(networks: &[String], _publish: &[String]) -> Result<()> {
    if !active() {
        return Ok(());
    }
    if networks.iter().any(|n| n == "host") {
        return Err(RuntimeError::Invalid(
            "pod network host: rootless hoist cannot give a pod the host's network; use the \
             default network, a user network, or private"
                .into(),
        ));
    }
    Ok(())
}

/// A mount's data as a rootless container can have it: devpts' `gid=5`
/// (the tty group of /dev/pts/N) names a group that a single-id namespace
/// (no subordinate ranges) does not have, and the kernel refuses the mount
/// (EINVAL); then the option is left out, as podman does.
pub fn mount_data(fstype: &str, data: &str) -> String {
    if fstype != "devpts" || !active() {
        return data.to_string();
    }
    data.split(',')
        .filter(|o| {
            o.strip_prefix("gid=")
                .and_then(|g| g.parse::<u32>().ok())
                .is_none_or(gid_mapped)
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `gid` exists in this process's user namespace.
fn gid_mapped(gid: u32) -> bool {
    let map = std::fs::read_to_string("/proc/self/gid_map").unwrap_or_default();
    map.lines().any(|l| {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        f.len() == 3 && (f[0]..f[0] + f[2]).contains(&u64::from(gid))
    })
}

/// Whether setgroups(2) is refused in this user namespace: newgidmap
/// writes `deny` to /proc/PID/setgroups when it maps only the user's own
/// gid (no subordinate ranges), so a group list cannot be dropped or set.
/// Read by the container's child after the fork (an atomic load, nothing
/// that allocates or locks); set by [`groups_to_set`] in the parent.
pub static SETGROUPS_DENIED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The supplementary groups a process gets. Where setgroups is denied
/// (rootless without subordinate gids) the process keeps the groups it
/// inherits (the user's own), and asking for others is an error that says
/// why, not a silently different process.
pub fn groups_to_set(gid: u32, groups: Vec<u32>) -> Result<Vec<u32>> {
    use std::sync::atomic::Ordering;
    let denied = active()
        && std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    SETGROUPS_DENIED.store(denied, Ordering::Relaxed);
    if !denied || groups.iter().all(|&g| g == gid) {
        return Ok(groups);
    }
    Err(RuntimeError::Invalid(format!(
        "supplementary groups {groups:?}: hoist's user namespace maps only your own gid \
         (no subordinate gids in /etc/subgid), where the kernel refuses setgroups; give \
         your user a range in /etc/subgid"
    )))
}

/// The start-time backstop for limits that reached the spec some other way
/// (compose, kube, an older record): refused with the same reason.
pub fn check_limits_at_start(limits: &crate::cgroup::Limits) -> Result<()> {
    check_limit_flags(&crate::cgroup::delegated::flags_of(limits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_in_a_user_namespace_needs_5_11() {
        use crate::overlay::release_at_least;
        assert!(release_at_least("6.18.44-fc-v1300", (5, 11)));
        assert!(release_at_least("5.11.0", (5, 11)));
        assert!(!release_at_least("5.10.0-28-amd64", (5, 11)));
        assert!(!release_at_least("garbage", (5, 11)));
    }

    #[test]
    fn devpts_data_is_kept_as_root() {
        // Not rootless (the tests run as root in the initial namespace).
        assert!(!active());
        assert_eq!(
            mount_data("devpts", "newinstance,gid=5"),
            "newinstance,gid=5"
        );
    }
}
