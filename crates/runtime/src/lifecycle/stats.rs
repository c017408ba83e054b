//! `stats` and `top`: figures of a running container read from its cgroup
//! and the /proc entries of the processes in it.
//!
//! Memory and PIDs come from the cgroup (v1 `memory.usage_in_bytes` minus
//! `total_inactive_file`, v2 `memory.current` minus `inactive_file`: docker's
//! "usage", page cache that can be dropped is not counted). CPU time is the
//! sum of the processes' utime+stime (+ their reaped children's): on v1 a
//! container joins `cpu` but not `cpuacct` (one migration less per start,
//! cgroup/mod.rs), so there is no cgroup counter to read; v2 uses
//! `cpu.stat`'s usage_usec. Block I/O is /proc/PID/io's read/write bytes
//! (blkio is not joined either), network I/O is PID 1's /proc/PID/net/dev
//! (its network namespace) without `lo`.

use std::path::Path;
use std::time::{Duration, Instant};

use super::Lifecycle;
use crate::cgroup::{hierarchy, Cgroup, Hierarchy};
use crate::container::{state, ContainerRecord, Status};
use crate::error::{Result, RuntimeError};

/// One sample of a container's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// CPU time used so far, nanoseconds (its difference between two
    /// samples over the wall time between them is the CPU %).
    pub cpu_ns: u64,
    pub memory_usage: u64,
    /// The cgroup's limit, or the machine's memory when unlimited (docker's).
    pub memory_limit: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
    /// When it was read.
    pub at: Option<Instant>,
}

impl Stats {
    /// CPU % of one CPU between `earlier` and this sample (docker's: 100% is
    /// one CPU busy, a busy 2-CPU container shows 200%).
    pub fn cpu_percent(&self, earlier: &Stats) -> f64 {
        let (Some(a), Some(b)) = (earlier.at, self.at) else {
            return 0.0;
        };
        let wall = b.duration_since(a).as_nanos() as f64;
        if wall <= 0.0 {
            return 0.0;
        }
        self.cpu_ns.saturating_sub(earlier.cpu_ns) as f64 / wall * 100.0
    }

    pub fn memory_percent(&self) -> f64 {
        if self.memory_limit == 0 {
            return 0.0;
        }
        self.memory_usage as f64 / self.memory_limit as f64 * 100.0
    }
}

impl Lifecycle {
    /// One sample of a running container's figures; `NotRunning` otherwise.
    pub fn stats(&self, rec: &ContainerRecord) -> Result<Stats> {
        let st = state::read_live(&self.dir(rec));
        if st.status != Status::Running {
            return Err(RuntimeError::NotRunning(rec.name.clone()));
        }
        Ok(sample(&rec.id, st.pid))
    }

    /// The host PIDs of a running container's processes (for `top`).
    pub fn processes(&self, rec: &ContainerRecord) -> Result<Vec<i32>> {
        let st = state::read_live(&self.dir(rec));
        if st.status != Status::Running {
            return Err(RuntimeError::NotRunning(rec.name.clone()));
        }
        Ok(Cgroup::existing(&rec.id).pids())
    }
}

fn sample(id: &str, pid1: i32) -> Stats {
    let cgroup = Cgroup::existing(id);
    let pids = cgroup.pids();
    let mut s = Stats {
        at: Some(Instant::now()),
        pids: pids.len() as u64,
        ..Default::default()
    };
    let proc_cpu: u64 = pids.iter().map(|p| proc_cpu_ns(*p)).sum();
    for p in &pids {
        let (r, w) = proc_io(*p);
        s.block_read += r;
        s.block_write += w;
    }
    (s.net_rx, s.net_tx) = net_dev(pid1);
    let total = mem_total();
    match hierarchy() {
        Hierarchy::V2(_) => {
            let dir = &cgroup.dirs[0];
            let stat = read(&dir.join("memory.stat"));
            let current = num(&read(&dir.join("memory.current")));
            s.memory_usage = current.saturating_sub(field(&stat, "inactive_file"));
            s.memory_limit = num(&read(&dir.join("memory.max"))).min(total);
            s.cpu_ns = field(&read(&dir.join("cpu.stat")), "usage_usec") * 1000;
            if let Ok(n) = read(&dir.join("pids.current")).trim().parse() {
                s.pids = n;
            }
        }
        Hierarchy::V1(_) => {
            s.cpu_ns = proc_cpu;
            for dir in &cgroup.dirs {
                if dir.join("memory.usage_in_bytes").exists() {
                    let usage = num(&read(&dir.join("memory.usage_in_bytes")));
                    let stat = read(&dir.join("memory.stat"));
                    s.memory_usage = usage.saturating_sub(field(&stat, "total_inactive_file"));
                    s.memory_limit = num(&read(&dir.join("memory.limit_in_bytes"))).min(total);
                }
                if let Ok(n) = read(&dir.join("pids.current")).trim().parse() {
                    s.pids = n;
                }
            }
        }
    }
    if s.memory_limit == 0 {
        s.memory_limit = total;
    }
    s
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// A number, or u64::MAX for "max" (v2's unlimited).
fn num(s: &str) -> u64 {
    let s = s.trim();
    if s == "max" {
        return u64::MAX;
    }
    s.parse().unwrap_or(0)
}

/// `key value` lines (memory.stat, cpu.stat).
fn field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

fn mem_total() -> u64 {
    read(Path::new("/proc/meminfo"))
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// utime+stime+cutime+cstime of a process, in nanoseconds.
fn proc_cpu_ns(pid: i32) -> u64 {
    let stat = read(Path::new(&format!("/proc/{pid}/stat")));
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0;
    };
    // Fields after the command: state is 3, utime 14 .. cstime 17 (1-based).
    let ticks: u64 = after
        .split(' ')
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks * 1_000_000_000 / clock_ticks()
}

fn proc_io(pid: i32) -> (u64, u64) {
    let io = read(Path::new(&format!("/proc/{pid}/io")));
    let get = |k: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(k)?.trim().parse().ok())
            .unwrap_or(0)
    };
    (get("read_bytes:"), get("write_bytes:"))
}

/// Received and sent bytes on every interface but `lo`, in PID's namespace.
fn net_dev(pid: i32) -> (u64, u64) {
    if pid <= 0 {
        return (0, 0);
    }
    let dev = read(Path::new(&format!("/proc/{pid}/net/dev")));
    let mut rx = 0;
    let mut tx = 0;
    for line in dev.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

/// How long `stats --no-stream` waits between its two samples.
pub const CPU_SAMPLE: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_numbers() {
        let stat = "cache 10\ntotal_inactive_file 4096\ninactive_file 7\n";
        assert_eq!(field(stat, "total_inactive_file"), 4096);
        assert_eq!(field(stat, "inactive_file"), 7);
        assert_eq!(num("max\n"), u64::MAX);
        assert_eq!(num("123\n"), 123);
    }

    #[test]
    fn cpu_percent_is_cpu_time_over_wall_time() {
        let t = Instant::now();
        let a = Stats {
            at: Some(t),
            ..Default::default()
        };
        let b = Stats {
            at: Some(t + Duration::from_secs(1)),
            cpu_ns: 500_000_000,
            ..Default::default()
        };
        assert!((b.cpu_percent(&a) - 50.0).abs() < 1e-9);
    }
}
