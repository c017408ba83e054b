//! `--cpuset-cpus` / `--cpuset-mems`: the CPUs and memory nodes a
//! container may use.
//!
//! v1: a container joins the cpuset hierarchy only when it asks for a
//! cpuset (one more migration on each start otherwise). A new v1 cpuset
//! cgroup starts with empty `cpuset.cpus` and `cpuset.mems`, and a task
//! cannot join one that is empty, so each directory on the way
//! (`hoist/`, then `hoist/<id>`) is first given its parent's values, then
//! the container's own are written. v2: `cpuset.cpus`/`cpuset.mems` of the
//! container's directory, with the controller enabled in the parents.
//!
//! The values are checked against what the machine has before anything
//! is made, with docker's messages.

use std::collections::BTreeSet;
use std::path::Path;

use super::{hierarchy, mkdir, write, Hierarchy};
use crate::error::{Result, RuntimeError};

const CPUS: &str = "cpuset.cpus";
const MEMS: &str = "cpuset.mems";

fn invalid(msg: String) -> RuntimeError {
    RuntimeError::Invalid(msg)
}

/// A kernel list ("0-3,8,10-11") as its numbers; None when it does not
/// parse (a range backwards, a word, an empty part).
pub fn parse_list(list: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    let list = list.trim();
    if list.is_empty() {
        return Some(set);
    }
    for part in list.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let n = part.trim().parse::<u32>().ok()?;
                (n, n)
            }
        };
        if lo > hi || hi - lo > 65_536 {
            return None;
        }
        set.extend(lo..=hi);
    }
    Some(set)
}

/// What the machine offers: (CPUs, memory nodes) as kernel lists, from the
/// root cpuset (the online CPUs and nodes when there is none).
pub fn available() -> (String, String) {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let from_root = match hierarchy() {
        Hierarchy::V1(hs) => hs
            .iter()
            .find(|h| h.options.split(',').any(|o| o == "cpuset"))
            .map(|h| {
                (
                    read(&h.mountpoint.join("cpuset.effective_cpus")),
                    read(&h.mountpoint.join("cpuset.effective_mems")),
                )
            }),
        Hierarchy::V2(root) => Some((
            read(&root.join("cpuset.cpus.effective")),
            read(&root.join("cpuset.mems.effective")),
        )),
    };
    let (cpus, mems) = from_root.unwrap_or((None, None));
    (
        cpus.or_else(|| read(Path::new("/sys/devices/system/cpu/online")))
            .unwrap_or_default(),
        mems.or_else(|| read(Path::new("/sys/devices/system/node/online")))
            .unwrap_or_else(|| "0".into()),
    )
}

/// Checks `--cpuset-cpus` (`mems` false) or `--cpuset-mems` against the
/// machine's `available` list, as docker's daemon does.
pub fn check(value: &str, mems: bool, available: &str) -> Result<()> {
    let what = if mems { "mems" } else { "cpus" };
    let wanted = parse_list(value).filter(|s| !s.is_empty()).ok_or_else(|| {
        invalid(format!(
            "Invalid value {value} for cpuset {what}: use a list such as 0-2,4"
        ))
    })?;
    let have = parse_list(available).unwrap_or_default();
    if !wanted.is_subset(&have) {
        let things = if mems { "memory nodes" } else { "CPUs" };
        return Err(invalid(format!(
            "Requested {things} are not available - requested {value}, available: {available}"
        )));
    }
    Ok(())
}

/// v1: gives `dir` its parent's cpus and mems where its own are empty
/// (a new cpuset cgroup's are).
pub fn inherit_v1(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in [CPUS, MEMS] {
        let own = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if own.trim().is_empty() {
            let theirs =
                std::fs::read_to_string(parent.join(file)).map_err(|e| RuntimeError::Cgroup {
                    path: parent.join(file).display().to_string(),
                    message: format!("reading it: {e}"),
                })?;
            write(&dir.join(file), theirs.trim())?;
        }
    }
    Ok(())
}

