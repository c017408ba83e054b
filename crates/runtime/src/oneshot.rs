//! A one-shot container for the builder's RUN steps: an overlay of the given
//! snapshots with the caller's upper/work dirs, a command, its exit status.
//! Nothing is recorded under containers/; the caller owns every directory.
//! On the default network (`NetworkMode::Bridge`) the step has an address of
//! its own for as long as it runs (see `oneshot_net.rs`).

#[path = "oneshot_net.rs"]
mod net;

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::cgroup::{Cgroup, Limits};
use crate::core::{container_plan, spawn, wait_exit_code, PlanOptions};
use crate::error::{IoContext, Result, RuntimeError};
use crate::rootview::RootView;
use crate::spec::{build_spec, NetworkMode, SpecInput, UserMount};
use crate::user::resolve_user;

/// Where a standard stream goes.
#[derive(Debug, Default)]
pub enum Stdio {
    /// /dev/null
    #[default]
    Null,
    /// The calling process's own descriptor.
    Inherit,
    /// A descriptor (file, pipe end, socket) the caller opened.
    Fd(OwnedFd),
}

/// One RUN-like command.
#[derive(Debug, Default)]
pub struct OneShot {
    /// Snapshot directories, bottom layer first (as `ensure_snapshots` returns them).
    pub lowerdirs: Vec<PathBuf>,
    /// The overlay's upper and work dirs (empty dirs on the same filesystem).
    pub upperdir: PathBuf,
    pub workdir: PathBuf,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    /// Working directory inside the container ("" = "/"); created if missing.
    pub cwd: String,
    /// docker's USER syntax ("" = root).
    pub user: String,
    /// `None` (own namespace, loopback only), `Host`, or `Bridge`: the
    /// default network `bridge` (needs `root`). `Host` and `Bridge` get
    /// generated /etc/hosts and /etc/resolv.conf, as docker's builder does.
    pub network: NetworkMode,
    /// The store root whose networks/ a `Bridge` one-shot joins.
    pub root: Option<PathBuf>,
    /// A directory of the caller's for the mount point and generated /etc
    /// files (default: the system's temp dir), so that a killed caller's
    /// leftovers are where it cleans up.
    pub scratch: Option<PathBuf>,
    pub hostname: Option<String>,
    pub mounts: Vec<UserMount>,
    /// A foreign platform's step: runs under this qemu-user interpreter
    /// (`emulation::emulator_for`); None: natively.
    pub emulator: Option<crate::emulation::Emulator>,
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
}

/// How a one-shot command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatusInfo {
    /// docker's exit code: the process's, 128+N when killed by signal N.
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub oom_killed: bool,
}

/// Overlay mount options; lowerdirs given bottom-first. Rootless, with
/// `userxattr`: an overlay mounted in a user namespace cannot use
/// `trusted.overlay.*`, and a rootless store marks opaque directories with
/// `user.overlay.opaque` (hoist_store::rootless).
pub fn overlay_options(lower_bottom_first: &[PathBuf], upper: &Path, work: &Path) -> String {
    let lowers: Vec<String> = lower_bottom_first
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let userxattr = if crate::rootless::active() {
        ",userxattr"
    } else {
        ""
    };
    format!(
        "lowerdir={},upperdir={},workdir={}{userxattr}",
        lowers.join(":"),
        upper.display(),
        work.display()
    )
}

fn stdio_fd(s: &Stdio, null: &File, own: i32) -> i32 {
    match s {
        Stdio::Null => null.as_raw_fd(),
        Stdio::Inherit => own,
        Stdio::Fd(fd) => fd.as_raw_fd(),
    }
}

/// Runs the command to completion and returns its exit status. Errors are
/// hoist's own failures (a missing command is `RuntimeError::Start` with 127).
pub fn run_oneshot(shot: &OneShot) -> Result<ExitStatusInfo> {
    if shot.lowerdirs.is_empty() {
        return Err(RuntimeError::Invalid(
            "a one-shot container needs at least one lower dir".into(),
        ));
    }
    let mut top_first = vec![shot.upperdir.clone()];
    top_first.extend(shot.lowerdirs.iter().rev().cloned());
    let view = RootView {
        dirs_top_first: top_first,
    };
    let user = resolve_user(&shot.user, |p| view.read(p))?;
    let mut env = shot.env.clone();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", user.home));
    }
    let id = format!("oneshot-{:016x}", rand::random::<u64>());
    let scratch = shot.scratch.clone().unwrap_or_else(std::env::temp_dir);
    let mountpoint = scratch.join(format!("hoist-{id}"));
    std::fs::create_dir(&mountpoint).ctx(|| format!("creating {}", mountpoint.display()))?;
    let hostname = shot
        .hostname
        .clone()
        .unwrap_or_else(|| id[8..20].to_string());
    let etc = match shot.network {
        NetworkMode::Bridge | NetworkMode::Host => net::EtcFiles::prepare(
            &scratch.join(format!("hoist-{id}-etc")),
            &shot.upperdir,
            &shot.lowerdirs,
            &hostname,
            shot.network,
        ),
        _ => Ok(None),
    };
    let result = etc.and_then(|etc| {
        let (etc, mounts) = etc.unzip();
        let result = run_in(shot, &env, &user, &id, &hostname, mounts, &mountpoint);
        if let Some(etc) = etc {
            etc.remove();
        }
        result
    });
    let _ = std::fs::remove_dir(&mountpoint);
    result
}

