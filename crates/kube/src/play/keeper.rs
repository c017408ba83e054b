//! A Service's keeper: a small process per Service, started on demand by `kube play` (like a
//! container's monitor, never a resident daemon) and ended by `kube down`. It holds the
//! Service's ports on 127.0.0.1 of the host and sends each new connection to a READY pod
//! the selector picks, round robin, through the port that pod publishes for the target
//! port (its holder's proxy, which gates on readiness too). A pod is ready when its holder
//! lives and every running member's readiness (and startup) probe has passed, as in
//! Kubernetes; with no ready pod the connection is closed at once.
//!
//! `play` binds the ports itself (a port in use fails the play, before anything is left
//! behind) and hands the sockets to `hoist __kube-service` as inherited descriptors. The
//! keeper's record, `<root>/kube/services/<namespace>_<name>.json`, holds its PID and start
//! time (against PID reuse) and its definition; the keeper ends when the record is gone
//! or names another process (a re-play with a changed Service starts a new one).

use super::service::ServiceDef;
use hoist_runtime::container::state::process_start_time;
use hoist_runtime::container::Status;
use hoist_runtime::lifecycle::{ContainerFilter, Lifecycle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeeperRecord {
    pub pid: i32,
    pub start: u64,
    pub def: ServiceDef,
}

pub fn services_dir(root: &Path) -> PathBuf {
    root.join("kube").join("services")
}

pub fn record_path(root: &Path, namespace: &str, name: &str) -> PathBuf {
    services_dir(root).join(format!("{namespace}_{name}.json"))
}

/// The keeper's record if its process is alive.
pub fn live(root: &Path, namespace: &str, name: &str) -> Option<KeeperRecord> {
    let b = std::fs::read(record_path(root, namespace, name)).ok()?;
    let r: KeeperRecord = serde_json::from_slice(&b).ok()?;
    (process_start_time(r.pid) == Some(r.start)).then_some(r)
}

/// Ends the Service's keeper (if it runs) and removes its record.
pub fn stop(root: &Path, namespace: &str, name: &str) {
    let path = record_path(root, namespace, name);
    if let Some(r) = live(root, namespace, name) {
        let _ = std::fs::remove_file(&path);
        // SAFETY: a signal to the process the record names, checked alive just now.
        unsafe { libc::kill(r.pid, libc::SIGTERM) };
        for _ in 0..100 {
            if process_start_time(r.pid) != Some(r.start) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("log"));
}

/// Starts a keeper for `def` unless one with the same definition runs; true if started.
pub fn ensure(root: &Path, exe: &Path, def: &ServiceDef) -> io::Result<bool> {
    if let Some(r) = live(root, &def.namespace, &def.name) {
        if &r.def == def {
            return Ok(false);
        }
    }
    stop(root, &def.namespace, &def.name);
    let listeners = def
        .ports
        .iter()
        .map(|p| {
            TcpListener::bind(("127.0.0.1", p.listen)).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("Service {}: port 127.0.0.1:{}: {e}", def.name, p.listen),
                )
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    let fds: Vec<RawFd> = listeners.iter().map(|l| l.as_raw_fd()).collect();
    std::fs::create_dir_all(services_dir(root))?;
    let path = record_path(root, &def.namespace, &def.name);
    let log = std::fs::File::create(path.with_extension("log"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(root)
        .arg("__kube-service")
        .arg(serde_json::to_string(def).map_err(io::Error::other)?)
        .arg(
            fds.iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let keep = fds.clone();
    // SAFETY: only async-signal-safe calls (setsid, fcntl) between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            libc::setsid();
            for fd in &keep {
                if libc::fcntl(*fd, libc::F_SETFD, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    // The keeper outlives us: nothing waits for it here (setsid; init reaps it).
    std::mem::forget(child);
    let start = process_start_time(pid).unwrap_or(0);
    let rec = KeeperRecord {
        pid,
        start,
        def: def.clone(),
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(&rec).map_err(io::Error::other)?)?;
    std::fs::rename(&tmp, &path)?;
    drop(listeners);
    Ok(true)
}

/// `hoist __kube-service DEF FDS`: serves until the record is gone or names another process.
pub fn serve(root: &Path, exe: &Path, def: ServiceDef, fds: &[RawFd]) -> ! {
    let lc = Arc::new(Lifecycle::new(root.to_path_buf(), exe.to_path_buf()));
    let next = Arc::new(AtomicUsize::new(0));
    for (port, fd) in def.ports.iter().zip(fds) {
        // SAFETY: the descriptor was inherited from `ensure`, a listening socket we own.
        let listener = unsafe { TcpListener::from_raw_fd(*fd) };
        let (lc, next, def, target) = (lc.clone(), next.clone(), def.clone(), port.target);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let backend = pick(&lc, &def, target, &next);
                std::thread::spawn(move || match backend {
                    Some(addr) => {
                        if let Ok(up) = TcpStream::connect(("127.0.0.1", addr)) {
                            splice(conn, up);
                        }
                    }
                    None => drop(conn),
                });
            }
        });
    }
    let me = std::process::id() as i32;
    let path = record_path(root, &def.namespace, &def.name);
    let owner = || {
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<KeeperRecord>(&b).ok())
            .map(|r| r.pid)
    };
    // `play` writes the record right after starting us.
    for _ in 0..100 {
        if owner() == Some(me) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    loop {
        if owner() != Some(me) {
            std::process::exit(0);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The host port of a ready pod the Service selects, round robin.
fn pick(lc: &Lifecycle, def: &ServiceDef, target: u16, next: &AtomicUsize) -> Option<u16> {
    let pairs: Vec<(String, String)> = def
        .selector
        .iter()
        .map(|(k, v)| (format!("{}{k}", super::labels::LABEL_PREFIX), v.clone()))
        .chain([(super::labels::NAMESPACE.to_string(), def.namespace.clone())])
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // Pod ID → (every member ready, some member running).
    let mut pods: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for (rec, st) in lc.list(&ContainerFilter::labels(&refs)) {
        let Some(pod) = rec.pod.clone() else { continue };
        let ok = match st.status {
            Status::Running => st.ready != Some(false) && st.started != Some(false),
            Status::Restarting => false,
            // An init container that completed does not hold the pod back.
            Status::Exited | Status::Created => true,
        };
        let e = pods.entry(pod).or_insert((true, false));
        e.0 &= ok;
        e.1 |= st.status == Status::Running;
    }
    let mut ready: Vec<u16> = pods
        .into_iter()
        .filter(|(_, (ok, running))| *ok && *running)
        .filter_map(|(id, _)| {
            let live = hoist_runtime::pod::live(lc.root(), &id)?;
            live.ports
                .iter()
                .find(|p| p.container_port == target)
                .map(|p| p.host_port)
        })
        .collect();
    ready.sort_unstable();
    if ready.is_empty() {
        return None;
    }
    let i = next.fetch_add(1, Ordering::Relaxed) % ready.len();
    Some(ready[i])
}

fn splice(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let t = std::thread::spawn(move || {
        let (mut r, mut w) = (a2, b2);
        let _ = io::copy(&mut r, &mut w);
        let _ = w.shutdown(Shutdown::Write);
    });
    let (mut r, mut w) = (b, a);
    let _ = io::copy(&mut r, &mut w);
    let _ = w.shutdown(Shutdown::Write);
    let _ = t.join();
}
