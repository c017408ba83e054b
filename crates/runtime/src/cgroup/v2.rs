//! cgroup v2 (unified): one directory `hoist/<name>`, controllers enabled in
//! the parents' cgroup.subtree_control. The device rules become an eBPF
//! program attached to the directory (devices_bpf), before the child joins.

use std::path::{Path, PathBuf};

use super::{cpuset, devices_bpf, mkdir, write, Limits};
use crate::error::Result;

pub fn create(root: &Path, name: &str, limits: &Limits) -> Result<PathBuf> {
    let parent = root.join("hoist");
    enable_controllers(root, limits.wants_cpuset());
    mkdir(&parent)?;
    enable_controllers(&parent, limits.wants_cpuset());
    let dir = parent.join(name);
    mkdir(&dir)?;
    if let Err(e) = write_limits(&dir, limits) {
        let _ = std::fs::remove_dir(&dir);
        return Err(e);
    }
    Ok(dir)
}

fn write_limits(dir: &Path, limits: &Limits) -> Result<()> {
    if limits.wants_cpuset() {
        cpuset::write_values(
            dir,
            limits.cpuset_cpus.as_deref(),
            limits.cpuset_mems.as_deref(),
        )?;
    }
    if let Some(m) = limits.memory {
        write(&dir.join("memory.max"), &m.to_string())?;
        let swap = dir.join("memory.swap.max");
        if swap.exists() {
            // docker's --memory-swap is memory + swap; v2 limits swap alone.
            let value = match limits.memory_swap {
                Some(-1) => "max".to_string(),
                Some(total) => (total - m).max(0).to_string(),
                None => "0".to_string(),
            };
            write(&swap, &value)?;
        }
    }
    if let Some(r) = limits.memory_reservation {
        write(&dir.join("memory.low"), &r.to_string())?;
    }
    if let Some(s) = limits.cpu_shares {
        // runc's conversion of the v1 range [2, 262144] to [1, 10000].
        let weight = 1 + (s.clamp(2, 262_144) - 2) * 9999 / 262_142;
        write(&dir.join("cpu.weight"), &weight.to_string())?;
    }
    if limits.cpu_quota.is_some() || limits.cpu_period.is_some() {
        let quota = limits
            .cpu_quota
            .filter(|q| *q > 0)
            .map_or("max".to_string(), |q| q.to_string());
        let period = limits.cpu_period.unwrap_or(100_000);
        write(&dir.join("cpu.max"), &format!("{quota} {period}"))?;
    }
    if let Some(p) = limits.pids {
        let v = if p > 0 { p.to_string() } else { "max".into() };
        write(&dir.join("pids.max"), &v)?;
    }
    // No rules (not hoist's own specs): like v1, nothing is restricted.
    if !limits.devices.is_empty() {
        devices_bpf::attach(dir, &limits.devices)?;
    }
    Ok(())
}

/// Best effort: a controller the kernel lacks simply stays off. cpuset
/// only for a container that asks for one.
fn enable_controllers(dir: &Path, cpuset: bool) {
    let wanted: &[&str] = if cpuset {
        &["memory", "pids", "cpu", "cpuset"]
    } else {
        &["memory", "pids", "cpu"]
    };
    for c in wanted {
        let _ = std::fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"));
    }
}
