//! `update`: new memory, CPU and PID limits and restart policy for a
//! container, running or not. A running container's cgroup is written at
//! once (v1: memory.limit_in_bytes with memory.memsw kept equal, in the
//! order the kernel accepts; cpu.cfs_quota_us/cfs_period_us; pids.max —
//! v2: memory.max, cpu.max, pids.max; a cpuset, joined then if it was not,
//! cgroup/cpuset.rs); the record and the spec (config.json,
//! which every start reads) keep them for the next start; the monitor reads
//! the restart policy from the record each time the container ends.

use std::path::Path;

use super::Lifecycle;
use crate::cgroup::{hierarchy, Cgroup, Hierarchy};
use crate::container::{self, state, ContainerRecord, Status};
use crate::error::{IoContext, Result, RuntimeError};

/// What to change (`None`: keep).
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// Bytes.
    pub memory: Option<i64>,
    pub cpus: Option<f64>,
    /// -1 or 0: unlimited.
    pub pids_limit: Option<i64>,
    pub restart: Option<String>,
    /// `--cpuset-cpus`, `--cpuset-mems` (kernel lists, checked by
    /// `SpecExtras::parse_cpuset`).
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
}

/// CFS period hoist uses (as docker: 100 ms).
const CPU_PERIOD: i64 = 100_000;

impl Lifecycle {
    /// Applies `u` to the container; returns the updated record.
    pub fn update(&self, rec: &ContainerRecord, u: &UpdateOptions) -> Result<ContainerRecord> {
        if let Some(r) = &u.restart {
            let policy = crate::restart::Policy::parse(r)?;
            if rec.auto_remove && !matches!(policy, crate::restart::Policy::No) {
                return Err(RuntimeError::Invalid(
                    "a --rm container cannot have a restart policy".into(),
                ));
            }
        }
        // Rootless: each limit needs its controller delegated (else refused).
        crate::rootless::check_limit_flags(
            &[
                (u.memory.is_some(), "--memory"),
                (u.cpus.is_some(), "--cpus"),
                (u.pids_limit.is_some(), "--pids-limit"),
                (u.cpuset_cpus.is_some(), "--cpuset-cpus"),
                (u.cpuset_mems.is_some(), "--cpuset-mems"),
            ]
            .into_iter()
            .filter_map(|(set, flag)| set.then_some(flag))
            .collect::<Vec<_>>(),
        )?;
        if let Some(m) = u.memory {
            if m < 6 << 20 {
                return Err(RuntimeError::Invalid(
                    "the minimum memory limit is 6MB".into(),
                ));
            }
        }
        if let Some(c) = u.cpus {
            let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            if c <= 0.0 || c > ncpu {
                return Err(RuntimeError::Invalid(format!(
                    "range of CPUs is from 0.01 to {ncpu:.2}, as there are only {ncpu} CPUs available"
                )));
            }
        }
        // With --memory-swap set at create, memory + swap stays what it
        // was (docker's rule: the new limit must stay below it).
        let swap = rec.extras.memory_swap;
        if let (Some(m), Some(s)) = (u.memory, swap) {
            if s != -1 && m > s {
                return Err(RuntimeError::Invalid(format!(
                    "the memory limit must stay below the memory+swap limit (--memory-swap {s} bytes) set at create"
                )));
            }
        }
        let dir = self.dir(rec);
        let st = state::read_live(&dir);
        if st.status == Status::Running && !st.unsupervised {
            write_cgroup(&rec.id, u, swap.is_some())?;
            if u.cpuset_cpus.is_some() || u.cpuset_mems.is_some() {
                crate::cgroup::cpuset::update_running(
                    &rec.id,
                    u.cpuset_cpus.as_deref(),
                    u.cpuset_mems.as_deref(),
                )?;
            }
        }
        update_spec(&dir.join("config.json"), u)?;
        let mut rec = container::load(&self.root, &rec.id)?;
        if u.memory.is_some() {
            rec.memory = u.memory;
        }
        if u.cpus.is_some() {
            rec.cpus = u.cpus;
        }
        if let Some(p) = u.pids_limit {
            rec.pids_limit = Some(p);
        }
        if let Some(r) = &u.restart {
            rec.restart = Some(r.clone());
        }
        if let Some(c) = &u.cpuset_cpus {
            rec.extras.cpuset_cpus = Some(c.clone());
        }
        if let Some(m) = &u.cpuset_mems {
            rec.extras.cpuset_mems = Some(m.clone());
        }
        container::save(&self.root, &rec)?;
        Ok(rec)
    }
}

