//! Replacing a pod's holder that died (killed with -9, or crashed).
//!
//! The pod's namespaces do not die with the holder: the kernel keeps a
//! namespace while any process is in it, and the running members are. So
//! rather than stop the members and make the pod anew (podman marks a pod
//! whose infra container died as degraded and leaves it to the user), each
//! running member's monitor watches the holder (monitor/podwatch.rs) and,
//! when it dies, starts `hoist __pod ID --join PID:START`, a holder that
//! binds the pod's ports again and enters the namespaces of that member
//! instead of making new ones. The pod's network, IPC and host name carry
//! on; only its published ports are closed for the moment in between.
//! Several members race to do this: the pod's lock lets one holder win, the
//! others wait for its state. The first to take the lock after the death
//! reports it as a `died` pod event (super::reap).

use std::path::Path;
use std::time::{Duration, Instant};

use super::holder::Adopt;
use super::{live, load, pod_dir, PodState};
use crate::container::state::process_start_time;
use crate::error::{Result, RuntimeError};

/// How long to wait for a holder that reported "ok" (or another
/// member's replacement) to show as live.
const RACE_WAIT: Duration = Duration::from_secs(10);

/// The pod's holder, started when it is not running: in the namespaces of
/// a member that still runs in them (its holder died and was not replaced),
/// else in new ones. `pod start`, `run --pod`, `start` of a member and each
/// (re)start by a member's monitor call this: a pod never splits into two
/// sets of namespaces.
pub fn ensure_holder(exe: &Path, root: &Path, id: &str) -> Result<PodState> {
    if let Some(st) = live(root, id) {
        return Ok(st);
    }
    match running_member(root, id) {
        Some(pid) => recover(exe, root, id, pid),
        None => start(exe, root, id, None),
    }
}

/// The PID 1 of a member that runs under its monitor, if any.
fn running_member(root: &Path, id: &str) -> Option<i32> {
    use crate::container::{container_dir, state, Status};
    super::members(root, id).iter().find_map(|c| {
        let st = state::read_live(&container_dir(root, &c.id));
        (st.status == Status::Running && !st.unsupervised && st.pid > 0).then_some(st.pid)
    })
}

/// Makes sure the pod has a live holder, adopting the namespaces of the
/// member whose PID 1 is `member_pid`; returns the holder's state. `exe`
/// is the hoist binary the holder is started from.
pub fn recover(exe: &Path, root: &Path, id: &str, member_pid: i32) -> Result<PodState> {
    if let Some(st) = live(root, id) {
        return Ok(st);
    }
    let name = load(root, id)?.name;
    let start_time =
        process_start_time(member_pid).ok_or_else(|| RuntimeError::PodNotRunning(name.clone()))?;
    start(
        exe,
        root,
        id,
        Some(Adopt {
            pid: member_pid,
            start: start_time,
        }),
    )
}

/// Starts a holder (adopting a member's namespaces or not) and returns the
/// state of whichever holder then runs: racing starts leave one winner.
fn start(exe: &Path, root: &Path, id: &str, adopt: Option<Adopt>) -> Result<PodState> {
    let extra = match adopt {
        Some(a) => vec!["--join".to_string(), a.arg()],
        None => Vec::new(),
    };
    let log = pod_dir(root, id).join("holder.log");
    let spawned = crate::monitor::detached::spawn_reporting(
        exe,
        root,
        "__pod",
        id,
        &extra,
        &log,
        "pod holder",
    );
    let failure = match spawned {
        Ok(mut child) => {
            // Our child now: reaped when it ends, or it stays a zombie.
            std::thread::spawn(move || child.wait());
            None
        }
        // Another start may have won the lock: its state decides.
        Err(e) => Some(e),
    };
    // A holder that failed (a port in use...) has said why; one that lost
    // the race found the winner live already (holder.rs waits for that).
    let wait = if failure.is_some() {
        Duration::from_millis(500)
    } else {
        RACE_WAIT
    };
    let deadline = Instant::now() + wait;
    loop {
        if let Some(st) = live(root, id) {
            return Ok(st);
        }
        if Instant::now() >= deadline {
            return Err(failure.unwrap_or_else(|| {
                RuntimeError::PodNotRunning(load(root, id).map(|p| p.name).unwrap_or_default())
            }));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
