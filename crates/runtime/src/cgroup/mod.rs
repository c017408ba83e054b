//! Container cgroups, created and written by the parent before the child is
//! released. The hierarchy is detected at runtime: cgroup v2 when
//! /sys/fs/cgroup is a cgroup2 mount, else the v1 controllers mounted under it
//! (a hybrid machine's empty unified tree is ignored). Rootless: the cgroup v2
//! directory delegated to the user, wherever the v2 tree is (delegated.rs).

pub mod cpuset;
pub mod delegated;
pub mod devices_bpf;
pub mod freezer;
mod v1;
pub mod v2;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Result, RuntimeError};

/// One v1 hierarchy: where it is mounted and its controllers (mount options).
#[derive(Debug, Clone)]
pub struct V1Hierarchy {
    pub mountpoint: PathBuf,
    /// The super options naming the controllers, e.g. "cpu,cpuacct" or "memory".
    pub options: String,
    pub controllers: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Hierarchy {
    V1(Vec<V1Hierarchy>),
    V2(PathBuf),
}

/// The v1 controllers a container joins: the ones hoist writes limits or
/// rules to (every extra hierarchy costs a cgroup migration at each start).
/// cpuset only when the container asks for one (cpuset.rs).
const V1_USED: [&str; 5] = ["memory", "cpu", "pids", "devices", "cpuset"];

const V1_ALL: [&str; 14] = [
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// The machine's cgroup layout (read once from /proc/self/mountinfo).
/// Rootless: the cgroup v2 directory delegated to the user, as the root of
/// hoist's cgroups (delegated.rs); without one, no hierarchy: containers
/// get no cgroup of their own and no limits (crate::rootless).
pub fn hierarchy() -> &'static Hierarchy {
    static H: OnceLock<Hierarchy> = OnceLock::new();
    H.get_or_init(|| {
        if crate::rootless::active() {
            return match delegated::from_env() {
                Ok(d) => Hierarchy::V2(d.dir),
                Err(_) => Hierarchy::V1(Vec::new()),
            };
        }
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        parse_mountinfo(&info)
    })
}

fn parse_mountinfo(info: &str) -> Hierarchy {
    let mut v1 = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let rfields: Vec<&str> = right.split(' ').collect();
        if fields.len() < 5 || rfields.len() < 3 {
            continue;
        }
        let mountpoint = PathBuf::from(fields[4]);
        match rfields[0] {
            "cgroup2" if mountpoint == Path::new("/sys/fs/cgroup") => {
                return Hierarchy::V2(mountpoint)
            }
            "cgroup" => {
                let controllers: Vec<String> = rfields[2]
                    .split(',')
                    .filter(|o| V1_USED.contains(o))
                    .map(str::to_string)
                    .collect();
                // Mount options name every controller of the hierarchy (a
                // mount inside the container must repeat them all).
                let options: Vec<&str> = rfields[2]
                    .split(',')
                    .filter(|o| V1_ALL.contains(o) || o.starts_with("name="))
                    .collect();
                v1.push(V1Hierarchy {
                    mountpoint,
                    options: options.join(","),
                    controllers,
                });
            }
            _ => {}
        }
    }
    Hierarchy::V1(v1)
}

/// The limits hoist applies (from the spec's linux.resources).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<i64>,
    /// docker's `--memory-swap`: memory + swap (-1: unlimited swap).
    pub memory_swap: Option<i64>,
    /// `--memory-reservation`: the soft limit.
    pub memory_reservation: Option<i64>,
    /// `--cpu-shares`: the v1 relative weight (v2: converted to cpu.weight).
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub pids: Option<i64>,
    /// `--cpuset-cpus` / `--cpuset-mems` (kernel lists, "0-1").
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// Device rules in v1 `devices.allow` syntax ("c 1:3 rwm"); deny-all first.
    pub device_allow: Vec<String>,
    pub device_deny_all: bool,
    /// The spec's device rules in order (v2 compiles them into a program).
    pub devices: Vec<LinuxDeviceCgroup>,
}

