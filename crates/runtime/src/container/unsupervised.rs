//! Containers whose monitor died while processes of theirs kept running
//! (`State::unsupervised`, see state.rs). The monitor normally takes its
//! container with it (the child's parent-death signal); what is still in
//! the container's cgroup afterwards has no one to stop, signal or reap it,
//! so `stop`, `kill` and `rm -f` act on the cgroup's processes directly.

use std::time::{Duration, Instant};

use super::{container_dir, state, ContainerRecord, Status};
use crate::cgroup::Cgroup;

/// Sends `signal` to every process in the container's cgroup; false when
/// none was left to signal.
pub fn signal(rec: &ContainerRecord, signal: i32) -> bool {
    Cgroup::existing(&rec.id).signal_all(signal) > 0
}

/// docker stop for an unsupervised container: `signal` to every process,
/// SIGKILL to whatever is left after `timeout`, then the cgroup goes and the
/// state says exited. Nobody can reap these processes for their exit status
/// (they are not our children), so the code is 128 + the signal that ended
/// them. Returns that code.
pub fn stop(root: &std::path::Path, rec: &ContainerRecord, timeout: Duration, signal: i32) -> i32 {
    let cgroup = Cgroup::existing(&rec.id);
    let mut code = 128 + signal;
    cgroup.signal_all(signal);
    let deadline = Instant::now() + timeout;
    while !cgroup.pids().is_empty() {
        if Instant::now() >= deadline {
            code = 128 + libc::SIGKILL;
            cgroup.kill_all();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cgroup.remove();
    let dir = container_dir(root, &rec.id);
    let mut s = state::read(&dir);
    s.status = Status::Exited;
    s.pid = 0;
    s.exit_code = code;
    s.finished_at = Some(crate::time::now());
    s.error = "its monitor had ended unexpectedly; the processes it left were stopped".into();
    if let Err(e) = state::write(&dir, &s) {
        tracing::warn!("recording state: {e}");
    }
    let _ = std::fs::remove_file(dir.join(crate::monitor::control::SOCKET));
    crate::events::emit(
        root,
        &crate::events::Event::container(rec, "die").with("exitCode", code),
    );
    code
}
