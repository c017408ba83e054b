//! The cgroup freezer, for `pause`/`unpause`.
//!
//! v2: the container's own directory has `cgroup.freeze` (1 frozen, 0
//! thawed) and `cgroup.events` says `frozen 1` once every task stopped.
//!
//! v1: containers do not join the freezer hierarchy at start (every extra
//! hierarchy is one more migration on each start, see `V1_USED`), so `pause`
//! makes `freezer/hoist/<id>`, moves the container's processes into it and
//! writes FROZEN; `unpause` writes THAWED, moves them back to the root of the
//! hierarchy and removes the directory, so nothing is left behind. A process
//! forked while they move lands in its parent's cgroup; the move is repeated
//! until none is missing, and checked again once frozen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{hierarchy, mkdir, write, Cgroup, Hierarchy};
use crate::error::{Result, RuntimeError};

/// How long the kernel may take to stop every task (a task in an
/// uninterruptible sleep stays FREEZING until it wakes).
const SETTLE: Duration = Duration::from_secs(10);

enum Freezer {
    V1 { root: PathBuf, dir: PathBuf },
    V2 { dir: PathBuf },
}

fn freezer(id: &str) -> Option<Freezer> {
    match hierarchy() {
        Hierarchy::V2(root) => Some(Freezer::V2 {
            dir: root.join("hoist").join(id),
        }),
        Hierarchy::V1(hs) => hs
            .iter()
            .find(|h| h.options.split(',').any(|o| o == "freezer"))
            .map(|h| Freezer::V1 {
                root: h.mountpoint.clone(),
                dir: h.mountpoint.join("hoist").join(id),
            }),
    }
}

fn unavailable() -> RuntimeError {
    let message = match crate::rootless::delegation() {
        Err(why) if crate::rootless::active() => {
            format!("rootless hoist has no cgroup to freeze a container with: {why}")
        }
        _ => "this machine has no cgroup freezer (no v1 freezer hierarchy, no cgroup v2)".into(),
    };
    RuntimeError::Cgroup {
        path: "freezer".into(),
        message,
    }
}

/// Whether the container's processes are frozen (or freezing).
pub fn is_frozen(id: &str) -> bool {
    match freezer(id) {
        Some(Freezer::V2 { dir }) => {
            std::fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
        }
        Some(Freezer::V1 { dir, .. }) => {
            std::fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() != "THAWED")
        }
        None => false,
    }
}

/// Freezes every process of the container `id`.
pub fn freeze(id: &str) -> Result<()> {
    match freezer(id).ok_or_else(unavailable)? {
        Freezer::V2 { dir } => {
            write(&dir.join("cgroup.freeze"), "1")?;
            settle(&dir.join("cgroup.events"), |s| {
                s.lines().any(|l| l.trim() == "frozen 1")
            })
        }
        Freezer::V1 { root, dir } => {
            mkdir(&root.join("hoist"))?;
            mkdir(&dir)?;
            let members = Cgroup::existing(id);
            let deadline = Instant::now() + SETTLE;
            loop {
                move_all(&members.pids(), &dir)?;
                write(&dir.join("freezer.state"), "FROZEN")?;
                settle(&dir.join("freezer.state"), |s| s.trim() == "FROZEN")?;
                // A process forked by one not yet moved escaped: thaw, move it, again.
                if missing(&members, &dir).is_empty() {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    let _ = thaw(id);
                    return Err(RuntimeError::Cgroup {
                        path: dir.display().to_string(),
                        message: "processes kept escaping the freezer while it froze them".into(),
                    });
                }
                write(&dir.join("freezer.state"), "THAWED")?;
            }
        }
    }
}

/// Thaws the container `id` (and, on v1, takes its processes out of the
/// freezer hierarchy again). Thawing a container that is not frozen is a no-op.
pub fn thaw(id: &str) -> Result<()> {
    match freezer(id).ok_or_else(unavailable)? {
        Freezer::V2 { dir } => {
            if dir.join("cgroup.freeze").exists() {
                write(&dir.join("cgroup.freeze"), "0")?;
            }
            Ok(())
        }
        Freezer::V1 { root, dir } => {
            if !dir.exists() {
                return Ok(());
            }
            write(&dir.join("freezer.state"), "THAWED")?;
            for _ in 0..100 {
                let left = procs(&dir);
                if left.is_empty() {
                    break;
                }
                move_all(&left, &root)?;
            }
            let _ = std::fs::remove_dir(&dir);
            Ok(())
        }
    }
}

fn procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

fn missing(members: &Cgroup, dir: &Path) -> Vec<i32> {
    let frozen = procs(dir);
    members
        .pids()
        .into_iter()
        .filter(|p| !frozen.contains(p))
        .collect()
}

/// Moves each process into `dir`; one that exited meanwhile is skipped.
fn move_all(pids: &[i32], dir: &Path) -> Result<()> {
    use std::io::Write;
    for pid in pids {
        let path = dir.join("cgroup.procs");
        let res = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(pid.to_string().as_bytes()));
        match res {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(e) => {
                return Err(RuntimeError::Cgroup {
                    path: path.display().to_string(),
                    message: format!("moving process {pid}: {e}"),
                })
            }
        }
    }
    Ok(())
}

/// Polls `file` until `done` holds for its content.
fn settle(file: &Path, done: impl Fn(&str) -> bool) -> Result<()> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let s = std::fs::read_to_string(file).unwrap_or_default();
        if done(&s) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(RuntimeError::Cgroup {
                path: file.display().to_string(),
                message: format!("still {:?} after {SETTLE:?}", s.trim()),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