impl Limits {
    /// Whether the container joins a cpuset of its own.
    pub fn wants_cpuset(&self) -> bool {
        self.cpuset_cpus.is_some() || self.cpuset_mems.is_some()
    }

    pub fn from_spec(r: Option<&LinuxResources>) -> Limits {
        let mut l = Limits::default();
        let Some(r) = r else { return l };
        if let Some(m) = r.memory() {
            l.memory = m.limit();
            l.memory_swap = m.swap();
            l.memory_reservation = m.reservation();
        }
        if let Some(c) = r.cpu() {
            l.cpu_quota = c.quota();
            l.cpu_shares = c.shares();
            l.cpu_period = c.period();
            l.cpuset_cpus = c.cpus().clone().filter(|v| !v.is_empty());
            l.cpuset_mems = c.mems().clone().filter(|v| !v.is_empty());
        }
        if let Some(p) = r.pids() {
            l.pids = Some(p.limit());
        }
        l.devices = r.devices().clone().unwrap_or_default();
        for d in r.devices().iter().flatten() {
            let typ = d
                .typ()
                .map(|t| t.as_str().to_string())
                .unwrap_or("a".into());
            let num = |n: Option<i64>| n.map_or("*".to_string(), |n| n.to_string());
            let access = d.access().clone().unwrap_or("rwm".into());
            if !d.allow() && typ == "a" {
                l.device_deny_all = true;
                l.device_allow.clear();
            } else if d.allow() {
                l.device_allow.push(format!(
                    "{typ} {}:{} {access}",
                    num(d.major()),
                    num(d.minor())
                ));
            }
        }
        l
    }
}

/// A container's cgroup (one directory per v1 hierarchy, or one v2 directory).
#[derive(Debug, Clone)]
pub struct Cgroup {
    pub dirs: Vec<PathBuf>,
    v2: bool,
}

impl Cgroup {
    /// Creates `hoist/<name>` in every hierarchy and writes the limits.
    pub fn create(name: &str, limits: &Limits) -> Result<Cgroup> {
        crate::rootless::check_limits_at_start(limits)?;
        match hierarchy() {
            Hierarchy::V1(hs) => {
                v1::create(hs, name, limits).map(|dirs| Cgroup { dirs, v2: false })
            }
            Hierarchy::V2(root) if crate::rootless::active() => {
                // A rootless /dev holds the host's nodes bound in, and a
                // device program needs CAP_SYS_ADMIN in the host's namespace.
                let limits = Limits {
                    devices: Vec::new(),
                    ..limits.clone()
                };
                delegated::enable(root, &delegated::needed(&limits))?;
                v2::create(root, name, &limits).map(|d| Cgroup {
                    dirs: vec![d],
                    v2: true,
                })
            }
            Hierarchy::V2(root) => v2::create(root, name, limits).map(|d| Cgroup {
                dirs: vec![d],
                v2: true,
            }),
        }
    }

    /// `create`, then `open_join_files` for the child that is to enter it;
    /// the cgroup is removed again if the files cannot be opened.
    pub fn create_joinable(name: &str, limits: &Limits) -> Result<(Cgroup, Vec<std::fs::File>)> {
        let cgroup = Cgroup::create(name, limits)?;
        match cgroup.open_join_files() {
            Ok(files) => Ok((cgroup, files)),
            Err(e) => {
                cgroup.remove();
                Err(e)
            }
        }
    }

    /// The cgroup of an existing container (for exec, stats, cleanup).
    pub fn existing(name: &str) -> Cgroup {
        match hierarchy() {
            Hierarchy::V1(hs) => Cgroup {
                dirs: hs
                    .iter()
                    .filter(|h| !h.controllers.is_empty())
                    .map(|h| h.mountpoint.join("hoist").join(name))
                    .collect(),
                v2: false,
            },
            Hierarchy::V2(root) => Cgroup {
                dirs: vec![root.join("hoist").join(name)],
                v2: true,
            },
        }
    }

