//! Rootless hoist: an ordinary user's hoist runs as root of a user
//! namespace of its own (with a mount namespace), shared by all of that
//! user's hoist commands through a holder process (holder.rs). Inside, the
//! code paths are root's: only what the kernel refuses a user namespace
//! differs, decided by `hoist_store::rootless::active()` and
//! `hoist_runtime::rootless` (cgroups only under a delegated one, device
//! nodes, trusted xattrs, networks that need root). The store defaults to
//! `$XDG_DATA_HOME/hoist`, transient state to `$XDG_RUNTIME_DIR/hoist`
//! (paths.rs).
//!
//! [`enter`] runs first in main, before any thread exists: setns() into a
//! user namespace is refused to a multithreaded process.

pub mod holder;
pub mod maps;
pub mod paths;

use anyhow::Context;
use hoist_runtime::cgroup::delegated;

/// Exported inside: the user's ids outside the namespace (paths, `info`).
pub const UID_ENV: &str = "HOIST_ROOTLESS_UID";
pub const GID_ENV: &str = "HOIST_ROOTLESS_GID";

/// Moves an unprivileged hoist into the user's namespace (made on first
/// use). Root, and a hoist already inside (its euid is 0 there), stay as
/// they are.
pub fn enter() -> anyhow::Result<()> {
    let uid = nix::unistd::geteuid().as_raw();
    if uid == 0 {
        return Ok(());
    }
    let gid = nix::unistd::getegid().as_raw();
    let name = nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string());
    let runtime = paths::runtime_dir(uid)?;
    let state_dir = runtime.join("hoist");
    paths::make_private(&state_dir, uid)?;
    let holder = holder::join_or_create(&holder::User {
        uid,
        gid,
        name,
        state_dir,
    })
    .context("rootless: entering hoist's user namespace")?;
    std::env::set_var(UID_ENV, uid.to_string());
    std::env::set_var(
        hoist_network::rootless::netns::HOLDER_ENV,
        holder.to_string(),
    );
    std::env::set_var(GID_ENV, gid.to_string());
    let cgroup = enter_cgroup(holder);
    std::env::set_var(delegated::ENV, delegated::env_value(&cgroup));
    Ok(())
}

/// The user's delegated cgroup v2 directory (cgroup/delegated.rs in the
/// runtime), decided by where the holder was started; the holder and this
/// process are moved into its `hoist/runtime` leaf (monitors started from
/// here inherit it), so no hoist process stays in the directory that must
/// pass controllers on. Err: why containers get no cgroup.
fn enter_cgroup(holder: i32) -> Result<delegated::Delegated, String> {
    let found = delegated::detect(holder)?;
    for pid in [holder, 0] {
        if !delegated::in_leaf(pid) {
            delegated::place(&found.dir, pid).map_err(|e| {
                format!(
                    "moving hoist's processes into {}: {e}",
                    delegated::runtime_leaf(&found.dir).display()
                )
            })?;
        }
    }
    Ok(found)
}

/// Whether the command line asks only for help or the version: answered
/// without a namespace (nothing to make for them).
pub fn needs_no_namespace(args: &[std::ffi::OsString]) -> bool {
    match args.get(1).and_then(|a| a.to_str()) {
        None => true,
        Some(a) => matches!(a, "-h" | "--help" | "help" | "-V" | "--version"),
    }
}

/// `hoist unshare [--] [CMD...]`: runs a command inside the user's
/// namespace (as podman unshare does), e.g. to look at or remove store
/// files owned by subordinate ids. Without a command, $SHELL.
pub fn unshare_verb(args: &[std::ffi::OsString]) -> anyhow::Result<std::convert::Infallible> {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(UID_ENV).is_none() {
        anyhow::bail!(
            "hoist unshare is for rootless hoist: as root there is no namespace to enter"
        );
    }
    let mut rest: Vec<&std::ffi::OsString> = args.iter().skip(2).collect();
    if rest.first().is_some_and(|a| *a == "--") {
        rest.remove(0);
    }
    let shell = std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into());
    let (program, argv) = match rest.split_first() {
        Some((p, a)) => ((*p).clone(), a.to_vec()),
        None => (shell, Vec::new()),
    };
    let err = std::process::Command::new(&program).args(argv).exec();
    Err(err).with_context(|| format!("running {}", program.to_string_lossy()))
}

/// What `hoist info` says about rootless mode (`Rootless`): whether hoist
/// runs rootless, the namespace's uid and gid maps (inside, outside, size),
/// the cgroup mode and the network helper.
pub fn info_json() -> serde_json::Value {
    use hoist_runtime::rootless as rt;
    let read = |f: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(f)
            .map(|t| maps::parse_proc_map(&t))
            .unwrap_or_default()
            .iter()
            .map(|m| serde_json::json!({"ContainerID": m.inside, "HostID": m.outside, "Size": m.count}))
            .collect()
    };
    let rootless = rt::active();
    let cgroups = if rootless {
        rt::cgroup_info()
    } else {
        "hoist/<id> per container".into()
    };
    serde_json::json!({
        "Enabled": rootless,
        "UID": std::env::var(UID_ENV).ok().and_then(|v| v.parse::<u32>().ok()),
        "UIDMap": if rootless { read("/proc/self/uid_map") } else { Vec::new() },
        "GIDMap": if rootless { read("/proc/self/gid_map") } else { Vec::new() },
        "Cgroups": cgroups,
        "NetworkHelper": rt::network_helper(),
    })
}

/// The plain-text lines of `info_json`.
pub fn print_info(v: &serde_json::Value) {
    let enabled = v["Enabled"] == serde_json::json!(true);
    println!(" Rootless: {enabled}");
    if !enabled {
        return;
    }
    let show = |key: &str| {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| format!("{}:{}:{}", m["ContainerID"], m["HostID"], m["Size"]))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("  UID map (inside:host:size): {}", show("UIDMap"));
    println!("  GID map (inside:host:size): {}", show("GIDMap"));
    println!("  Cgroups: {}", v["Cgroups"].as_str().unwrap_or(""));
    println!(
        "  Network helper: {}",
        v["NetworkHelper"].as_str().unwrap_or("")
    );
}
