//! Starting and stopping a network's responder without a daemon (podman's aardvark-dns
//! model): the first container that needs it starts it, it exits by itself after the
//! last container has gone, `network rm` stops it.

use super::error::DnsError;
use super::paths;
use super::pidfile::{self, Lock, PidRecord};
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponderInfo {
    pub pid: i32,
    /// True when this call started it, false when it was already running.
    pub started: bool,
}

/// How long a starting responder may take to report (it binds two sockets).
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `stop_responder` waits after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// Makes sure `network`'s responder runs, listening on `listen`:53; starts
/// `EXE --root STORE_ROOT __dns NETWORK --listen LISTEN --ready-fd 3` in its own session
/// when it does not, and returns once it listens. Concurrent calls start one process.
///
/// Call it after the container's lease is written: a responder that finds no lease exits
/// after the grace period, and the lease is what keeps it.
pub fn ensure_responder(
    store_root: &Path,
    network: &str,
    listen: Ipv4Addr,
    exe: &Path,
) -> Result<ResponderInfo, DnsError> {
    let dir = paths::network_dir(store_root, network);
    std::fs::create_dir_all(&dir).map_err(|e| DnsError::io("creating", &dir, e))?;
    let _lock = Lock::acquire(&paths::lock(store_root, network))?;
    let pid_path = paths::pidfile(store_root, network);
    if let Some(rec) = pidfile::read(&pid_path).filter(PidRecord::alive) {
        return Ok(ResponderInfo {
            pid: rec.pid,
            started: false,
        });
    }
    let _ = std::fs::remove_file(&pid_path);
    spawn(store_root, network, listen, exe)?;
    let rec = pidfile::read(&pid_path)
        .filter(PidRecord::alive)
        .ok_or_else(|| DnsError::Start {
            network: network.to_string(),
            message: "it reported ready but left no live pidfile".into(),
        })?;
    Ok(ResponderInfo {
        pid: rec.pid,
        started: true,
    })
}

/// The pid of `network`'s running responder, if one runs (for `network inspect`).
pub fn responder_pid(store_root: &Path, network: &str) -> Option<i32> {
    pidfile::read(&paths::pidfile(store_root, network))
        .filter(PidRecord::alive)
        .map(|r| r.pid)
}

/// Ends `network`'s responder (SIGTERM, SIGKILL after a few seconds) and waits until it
/// is gone, so its port is free. Returns whether one was running.
pub fn stop_responder(store_root: &Path, network: &str) -> Result<bool, DnsError> {
    let dir = paths::network_dir(store_root, network);
    if !dir.is_dir() {
        return Ok(false);
    }
    let _lock = Lock::acquire(&paths::lock(store_root, network))?;
    let pid_path = paths::pidfile(store_root, network);
    let Some(rec) = pidfile::read(&pid_path).filter(PidRecord::alive) else {
        let _ = std::fs::remove_file(&pid_path);
        return Ok(false);
    };
    // A pidfd names this very process: no signal can reach a reused pid.
    let Some(pidfd) = pidfd_open(rec.pid).filter(|_| rec.alive()) else {
        let _ = std::fs::remove_file(&pid_path);
        return Ok(false);
    };
    let gone = signal(&pidfd, libc::SIGTERM) && wait_exit(&pidfd, STOP_TIMEOUT)
        || signal(&pidfd, libc::SIGKILL) && wait_exit(&pidfd, STOP_TIMEOUT);
    if !gone && rec.alive() {
        return Err(DnsError::WontStop {
            network: network.to_string(),
            pid: rec.pid,
        });
    }
    let _ = std::fs::remove_file(&pid_path);
    Ok(true)
}

/// Starts the responder detached (own session, reparented to init by a double fork so
/// that no caller is left with a zombie to reap) and waits for its ready report.
fn spawn(store_root: &Path, network: &str, listen: Ipv4Addr, exe: &Path) -> Result<(), DnsError> {
    let start_err = |message: String| DnsError::Start {
        network: network.to_string(),
        message,
    };
    let log_path = paths::log(store_root, network);
    let log =
        std::fs::File::create(&log_path).map_err(|e| DnsError::io("creating", &log_path, e))?;
    let (ready_r, ready_w) = pipe().map_err(|e| start_err(format!("creating a pipe: {e}")))?;
    let wfd = ready_w.as_raw_fd();
    let mut cmd = Command::new(exe);
    // info: the log then says when the responder started, on what, and why it exited.
    cmd.arg("--root")
        .arg(store_root)
        .args(["--log-level", "info"])
        .args([
            "__dns",
            network,
            "--listen",
            &listen.to_string(),
            "--ready-fd",
            "3",
        ])
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| DnsError::io("opening", &log_path, e))?,
        )
        .stderr(log);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // A caller that blocks signals (a foreground `run`) must not hand its mask
            // on: the responder's SIGTERM has to arrive.
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            match libc::fork() {
                -1 => return Err(std::io::Error::last_os_error()),
                0 => {}
                _ => libc::_exit(0),
            }
            libc::setsid();
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut intermediate = cmd
        .spawn()
        .map_err(|e| start_err(format!("running {}: {e}", exe.display())))?;
    drop(cmd);
    drop(ready_w);
    let _ = intermediate.wait();
    let line = read_report(ready_r, START_TIMEOUT);
    match line.as_deref().map(str::trim) {
        Some("ok") => Ok(()),
        Some(l) if l.starts_with("err ") => {
            let rest = &l[4..];
            let msg = rest.split_once(' ').map_or(rest, |(_code, m)| m);
            Err(start_err(msg.to_string()))
        }
        _ => {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            Err(start_err(format!(
                "it exited without reporting ready: {}",
                log.trim()
            )))
        }
    }
}

/// One line from the ready pipe, or None at EOF or after `timeout`.
fn read_report(fd: OwnedFd, timeout: Duration) -> Option<String> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis() as libc::c_int;
    // SAFETY: one valid pollfd.
    if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
        return None;
    }
    let mut line = String::new();
    BufReader::new(std::fs::File::from(fd))
        .read_line(&mut line)
        .ok()
        .filter(|n| *n > 0)
        .map(|_| line)
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both were just returned by pipe2.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: a plain syscall; a non-negative result is a descriptor we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: see above.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn signal(pidfd: &OwnedFd, sig: libc::c_int) -> bool {
    // SAFETY: a plain syscall on a pidfd we own.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        ) == 0
    }
}

/// A pidfd polls readable once its process has exited.
fn wait_exit(pidfd: &OwnedFd, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) > 0 }
}
