//! The pod's holder process, `hoist __pod <id>` (podman's infra container,
//! without an image): it owns the pod's network, IPC and UTS namespaces and
//! its published ports. Order matters: the ports are bound while the process
//! is still in the host's network namespace (a socket stays in the namespace
//! it was made in), then the process unshares new namespaces, names the UTS
//! one after the pod, brings up `lo`, and every proxy backend connection it
//! opens afterwards lands in the pod. SIGTERM ends it (`pod stop`).

use nix::sys::signal::{SigSet, Signal};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;

use super::{load, pod_dir, PodState};
use crate::container::state::process_start_time;
use crate::error::{IoContext, Result, RuntimeError};
use crate::monitor::Ready;

/// Runs the holder until SIGTERM/SIGINT. `ready` receives "ok" once the
/// namespaces exist and the ports are bound, or "err CODE MESSAGE".
pub fn run(root: &Path, id: &str, mut ready: Ready) -> Result<i32> {
    match setup(root, id) {
        Ok(lock) => {
            ready.send("ok");
            // Signals were blocked before any thread started: they queue
            // here instead of killing the process half-way.
            let _ = stop_signals().wait();
            let _ = std::fs::remove_file(pod_dir(root, id).join("state.json"));
            drop(lock);
            Ok(0)
        }
        Err(e) => {
            ready.send(&format!("err {} {e}", e.exit_code()));
            Err(e)
        }
    }
}

fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.add(Signal::SIGHUP);
    set
}

fn setup(root: &Path, id: &str) -> Result<File> {
    let rec = load(root, id)?;
    let dir = pod_dir(root, id);
    let lock = File::create(dir.join("pod.lock")).ctx(|| format!("locking {}", dir.display()))?;
    // SAFETY: flock on our own descriptor.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } < 0 {
        return Err(RuntimeError::Invalid(format!(
            "pod {} is already running",
            rec.name
        )));
    }
    let _ = stop_signals().thread_block();
    let listeners = crate::ports::bind_all(&rec.ports)?;
    let ports = listeners.iter().map(|(_, m)| *m).collect();
    // SAFETY: unshare/sethostname on this (so far only) thread; every
    // thread started later inherits the new namespaces.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS) < 0 {
            return Err(RuntimeError::io(
                "creating the pod's namespaces",
                std::io::Error::last_os_error(),
            ));
        }
        if libc::sethostname(rec.name.as_ptr() as *const libc::c_char, rec.name.len()) < 0 {
            return Err(RuntimeError::io(
                "setting the pod's host name",
                std::io::Error::last_os_error(),
            ));
        }
        crate::core::child::loopback_up().map_err(|errno| {
            RuntimeError::io(
                "bringing up the pod's loopback",
                std::io::Error::from_raw_os_error(errno),
            )
        })?;
    }
    let me = std::process::id() as i32;
    let gate = Arc::new(crate::gate::Gate::default());
    gate.set_pid(me);
    if !listeners.is_empty() {
        let (root, id, gate) = (root.to_path_buf(), id.to_string(), gate.clone());
        std::thread::spawn(move || follow_readiness(&root, &id, &gate));
    }
    crate::ports::start_proxies(listeners, gate);
    let st = PodState {
        pid: me,
        start: process_start_time(me).unwrap_or(0),
        started_at: Some(crate::time::now()),
        ports,
    };
    let data = serde_json::to_vec_pretty(&st).unwrap_or_default();
    crate::fsutil::write_atomic(&dir.join("state.json"), &data)?;
    Ok(lock)
}

/// Kubernetes' pod readiness: the pod's ports take new connections only
/// while no running member says it is not ready (members' monitors record
/// their readiness probe's verdict in state.json). Polled: members come and
/// go without telling the holder.
fn follow_readiness(root: &Path, id: &str, gate: &crate::gate::Gate) {
    use crate::container::{container_dir, state, Status};
    loop {
        let ready = super::members(root, id).iter().all(|c| {
            let st = state::read_live(&container_dir(root, &c.id));
            st.status != Status::Running || st.ready != Some(false)
        });
        gate.set_ready(ready);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Ends the holder (SIGTERM) and waits until it is gone, at most `timeout`.
pub fn stop(root: &Path, id: &str, timeout: std::time::Duration) -> Result<()> {
    let Some(st) = super::live(root, id) else {
        return Ok(());
    };
    // SAFETY: signalling the holder whose start time we just checked.
    unsafe { libc::kill(st.pid, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + timeout;
    while process_start_time(st.pid) == Some(st.start) {
        if std::time::Instant::now() >= deadline {
            return Err(RuntimeError::Invalid(format!(
                "the pod's holder (PID {}) did not end",
                st.pid
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}
