//! A rootless hoist's cgroup: a cgroup v2 directory delegated to the user
//! (systemd's `user@UID.service`, `Delegate=`: the directory and its
//! cgroup.procs, cgroup.subtree_control and cgroup.threads belong to the
//! user), as rootless podman and crun use it. The user's holder (the
//! process keeping hoist's user namespace) fixes which one: the cgroup it
//! was started in, when that is delegated. Under it:
//!
//! - `D/hoist`: hoist's sub-cgroup, never holding a process, so the
//!   delegated controllers can be enabled in its cgroup.subtree_control
//!   (the kernel's "no internal processes" rule: a cgroup that has
//!   processes cannot pass controllers to its children);
//! - `D/hoist/runtime`: the leaf for hoist's own processes — the holder,
//!   every hoist command once it entered the namespace, and so every
//!   container's monitor (they inherit it); moving them out of `D` lets `D`
//!   enable controllers for `D/hoist` too;
//! - `D/hoist/<id>`: a container (root's `cgroup::v2` code, with `D` as its
//!   root).
//!
//! cgroup.freeze (pause) works without any controller; a limit needs its
//! controller in `D`'s cgroup.controllers, else the flag is refused.

use std::path::{Path, PathBuf};

use super::Limits;
use crate::error::{Result, RuntimeError};

/// The leaf under `D/hoist` for hoist's own processes.
pub const RUNTIME_LEAF: &str = "runtime";

/// A delegated cgroup v2 directory (`D`) and the controllers it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegated {
    /// The directory on the filesystem, e.g.
    /// /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice.
    pub dir: PathBuf,
    /// `D`'s cgroup.controllers: the controllers its children can have.
    pub controllers: Vec<String>,
}

/// Where the v2 hierarchy is mounted and which cgroup path the mount's root
/// is (`/` unless it is a bind mount or a cgroup namespace's view): pure v2
/// at /sys/fs/cgroup, a hybrid machine's at /sys/fs/cgroup/unified.
pub fn v2_mount(mountinfo: &str) -> Option<(PathBuf, String)> {
    let mut found = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        if fields.len() < 5 || right.split(' ').next() != Some("cgroup2") {
            continue;
        }
        let mount = (PathBuf::from(fields[4]), fields[3].to_string());
        if mount.0 == Path::new("/sys/fs/cgroup") {
            return Some(mount);
        }
        found.get_or_insert(mount);
    }
    found
}

/// The v2 cgroup path of a /proc/PID/cgroup (its `0::PATH` line).
pub fn v2_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::trim)
}

/// The delegated cgroup of the user's hoist, decided from the holder's
/// cgroup (the process that keeps hoist's namespace, `holder`): its own
/// when it was started there, its grandparent once it sits in
/// `D/hoist/runtime`. Err: why there is none, for the messages.
pub fn detect(holder: i32) -> std::result::Result<Delegated, String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let Some((mount, mount_root)) = v2_mount(&info) else {
        return Err(NO_V2.into());
    };
    let text = std::fs::read_to_string(format!("/proc/{holder}/cgroup"))
        .map_err(|e| format!("reading the cgroup of hoist's holder (PID {holder}): {e}"))?;
    let path = v2_path(&text).ok_or("hoist's holder is in no cgroup v2 directory")?;
    let dir = dir_of(&mount, &mount_root, path).ok_or_else(|| {
        format!(
            "hoist runs in cgroup {path}, outside the cgroup v2 mount at {} (root {mount_root})",
            mount.display()
        )
    })?;
    // Placed already (enter_cgroup in the binary): D is two levels up.
    let placed = dir.ends_with(Path::new("hoist").join(RUNTIME_LEAF));
    let dir = match dir.ancestors().nth(2) {
        Some(d) if placed && d.starts_with(&mount) => d.to_path_buf(),
        _ => dir,
    };
    check_writable(&dir)?;
    Ok(Delegated {
        controllers: controllers(&dir),
        dir,
    })
}

const NO_V2: &str = "no cgroup v2 hierarchy is mounted (this machine's cgroups are v1, \
                     which the kernel never delegates to an unprivileged user)";

