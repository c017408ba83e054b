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

/// How long to wait for another member's replacement holder.
const RACE_WAIT: Duration = Duration::from_secs(10);

/// Makes sure the pod has a live holder, adopting the namespaces of the
/// member whose PID 1 is `member_pid`; returns the holder's state.
pub fn recover(root: &Path, id: &str, member_pid: i32) -> Result<PodState> {
    if let Some(st) = live(root, id) {
        return Ok(st);
    }
    let name = load(root, id)?.name;
    let start =
        process_start_time(member_pid).ok_or_else(|| RuntimeError::PodNotRunning(name.clone()))?;
    let adopt = Adopt {
        pid: member_pid,
        start,
    };
    let log = pod_dir(root, id).join("holder.log");
    let spawned = crate::monitor::detached::spawn_reporting(
        root,
        "__pod",
        id,
        &["--join".to_string(), adopt.arg()],
        &log,
        "pod holder",
    );
    match spawned {
        Ok(mut child) => {
            // Our child now: reaped when it ends, or it stays a zombie.
            std::thread::spawn(move || child.wait());
        }
        Err(e) => {
            // Another member's replacement may have won the lock.
            tracing::info!("replacing the holder of pod {name}: {e}");
        }
    }
    let deadline = Instant::now() + RACE_WAIT;
    loop {
        if let Some(st) = live(root, id) {
            return Ok(st);
        }
        if Instant::now() >= deadline {
            return Err(RuntimeError::PodNotRunning(name));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