/// v1: makes `<mountpoint>/hoist/<name>` ready to join (inherited values,
/// then the container's).
pub fn create_v1(
    mountpoint: &Path,
    name: &str,
    cpus: Option<&str>,
    mems: Option<&str>,
) -> Result<()> {
    let parent = mountpoint.join("hoist");
    mkdir(&parent)?;
    inherit_v1(&parent)?;
    let dir = parent.join(name);
    mkdir(&dir)?;
    inherit_v1(&dir)?;
    write_values(&dir, cpus, mems)
}

/// Writes the values given (v1 and v2 files have the same names).
pub fn write_values(dir: &Path, cpus: Option<&str>, mems: Option<&str>) -> Result<()> {
    if let Some(m) = mems {
        write(&dir.join(MEMS), m)?;
    }
    if let Some(c) = cpus {
        write(&dir.join(CPUS), c)?;
    }
    Ok(())
}

/// `update --cpuset-*` of a running container: on v1 a container that
/// did not ask for a cpuset at start has none, so it is made and every
/// process of the container moved in (until none is missing: one forked
/// meanwhile lands in its parent's cpuset); then the values are written.
pub fn update_running(id: &str, cpus: Option<&str>, mems: Option<&str>) -> Result<()> {
    match hierarchy() {
        Hierarchy::V2(root) => {
            for d in [root.clone(), root.join("hoist")] {
                let _ = std::fs::write(d.join("cgroup.subtree_control"), "+cpuset");
            }
            write_values(&root.join("hoist").join(id), cpus, mems)
        }
        Hierarchy::V1(hs) => {
            let Some(h) = hs
                .iter()
                .find(|h| h.options.split(',').any(|o| o == "cpuset"))
            else {
                return Err(RuntimeError::Cgroup {
                    path: "cpuset".into(),
                    message: "this machine has no cpuset cgroup hierarchy".into(),
                });
            };
            let dir = h.mountpoint.join("hoist").join(id);
            let fresh = !dir.exists();
            if let Err(e) = create_v1(&h.mountpoint, id, cpus, mems) {
                if fresh {
                    let _ = std::fs::remove_dir(&dir);
                }
                return Err(e);
            }
            let members = super::Cgroup::existing(id);
            for _ in 0..100 {
                let inside = procs(&dir);
                let missing: Vec<i32> = members
                    .pids()
                    .into_iter()
                    .filter(|p| !inside.contains(p))
                    .collect();
                if missing.is_empty() {
                    return Ok(());
                }
                for pid in missing {
                    // A process that ended meanwhile is no error.
                    let _ = std::fs::write(dir.join("cgroup.procs"), pid.to_string());
                }
            }
            Err(RuntimeError::Cgroup {
                path: dir.display().to_string(),
                message: "the container's processes kept escaping the move into the cpuset".into(),
            })
        }
    }
}

fn procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_as_the_kernel_writes_them() {
        let s = parse_list("0-2,5,7-8").unwrap();
        assert_eq!(s.into_iter().collect::<Vec<_>>(), [0, 1, 2, 5, 7, 8]);
        assert!(parse_list("").unwrap().is_empty());
        for bad in ["a", "3-1", "1,,2", "-1", "1-"] {
            assert!(parse_list(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn values_are_checked_against_the_machine() {
        assert!(check("0", false, "0-1").is_ok());
        assert!(check("0-1", false, "0-1").is_ok());
        let e = check("99", false, "0-1").unwrap_err().to_string();
        assert!(
            e.contains("Requested CPUs are not available - requested 99, available: 0-1"),
            "{e}"
        );
        let e = check("x", false, "0-1").unwrap_err().to_string();
        assert!(e.contains("Invalid value x for cpuset cpus"), "{e}");
        let e = check("1", true, "0").unwrap_err().to_string();
        assert!(e.contains("memory nodes are not available"), "{e}");
    }
}