fn run_in(
    shot: &OneShot,
    env: &[String],
    user: &crate::user::ResolvedUser,
    id: &str,
    hostname: &str,
    etc_mounts: Option<Vec<UserMount>>,
    mountpoint: &std::path::Path,
) -> Result<ExitStatusInfo> {
    let bridge_root = match (shot.network, &shot.root) {
        (NetworkMode::Bridge, Some(root)) => Some(root.as_path()),
        (NetworkMode::Bridge, None) => {
            return Err(RuntimeError::Invalid(
                "a one-shot container on the default network needs the store root".into(),
            ))
        }
        _ => None,
    };
    let mut mounts = shot.mounts.clone();
    mounts.extend(etc_mounts.unwrap_or_default());
    let input = SpecInput {
        args: shot.argv.clone(),
        env: env.to_vec(),
        cwd: if shot.cwd.is_empty() {
            "/".into()
        } else {
            shot.cwd.clone()
        },
        uid: user.uid,
        gid: user.gid,
        additional_gids: user.additional_gids.clone(),
        hostname: hostname.to_string(),
        network: shot.network,
        rootfs: mountpoint.to_path_buf(),
        mounts,
        cgroups_path: format!("/hoist/{id}"),
        ..Default::default()
    };
    let spec = build_spec(&input)?;
    let null = File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .ctx(|| "opening /dev/null".into())?;
    let stdio = [
        stdio_fd(&shot.stdin, &null, 0),
        stdio_fd(&shot.stdout, &null, 1),
        stdio_fd(&shot.stderr, &null, 2),
    ];
    let overlay = overlay_options(&shot.lowerdirs, &shot.upperdir, &shot.workdir);
    let mut plan = container_plan(
        &spec,
        mountpoint,
        PlanOptions {
            overlay: Some(overlay),
            stdio,
        },
    )?;
    // A killed build takes its step with it: nothing runs on unwatched in
    // an upper dir no one will pack, nor on an address whose lease (owned
    // by the build) is then free to be handed out again. This thread waits
    // for the child, so the signal comes only when the build dies.
    plan.process.parent_death_signal = libc::SIGKILL;
    if let Some(em) = &shot.emulator {
        plan.emulator = Some(em.plan(None)?);
    }
    // Compiled once per build process (or read from the store's cache).
    plan.process.seccomp = crate::security::seccomp_program(&spec, shot.root.as_deref())?;
    // The namespace is made while the cgroup is.
    let pending = bridge_root.map(|root| net::begin_bridge(root, id));
    let limits = Limits::from_spec(spec.linux().as_ref().and_then(|l| l.resources().as_ref()));
    let cgroup = Cgroup::create_joinable(id, &limits);
    // Held until this function returns (the address is given back then),
    // joined even when the cgroup failed, so that nothing stays reserved.
    let _lease = match (pending, bridge_root) {
        (Some(pending), Some(root)) => {
            match net::StepLease::hand_over(pending, &mut plan, root, id) {
                Ok(lease) => Some(lease),
                Err(e) => {
                    if let Ok((cgroup, _)) = cgroup {
                        cgroup.remove();
                    }
                    return Err(e);
                }
            }
        }
        _ => None,
    };
    let (cgroup, join_files) = cgroup?;
    plan.cgroup_join = join_files;
    let pid = match spawn(&plan) {
        Ok(pid) => pid,
        Err(e) => {
            cgroup.remove();
            return Err(e);
        }
    };
    let code = wait_exit_code(pid).ctx(|| "waiting for the container".into());
    let oom_killed = cgroup.oom_killed();
    cgroup.remove();
    let code = code?;
    Ok(ExitStatusInfo {
        exit_code: code,
        signal: (code > 128).then_some(code - 128),
        oom_killed,
    })
}
