//! cgroup v1: one directory per controller hierarchy, `hoist/<name>` in each.

use std::path::PathBuf;

use super::{cpuset, mkdir, write, write_each, Limits, V1Hierarchy};
use crate::error::Result;

/// Makes the container's directory in each hierarchy it joins and writes
/// the limits; on a failure the directories made so far are removed again
/// (a refused value leaves no cgroup behind).
pub fn create(hs: &[V1Hierarchy], name: &str, limits: &Limits) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    match create_into(hs, name, limits, &mut dirs) {
        Ok(()) => Ok(dirs),
        Err(e) => {
            for d in dirs.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
            Err(e)
        }
    }
}

/// Whether a container with `limits` joins hierarchy `h`: one of the
/// controllers hoist uses, cpuset only when asked for.
fn joins(h: &V1Hierarchy, limits: &Limits) -> bool {
    h.controllers
        .iter()
        .any(|c| c != "cpuset" || limits.wants_cpuset())
}

fn create_into(
    hs: &[V1Hierarchy],
    name: &str,
    limits: &Limits,
    dirs: &mut Vec<PathBuf>,
) -> Result<()> {
    for h in hs.iter().filter(|h| joins(h, limits)) {
        let parent = h.mountpoint.join("hoist");
        mkdir(&parent)?;
        let dir = parent.join(name);
        let has = |c: &str| h.controllers.iter().any(|x| x == c);
        if has("cpuset") {
            // Pushed first: a value the kernel refuses still has the
            // directory removed.
            dirs.push(dir.clone());
            cpuset::create_v1(
                &h.mountpoint,
                name,
                limits.cpuset_cpus.as_deref(),
                limits.cpuset_mems.as_deref(),
            )?;
        } else {
            mkdir(&dir)?;
            dirs.push(dir.clone());
        }
        if has("memory") {
            if let Some(m) = limits.memory {
                write(&dir.join("memory.limit_in_bytes"), &m.to_string())?;
                // With swap accounting, forbid swapping past the limit (docker's
                // default is memory+swap = 2x; this machine class has no swap).
                let memsw = dir.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    let total = limits.memory_swap.unwrap_or(m);
                    write(&memsw, &total.to_string())?;
                }
            }
            if let Some(r) = limits.memory_reservation {
                write(&dir.join("memory.soft_limit_in_bytes"), &r.to_string())?;
            }
        }
        if has("cpu") {
            if let Some(s) = limits.cpu_shares {
                write(&dir.join("cpu.shares"), &s.to_string())?;
            }
            if let Some(p) = limits.cpu_period {
                write(&dir.join("cpu.cfs_period_us"), &p.to_string())?;
            }
            if let Some(q) = limits.cpu_quota {
                write(&dir.join("cpu.cfs_quota_us"), &q.to_string())?;
            }
        }
        if has("pids") {
            if let Some(p) = limits.pids {
                let v = if p > 0 { p.to_string() } else { "max".into() };
                write(&dir.join("pids.max"), &v)?;
            }
        }
        if has("devices") && limits.device_deny_all {
            write(&dir.join("devices.deny"), "a")?;
            write_each(&dir.join("devices.allow"), &limits.device_allow)?;
        }
    }
    Ok(())
}
