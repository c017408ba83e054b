//! cgroup v1: one directory per controller hierarchy, `hoist/<name>` in each.

use std::path::PathBuf;

use super::{mkdir, write, write_each, Limits, V1Hierarchy};
use crate::error::Result;

pub fn create(hs: &[V1Hierarchy], name: &str, limits: &Limits) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for h in hs.iter().filter(|h| !h.controllers.is_empty()) {
        let parent = h.mountpoint.join("hoist");
        mkdir(&parent)?;
        let dir = parent.join(name);
        mkdir(&dir)?;
        dirs.push(dir.clone());
        let has = |c: &str| h.controllers.iter().any(|x| x == c);
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
    Ok(dirs)
}