/// The environment variable through which the binary's rootless entry
/// (src/rootless) tells every hoist process of the user — commands and
/// the monitors they start — the delegated cgroup: its directory, or
/// `none: WHY`.
pub const ENV: &str = "HOIST_ROOTLESS_CGROUP";

/// The value of [`ENV`] for a detection's result.
pub fn env_value(found: &std::result::Result<Delegated, String>) -> String {
    match found {
        Ok(d) => d.dir.display().to_string(),
        Err(why) => format!("none: {why}"),
    }
}

/// The delegated cgroup [`ENV`] names (its controllers read now), or why
/// there is none.
pub fn from_env() -> std::result::Result<Delegated, String> {
    parse_env(&std::env::var(ENV).unwrap_or_default())
}

fn parse_env(value: &str) -> std::result::Result<Delegated, String> {
    if let Some(why) = value.strip_prefix("none: ") {
        return Err(why.to_string());
    }
    if !value.starts_with('/') {
        return Err("hoist's rootless entry named no delegated cgroup".into());
    }
    let dir = PathBuf::from(value);
    Ok(Delegated {
        controllers: controllers(&dir),
        dir,
    })
}

/// The directory of cgroup `path` under a v2 mount of `mount_root`.
fn dir_of(mount: &Path, mount_root: &str, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path).strip_prefix(mount_root).ok()?;
    Some(mount.join(rel))
}

/// What systemd's delegation gives a user: the directory and the files
/// that move processes and pass controllers on, writable by the user.
/// (In hoist's user namespace the user is root, but root's capabilities
/// there do not reach files of ids outside the namespace: `access` answers
/// as for the user.)
fn check_writable(dir: &Path) -> std::result::Result<(), String> {
    for f in [
        "",
        "cgroup.procs",
        "cgroup.subtree_control",
        "cgroup.threads",
    ] {
        let p = dir.join(f);
        if nix::unistd::access(&p, nix::unistd::AccessFlags::W_OK).is_err() {
            return Err(format!(
                "hoist's holder runs in cgroup {}, which is not delegated to you ({} is not \
                 writable); systemd delegates user@UID.service and units with Delegate=yes: \
                 to use one, stop your containers, kill the holder (the PID in \
                 $XDG_RUNTIME_DIR/hoist/holder.pid) and start hoist there, e.g. \
                 `systemd-run --user --scope -p Delegate=yes hoist info`",
                dir.display(),
                p.display()
            ));
        }
    }
    Ok(())
}