/// `keep_swap`: memory + swap was set at create and stays (v1 memsw
/// untouched); else swap stays off (memsw follows the limit).
fn write_cgroup(id: &str, u: &UpdateOptions, keep_swap: bool) -> Result<()> {
    let cg = Cgroup::existing(id);
    let quota = u.cpus.map(|c| (c * CPU_PERIOD as f64).round() as i64);
    let pids = u
        .pids_limit
        .map(|p| if p > 0 { p.to_string() } else { "max".into() });
    match hierarchy() {
        Hierarchy::V2(_) => {
            let d = &cg.dirs[0];
            if let Some(m) = u.memory {
                write(&d.join("memory.max"), &m.to_string())?;
                // v2 limits swap alone: without --memory-swap it stays 0.
            }
            if let Some(q) = quota {
                write(&d.join("cpu.max"), &format!("{q} {CPU_PERIOD}"))?;
            }
            if let Some(p) = &pids {
                write(&d.join("pids.max"), p)?;
            }
        }
        Hierarchy::V1(_) => {
            for d in &cg.dirs {
                if let Some(m) = u.memory {
                    let limit = d.join("memory.limit_in_bytes");
                    if limit.exists() {
                        let memsw = d.join("memory.memsw.limit_in_bytes");
                        // memsw may never be below the limit: raise it first
                        // when growing, lower it after when shrinking.
                        let current = read_i64(&limit).unwrap_or(i64::MAX);
                        let (first, second) = if m > current {
                            (&memsw, &limit)
                        } else {
                            (&limit, &memsw)
                        };
                        for f in [first, second] {
                            if f == &limit || (memsw.exists() && !keep_swap) {
                                write(f, &m.to_string())?;
                            }
                        }
                    }
                }
                if let Some(q) = quota {
                    if d.join("cpu.cfs_quota_us").exists() {
                        write(&d.join("cpu.cfs_period_us"), &CPU_PERIOD.to_string())?;
                        write(&d.join("cpu.cfs_quota_us"), &q.to_string())?;
                    }
                }
                if let Some(p) = &pids {
                    if d.join("pids.max").exists() {
                        write(&d.join("pids.max"), p)?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| RuntimeError::Cgroup {
        path: path.display().to_string(),
        message: format!("writing {value}: {e}"),
    })
}

fn read_i64(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The spec's `linux.resources`, rewritten through a temp file.
fn update_spec(path: &Path, u: &UpdateOptions) -> Result<()> {
    let text = std::fs::read(path).ctx(|| format!("reading {}", path.display()))?;
    let mut spec: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| RuntimeError::Invalid(format!("the container's spec: {e}")))?;
    let res = &mut spec["linux"]["resources"];
    if res.is_null() {
        *res = serde_json::json!({});
    }
    if let Some(m) = u.memory {
        res["memory"]["limit"] = m.into();
    }
    if let Some(c) = u.cpus {
        res["cpu"]["quota"] = ((c * CPU_PERIOD as f64).round() as i64).into();
        res["cpu"]["period"] = CPU_PERIOD.into();
    }
    if let Some(p) = u.pids_limit {
        res["pids"]["limit"] = p.into();
    }
    if let Some(c) = &u.cpuset_cpus {
        res["cpu"]["cpus"] = c.as_str().into();
    }
    if let Some(m) = &u.cpuset_mems {
        res["cpu"]["mems"] = m.as_str().into();
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(&spec).expect("JSON serializes");
    std::fs::write(&tmp, bytes).ctx(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).ctx(|| format!("replacing {}", path.display()))
}