    /// The files a single-threaded process writes "0" to in order to move
    /// itself in. On v1 that is `tasks`, not `cgroup.procs`: the kernel moves
    /// the calling thread without taking the global threadgroup rwsem, whose
    /// write side waits for an RCU grace period (about 15 ms here, more than
    /// a whole container start). A freshly cloned child has one thread, so
    /// moving that thread moves the process. v2 has no `tasks` file.
    pub fn join_files(&self) -> Vec<PathBuf> {
        let file = if self.v2 { "cgroup.procs" } else { "tasks" };
        self.dirs.iter().map(|d| d.join(file)).collect()
    }

    /// `join_files`, opened for writing (close-on-exec), for a child to use;
    /// a hierarchy where the directory is missing is skipped.
    pub fn open_join_files(&self) -> Result<Vec<std::fs::File>> {
        let mut files = Vec::new();
        for p in self.join_files() {
            match std::fs::OpenOptions::new().write(true).open(&p) {
                Ok(f) => files.push(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RuntimeError::io(format!("opening {}", p.display()), e)),
            }
        }
        Ok(files)
    }

    /// Whether the kernel's OOM killer killed a process of this cgroup.
    pub fn oom_killed(&self) -> bool {
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        self.dirs.iter().any(|d| {
            std::fs::read_to_string(d.join(file))
                .map(|s| {
                    s.lines().any(|l| {
                        l.strip_prefix("oom_kill ")
                            .and_then(|n| n.trim().parse::<u64>().ok())
                            .is_some_and(|n| n > 0)
                    })
                })
                .unwrap_or(false)
        })
    }

    /// SIGKILLs every process still in the cgroup (a container whose monitor
    /// died) and waits briefly for them to go.
    pub fn kill_all(&self) {
        for _ in 0..100 {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                // SAFETY: kill on PIDs listed in our own container's cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// The processes in the cgroup (in any of its hierarchies; a PID listed
    /// in several is listed once). Zombies are not listed: a process leaves
    /// its cgroups when it exits.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .dirs
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|s| {
                s.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Sends `signal` to every process in the cgroup; returns how many.
    pub fn signal_all(&self, signal: i32) -> usize {
        let pids = self.pids();
        for pid in &pids {
            // SAFETY: kill on PIDs listed in our own container's cgroup.
            unsafe { libc::kill(*pid, signal) };
        }
        pids.len()
    }

    /// Removes the directories (waits briefly for exiting processes to leave).
    pub fn remove(&self) {
        for d in &self.dirs {
            for _ in 0..200 {
                match std::fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        }
    }

    /// Whether any directory of it still exists.
    pub fn exists(&self) -> bool {
        self.dirs.iter().any(|d| d.exists())
    }
}

pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| RuntimeError::Cgroup {
        path: path.display().to_string(),
        message: format!("writing {value:?}: {e}"),
    })
}

/// Writes each value with its own write(2) on one open file: files like
/// v1's devices.allow take one rule per write.
pub(crate) fn write_each(path: &Path, values: &[String]) -> Result<()> {
    use std::io::Write;
    let fail = |value: &str, e: std::io::Error| RuntimeError::Cgroup {
        path: path.display().to_string(),
        message: format!("writing {value:?}: {e}"),
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| fail("", e))?;
    for v in values {
        f.write_all(v.as_bytes()).map_err(|e| fail(v, e))?;
    }
    Ok(())
}

pub(crate) fn mkdir(path: &Path) -> Result<()> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(RuntimeError::Cgroup {
            path: path.display().to_string(),
            message: format!("creating it: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_mountinfo_uses_v1_controllers() {
        let info = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
                    35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                    40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
                    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        let Hierarchy::V1(hs) = parse_mountinfo(info) else {
            panic!("expected v1")
        };
        assert_eq!(hs.len(), 3);
        assert_eq!(hs[0].options, "cpu,cpuacct");
        assert_eq!(hs[0].controllers, vec!["cpu"]);
        assert_eq!(hs[1].controllers, vec!["memory"]);
        assert_eq!(hs[2].options, "name=systemd");
        assert!(hs[2].controllers.is_empty());
    }

    #[test]
    fn unified_mountinfo_is_v2() {
        let info = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert!(matches!(parse_mountinfo(info), Hierarchy::V2(_)));
    }
}
