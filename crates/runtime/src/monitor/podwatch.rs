//! A pod member's monitor watches its pod's holder while the container
//! runs, and replaces it when it dies (pod/recover.rs): the holder is the
//! pod's only other process, and nobody else would notice it gone.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use super::Shared;
use crate::container::state::process_start_time;
use crate::pod::PodState;

/// How often the watcher looks whether its own container has ended.
const TICK_MS: i32 = 200;

/// Starts the watcher for this run of the container (it ends with the run).
pub(super) fn start(root: &Path, pod: &str, holder: PodState, shared: Arc<Shared>) {
    let (root, pod) = (root.to_path_buf(), pod.to_string());
    let spawned = std::thread::Builder::new()
        .name("podwatch".into())
        .spawn(move || watch(&root, &pod, holder, &shared));
    if let Err(e) = spawned {
        tracing::warn!("watching the pod's holder: {e}");
    }
}

fn watch(root: &Path, pod: &str, mut holder: PodState, shared: &Shared) {
    while wait_for_death(&holder, shared) {
        let recovered = super::detached::own_exe()
            .and_then(|exe| crate::pod::recover::recover(&exe, root, pod, shared.pid()));
        match recovered {
            Ok(st) => holder = st,
            Err(e) => {
                tracing::warn!("the pod's holder died and could not be replaced: {e}");
                return;
            }
        }
    }
}

/// Waits until the holder has ended (true) or this run of the container
/// has (false). A pidfd says when the holder exits; a zombie or a reused
/// PID counts as ended (process_start_time).
fn wait_for_death(holder: &PodState, shared: &Shared) -> bool {
    // SAFETY: pidfd_open with no flags returns a new descriptor or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, holder.pid, 0) } as i32;
    let pidfd = (raw >= 0).then(|| {
        // SAFETY: a fresh descriptor that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(raw) }
    });
    loop {
        if shared.exited() {
            return false;
        }
        if process_start_time(holder.pid) != Some(holder.start) {
            return true;
        }
        match &pidfd {
            Some(fd) => {
                let mut p = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: poll on one valid pollfd.
                unsafe { libc::poll(&mut p, 1, TICK_MS) };
            }
            None => std::thread::sleep(std::time::Duration::from_millis(TICK_MS as u64)),
        }
    }
}