/// A cgroup's cgroup.controllers (or subtree_control), as a list.
pub fn read_list(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn controllers(dir: &Path) -> Vec<String> {
    read_list(&dir.join("cgroup.controllers"))
}

/// `D/hoist/runtime`.
pub fn runtime_leaf(dir: &Path) -> PathBuf {
    dir.join("hoist").join(RUNTIME_LEAF)
}

/// Moves `pid` (0: the calling process) into `D/hoist/runtime`, made first.
pub fn place(dir: &Path, pid: i32) -> Result<()> {
    let leaf = runtime_leaf(dir);
    super::mkdir(&dir.join("hoist"))?;
    super::mkdir(&leaf)?;
    super::write(&leaf.join("cgroup.procs"), &pid.to_string())
}

/// Enables `wanted` (delegated controllers a container needs) for
/// `D/hoist` and its children. A controller already passed on is left as
/// it is; `D` may refuse one while it has processes of its own.
pub fn enable(dir: &Path, wanted: &[&str]) -> Result<()> {
    for d in [dir.to_path_buf(), dir.join("hoist")] {
        let have = read_list(&d.join("cgroup.subtree_control"));
        for c in wanted.iter().filter(|c| !have.iter().any(|h| h == *c)) {
            let file = d.join("cgroup.subtree_control");
            if let Err(e) = std::fs::write(&file, format!("+{c}")) {
                let why = if e.raw_os_error() == Some(libc::EBUSY) {
                    " (the cgroup has processes of its own, and the kernel passes a \
                     controller on only from a cgroup without any: start hoist in a cgroup \
                     of its own, e.g. `systemd-run --user --scope -p Delegate=yes`)"
                } else {
                    ""
                };
                return Err(RuntimeError::Cgroup {
                    path: file.display().to_string(),
                    message: format!("enabling the {c} controller: {e}{why}"),
                });
            }
        }
    }
    Ok(())
}

/// Whether process `pid` (0: this one) already sits in a
/// `.../hoist/runtime` leaf.
pub fn in_leaf(pid: i32) -> bool {
    let file = if pid == 0 {
        "/proc/self/cgroup".to_string()
    } else {
        format!("/proc/{pid}/cgroup")
    };
    let text = std::fs::read_to_string(file).unwrap_or_default();
    v2_path(&text).is_some_and(|p| p.ends_with(&format!("/hoist/{RUNTIME_LEAF}")))
}

/// The limit flags a container's limits stand for (for messages; the
/// spec's device rules are no limit: a rootless container's /dev holds
/// the host's nodes bound in).
pub fn flags_of(l: &Limits) -> Vec<&'static str> {
    [
        (l.memory.is_some(), "--memory"),
        (l.memory_swap.is_some(), "--memory-swap"),
        (l.memory_reservation.is_some(), "--memory-reservation"),
        (l.cpu_quota.is_some() || l.cpu_period.is_some(), "--cpus"),
        (l.cpu_shares.is_some(), "--cpu-shares"),
        (l.pids.is_some(), "--pids-limit"),
        (l.cpuset_cpus.is_some(), "--cpuset-cpus"),
        (l.cpuset_mems.is_some(), "--cpuset-mems"),
    ]
    .into_iter()
    .filter_map(|(set, flag)| set.then_some(flag))
    .collect()
}

/// The controllers `limits` need, each once.
pub fn needed(limits: &Limits) -> Vec<&'static str> {
    let mut cs: Vec<&str> = flags_of(limits).into_iter().map(controller_of).collect();
    cs.sort_unstable();
    cs.dedup();
    cs
}

/// The controller a limit flag needs in a cgroup v2.
pub fn controller_of(flag: &str) -> &'static str {
    match flag {
        "--memory" | "--memory-swap" | "--memory-reservation" => "memory",
        "--cpus" | "--cpu-shares" | "--cpu-quota" | "--cpu-period" => "cpu",
        "--pids-limit" => "pids",
        "--cpuset-cpus" | "--cpuset-mems" => "cpuset",
        _ => "unknown",
    }
}

