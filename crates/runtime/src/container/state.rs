//! A container's state (state.json), written atomically by whoever changes it
//! (the monitor while it lives, the CLI otherwise). A "running" state whose
//! monitor is gone is reported as exited, so `ps` is right after a crash.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::Result;
use crate::health::HealthState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    /// Waiting out the restart delay (restart policy); the monitor lives.
    Restarting,
    Exited,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub status: Status,
    /// Host PID of the container's PID 1 (0 when not running).
    pub pid: i32,
    pub monitor_pid: i32,
    /// Start time of the monitor (/proc/PID/stat field 22), against PID reuse.
    pub monitor_start: u64,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub health: Option<HealthState>,
    /// Published ports as bound (host port filled in when it was 0).
    #[serde(default)]
    pub ports: Vec<crate::container::config::PortMapping>,
    /// Restarts by the restart policy since the last `start` (restart.rs).
    #[serde(default)]
    pub restart_count: u32,
    /// Readiness (probe/): None without a readiness probe.
    #[serde(default)]
    pub ready: Option<bool>,
    /// Whether the startup probe has passed in this run (Kubernetes'
    /// `started`): None without a startup probe.
    #[serde(default)]
    pub started: Option<bool>,
    /// Set by `read_live`, never stored: the state says running, its monitor
    /// is gone, yet processes are still in the container's cgroup (the
    /// parent-death signal normally takes them with the monitor). They run
    /// without logs, ports or supervision; `stop`, `kill` and `rm -f` act on
    /// the cgroup directly and `start` is refused.
    #[serde(skip)]
    pub unsupervised: bool,
    /// Set by `read_live`, never stored: running, and its processes are
    /// frozen by `pause` (the cgroup freezer is the truth, cgroup/freezer.rs).
    #[serde(skip)]
    pub paused: bool,
}

/// What `read_live` says of a container whose monitor died.
pub const MONITOR_DIED: &str =
    "the container's monitor ended unexpectedly (killed?); the container was killed with it";
/// ... and of one whose run dir is gone too (container/paths.rs): the run
/// directory is a tmpfs, so the machine restarted while the container ran.
pub const RUN_DIR_LOST: &str =
    "the container was running when the machine restarted (its run directory is gone)";
pub const MONITOR_DIED_RUNNING: &str = "the container's monitor ended unexpectedly (killed?), but processes of the container still run, without logs, published ports or supervision: stop it (hoist stop) or remove it (hoist rm -f)";

pub fn read(dir: &Path) -> State {
    std::fs::read(dir.join("state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes the state into `dir`, the container's run dir; a container with a
/// record dir (paths.rs) gets a copy there at every start and exit, so its
/// last state survives a reboot (health and readiness changes are not copied:
/// they would put a disk write on every probe).
pub fn write(dir: &Path, s: &State) -> Result<()> {
    let data = serde_json::to_vec_pretty(s).unwrap_or_default();
    crate::fsutil::write_atomic(&dir.join("state.json"), &data)?;
    let record = super::paths::record_of(dir);
    if record != dir && lifecycle(&read(&record)) != lifecycle(s) {
        crate::fsutil::write_atomic(&record.join("state.json"), &data)?;
    }
    Ok(())
}

/// What a reboot must not lose of a state.
fn lifecycle(s: &State) -> impl PartialEq + '_ {
    (
        s.status,
        &s.started_at,
        &s.finished_at,
        s.exit_code,
        s.oom_killed,
        &s.error,
        s.restart_count,
    )
}

/// Field 22 of /proc/PID/stat (process start time in clock ticks); None for
/// a process that is gone or a zombie.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    if after.starts_with('Z') || after.starts_with('X') {
        return None;
    }
    after.split(' ').nth(19)?.parse().ok()
}

/// Whether the monitor recorded in `s` is still the same live process.
pub fn monitor_alive(s: &State) -> bool {
    s.monitor_pid > 0 && process_start_time(s.monitor_pid) == Some(s.monitor_start)
}

/// The state as it really is: running only while its monitor lives, or
/// while processes are left in its cgroup after the monitor died (then
/// `unsupervised`). `dir` is the container's directory (named by its ID).
pub fn read_live(dir: &Path) -> State {
    live(dir, read(dir))
}

/// `read_live` of the state `s` already read from `dir`.
pub fn live(dir: &Path, mut s: State) -> State {
    let live = matches!(s.status, Status::Running | Status::Restarting);
    if live && !monitor_alive(&s) {
        let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if !id.is_empty() && !crate::cgroup::Cgroup::existing(id).pids().is_empty() {
            s.status = Status::Running;
            s.unsupervised = true;
            // The published ports were the monitor's sockets: gone with it.
            s.ports.clear();
            s.error = MONITOR_DIED_RUNNING.into();
            return s;
        }
        s.status = Status::Exited;
        s.pid = 0;
        if s.error.is_empty() {
            // `dir` is the record dir when the run dir is gone.
            s.error = if dir.starts_with(crate::rundir::base()) {
                MONITOR_DIED
            } else {
                RUN_DIR_LOST
            }
            .into();
            s.exit_code = 255;
        }
    } else if s.status == Status::Running {
        let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        s.paused = !id.is_empty() && crate::cgroup::freezer::is_frozen(id);
    }
    s
}
