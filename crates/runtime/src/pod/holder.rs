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

/// A running member whose namespaces a replacement holder adopts
/// (recover.rs): its PID and /proc start time, against PID reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adopt {
    pub pid: i32,
    pub start: u64,
}

impl Adopt {
    /// "PID:START", as passed on the holder's command line.
    pub fn parse(s: &str) -> Option<Adopt> {
        let (pid, start) = s.split_once(':')?;
        Some(Adopt {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }
    pub fn arg(&self) -> String {
        format!("{}:{}", self.pid, self.start)
    }
}

/// Runs the holder until SIGTERM/SIGINT. `ready` receives "ok" once the
/// namespaces exist and the ports are bound, or "err CODE MESSAGE". With
/// `adopt`, the namespaces are those of a running member (a holder that
/// died is being replaced) instead of new ones.
pub fn run(root: &Path, id: &str, mut ready: Ready, adopt: Option<Adopt>) -> Result<i32> {
    match setup(root, id, adopt) {
        Ok(lock) => {
            if let Ok(rec) = load(root, id) {
                let ev = crate::events::Event::pod(&rec, "start");
                let ev = match adopt {
                    Some(a) => ev.with("recovered", "true").with("adopted", a.pid),
                    None => ev,
                };
                crate::events::emit(root, &ev);
            }
            ready.send("ok");
            // Signals were blocked before any thread started: they queue
            // here instead of killing the process half-way.
            let _ = stop_signals().wait();
            crate::netpod::stopped(root, id);
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

/// The pod's lock, waiting briefly: someone reaping a dead holder
/// (`super::reap`) holds it for a moment; a live holder holds it for good.
fn lock(root: &Path, id: &str, name: &str) -> Result<File> {
    let dir = pod_dir(root, id);
    for _ in 0..50 {
        if let Some(lock) = super::try_lock(&dir) {
            return Ok(lock);
        }
        if super::live(root, id).is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(RuntimeError::Invalid(format!(
        "pod {name} is already running"
    )))
}

fn setup(root: &Path, id: &str, adopt: Option<Adopt>) -> Result<File> {
    let rec = load(root, id)?;
    let dir = pod_dir(root, id);
    let lock = lock(root, id, &rec.name)?;
    // A state.json left now is a dead holder's: it is reported here.
    super::reap_locked(root, id, &dir);
    let _ = stop_signals().thread_block();
    let listeners = crate::ports::bind_all(&rec.ports)?;
    let ports = listeners.iter().map(|(_, m)| *m).collect();
    match adopt {
        Some(a) => {
            adopt_namespaces(a)?;
            crate::netpod::adopted(root, id);
        }
        None => {
            // The network namespace first, attached to the pod's networks.
            crate::netpod::enter_new_netns(root, &rec)?;
            new_namespaces(&rec.name)?;
        }
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

/// New IPC and UTS namespaces for the pod (the network one is made first,
/// by netpod.rs), named after it, with `lo` up. On this (so far only)
/// thread: every thread started later inherits them.
fn new_namespaces(name: &str) -> Result<()> {
    // SAFETY: unshare/sethostname on this thread, with a valid buffer.
    unsafe {
        if libc::unshare(libc::CLONE_NEWIPC | libc::CLONE_NEWUTS) < 0 {
            return Err(RuntimeError::io(
                "creating the pod's namespaces",
                std::io::Error::last_os_error(),
            ));
        }
        if libc::sethostname(name.as_ptr() as *const libc::c_char, name.len()) < 0 {
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
    Ok(())
}

/// Enters the net, IPC and UTS namespaces of a running member: the pod's
/// own, which outlived the holder that made them. The files are opened
/// first, then the member is checked to be the same process (not a reused
/// PID), then this (so far only) thread joins them.
fn adopt_namespaces(a: Adopt) -> Result<()> {
    let mut files = Vec::new();
    for (name, flag) in [
        ("net", libc::CLONE_NEWNET),
        ("ipc", libc::CLONE_NEWIPC),
        ("uts", libc::CLONE_NEWUTS),
    ] {
        let path = format!("/proc/{}/ns/{name}", a.pid);
        files.push((File::open(&path).ctx(|| format!("opening {path}"))?, flag));
    }
    if process_start_time(a.pid) != Some(a.start) {
        return Err(RuntimeError::Invalid(format!(
            "the pod member (PID {}) whose namespaces were to be adopted has ended",
            a.pid
        )));
    }
    for (f, flag) in &files {
        // SAFETY: setns on a namespace descriptor we opened.
        if unsafe { libc::setns(f.as_raw_fd(), *flag) } < 0 {
            return Err(RuntimeError::io(
                "entering the pod's namespaces",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
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