/// The limit flags whose controller `controllers` lacks, as one message
/// naming each controller and why; None when every flag can be applied.
pub fn missing_controllers(flags: &[&str], dir: &Path, controllers: &[String]) -> Option<String> {
    let mut missing: Vec<(&str, Vec<&str>)> = Vec::new();
    for flag in flags {
        let c = controller_of(flag);
        if controllers.iter().any(|h| h == c) {
            continue;
        }
        match missing.iter_mut().find(|(m, _)| *m == c) {
            Some((_, fs)) => fs.push(flag),
            None => missing.push((c, vec![flag])),
        }
    }
    if missing.is_empty() {
        return None;
    }
    let have = if controllers.is_empty() {
        "none".to_string()
    } else {
        controllers.join(" ")
    };
    let parts: Vec<String> = missing
        .iter()
        .map(|(c, fs)| format!("{} needs the {c} controller", fs.join(", ")))
        .collect();
    Some(format!(
        "{}, which is not delegated to hoist's cgroup {} (its cgroup.controllers: {have}); \
         the container would run without that limit, so the flag is refused: have it \
         delegated (systemd: Delegate=memory pids cpu cpuset in user@.service), run \
         without the flag, or as root",
        parts.join("; "),
        dir.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v2_mount_is_found_in_pure_and_hybrid_layouts() {
        let hybrid = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            v2_mount(hybrid),
            Some((PathBuf::from("/sys/fs/cgroup/unified"), "/".into()))
        );
        let pure = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            v2_mount(pure),
            Some((PathBuf::from("/sys/fs/cgroup"), "/".into()))
        );
        assert_eq!(v2_mount(hybrid.lines().next().unwrap()), None);
    }

    #[test]
    fn the_v2_line_of_proc_cgroup_names_the_directory() {
        let text = "4:memory:/x\n1:cpu:/\n0::/user.slice/user@1000.service/app.slice\n";
        let path = v2_path(text).unwrap();
        assert_eq!(path, "/user.slice/user@1000.service/app.slice");
        assert_eq!(
            dir_of(Path::new("/sys/fs/cgroup"), "/", path),
            Some(PathBuf::from(
                "/sys/fs/cgroup/user.slice/user@1000.service/app.slice"
            ))
        );
        // A bind mount of a subtree: paths below its root only.
        assert_eq!(
            dir_of(Path::new("/mnt/cg"), "/user.slice", "/user.slice/a"),
            Some(PathBuf::from("/mnt/cg/a"))
        );
        assert_eq!(
            dir_of(Path::new("/mnt/cg"), "/user.slice", "/system.slice"),
            None
        );
    }

    #[test]
    fn each_limit_flag_needs_its_controller() {
        assert_eq!(controller_of("--memory"), "memory");
        assert_eq!(controller_of("--memory-reservation"), "memory");
        assert_eq!(controller_of("--cpus"), "cpu");
        assert_eq!(controller_of("--cpu-shares"), "cpu");
        assert_eq!(controller_of("--pids-limit"), "pids");
        assert_eq!(controller_of("--cpuset-mems"), "cpuset");
    }

    #[test]
    fn limits_need_their_controllers_once() {
        let l = Limits {
            memory: Some(10 << 20),
            memory_reservation: Some(5 << 20),
            pids: Some(10),
            ..Default::default()
        };
        assert_eq!(
            flags_of(&l),
            ["--memory", "--memory-reservation", "--pids-limit"]
        );
        assert_eq!(needed(&l), ["memory", "pids"]);
        assert!(needed(&Limits::default()).is_empty());
    }

    #[test]
    fn a_flag_without_its_controller_is_refused_naming_it() {
        let dir = Path::new("/sys/fs/cgroup/d");
        let have = vec!["memory".to_string(), "pids".to_string()];
        assert_eq!(
            missing_controllers(&["--memory", "--pids-limit"], dir, &have),
            None
        );
        let msg = missing_controllers(&["--memory", "--cpus", "--cpu-shares"], dir, &have).unwrap();
        assert!(
            msg.starts_with("--cpus, --cpu-shares needs the cpu controller"),
            "{msg}"
        );
        assert!(!msg.contains("memory controller"), "{msg}");
        assert!(
            msg.contains("/sys/fs/cgroup/d (its cgroup.controllers: memory pids)"),
            "{msg}"
        );
        let msg = missing_controllers(&["--memory"], dir, &[]).unwrap();
        assert!(
            msg.contains("the memory controller, which is not delegated"),
            "{msg}"
        );
        assert!(msg.contains("cgroup.controllers: none"), "{msg}");
    }

    #[test]
    fn the_environment_carries_the_directory_or_the_reason() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("cgroup.controllers"), "memory pids\n").unwrap();
        let found = Ok(Delegated {
            dir: t.path().to_path_buf(),
            controllers: Vec::new(),
        });
        let back = parse_env(&env_value(&found)).unwrap();
        assert_eq!(back.dir, t.path());
        assert_eq!(
            back.controllers,
            ["memory", "pids"],
            "read from the directory"
        );
        let none = Err("no cgroup v2 hierarchy is mounted".to_string());
        assert_eq!(parse_env(&env_value(&none)), none);
        assert!(parse_env("")
            .unwrap_err()
            .contains("named no delegated cgroup"));
    }

    #[test]
    fn a_directory_the_user_cannot_write_is_not_delegated() {
        // Root may write anywhere; /proc's files are read-only even for it.
        let err = check_writable(Path::new("/proc/self")).unwrap_err();
        assert!(err.contains("not delegated to you"), "{err}");
    }
}
