//! One slirp4netns process per container network namespace: started,
//! waited on until it reports the namespace configured (`--ready-fd`), and
//! ended by closing the descriptor it watches (`--exit-fd`) — which the
//! kernel also does when the process holding it (the monitor) dies.

use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{BINARY, INTERFACE, PACKAGE};
use crate::error::{NetworkError, Result};

/// The network namespace to attach.
pub enum Target<'a> {
    /// The namespaces of a running process (`/proc/PID/ns/net`; slirp4netns
    /// joins its user namespace first when it is another).
    Pid(i32),
    /// An open network namespace, and the user namespace owning it when
    /// the helper must join that one first.
    Netns {
        netns: BorrowedFd<'a>,
        userns: Option<BorrowedFd<'a>>,
    },
}

/// How to run the helper.
#[derive(Debug, Clone)]
pub struct Options {
    /// The slirp4netns binary (a name is looked up in PATH).
    pub binary: PathBuf,
    /// The tap device's MTU: 65520 as podman's (1500 halves throughput).
    pub mtu: u32,
    /// How long the helper may take to report the namespace configured.
    pub ready_timeout: Duration,
    /// The tap device it makes in the namespace.
    pub interface: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            binary: PathBuf::from(BINARY),
            mtu: 65520,
            ready_timeout: Duration::from_secs(10),
            interface: INTERFACE,
        }
    }
}

/// A running helper. Dropping it (or [`Outbound::stop`]) ends it.
#[derive(Debug)]
pub struct Outbound {
    child: Child,
    /// Closing this ends the helper (`--exit-fd`).
    exit_w: Option<OwnedFd>,
}

/// Starts the helper on `target` and returns once the container's
/// interface is up with its address, route and DNS forwarder: connections
/// made after this returns go out.
pub fn start(target: Target<'_>, opts: &Options) -> Result<Outbound> {
    super::check(opts)?;
    let (exit_r, exit_w) = pipe().map_err(|e| NetworkError::io("creating a pipe", e))?;
    let spawned = spawn(target, opts, exit_r.as_fd(), false)?;
    drop(exit_r);
    let mut helper = Outbound {
        child: spawned.child,
        exit_w: Some(exit_w),
    };
    match wait_ready(&spawned.ready, opts.ready_timeout) {
        Ok(true) => Ok(helper),
        Ok(false) => {
            let status = helper.end();
            Err(failed(
                opts,
                format!(
                    "ended ({status}) before the container's network was ready: {}",
                    log_text(spawned.log)
                ),
            ))
        }
        Err(e) => {
            let _ = helper.child.kill();
            helper.end();
            Err(failed(opts, format!("{e}: {}", log_text(spawned.log))))
        }
    }
}

/// Starts a helper that is nobody's child (double fork, a session of its
/// own) and lives until every writer of `lifeline`'s pipe is closed: the
/// one of the rootless network namespace, shared by all user networks and
/// ending with the namespace holder that keeps the pipe's write end.
/// Returns once its interface is configured.
pub fn start_shared(target: Target<'_>, opts: &Options, lifeline: BorrowedFd<'_>) -> Result<()> {
    super::check(opts)?;
    let mut spawned = spawn(target, opts, lifeline, true)?;
    // The intermediate process leaves at once (its child goes on to exec).
    let _ = spawned.child.wait();
    match wait_ready(&spawned.ready, opts.ready_timeout) {
        Ok(true) => Ok(()),
        Ok(false) => Err(failed(
            opts,
            format!(
                "ended before the network was ready: {}",
                log_text(spawned.log)
            ),
        )),
        Err(e) => Err(failed(opts, format!("{e}: {}", log_text(spawned.log)))),
    }
}

fn failed(opts: &Options, message: String) -> NetworkError {
    NetworkError::HelperFailed {
        binary: opts.binary.display().to_string(),
        message,
    }
}

struct Spawned {
    child: Child,
    ready: OwnedFd,
    log: File,
}

fn spawn(
    target: Target<'_>,
    opts: &Options,
    exit_r: BorrowedFd<'_>,
    detach: bool,
) -> Result<Spawned> {
    let binary = opts.binary.display().to_string();
    let io = |what: &str, e: std::io::Error| NetworkError::io(what.to_string(), e);
    let (ready_r, ready_w) = pipe().map_err(|e| io("creating a pipe", e))?;
    let log = memfd().map_err(|e| io("creating the helper's log", e))?;
    // Descriptors the helper inherits at their own numbers (kept open here
    // while it starts, so none can be taken by std's own exec pipe).
    let mut pass: Vec<RawFd> = vec![ready_w.as_raw_fd(), exit_r.as_raw_fd()];
    let mut cmd = Command::new(&opts.binary);
    cmd.arg("--configure")
        .arg(format!("--mtu={}", opts.mtu))
        .arg("--disable-host-loopback")
        .arg(format!("--ready-fd={}", ready_w.as_raw_fd()))
        .arg(format!("--exit-fd={}", exit_r.as_raw_fd()));
    match target {
        Target::Pid(pid) => {
            cmd.arg(pid.to_string());
        }
        Target::Netns { netns, userns } => {
            if let Some(u) = userns {
                pass.push(u.as_raw_fd());
                cmd.arg(format!("--userns-path=/proc/self/fd/{}", u.as_raw_fd()));
            }
            pass.push(netns.as_raw_fd());
            cmd.arg("--netns-type=path")
                .arg(format!("/proc/self/fd/{}", netns.as_raw_fd()));
        }
    }
    cmd.arg(opts.interface)
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| io("duplicating a descriptor", e))?,
        )
        .stderr(
            log.try_clone()
                .map_err(|e| io("duplicating a descriptor", e))?,
        );
    if !detach {
        // Its own process group: a terminal's Ctrl-C for a foreground
        // `hoist run` is the container's to handle, not the helper's.
        cmd.process_group(0);
    }
    // SAFETY: only fcntl, fork, setsid and _exit between fork and exec
    // (async-signal-safe).
    unsafe {
        cmd.pre_exec(move || {
            for &fd in &pass {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if detach {
                match libc::fork() {
                    -1 => return Err(std::io::Error::last_os_error()),
                    0 => {
                        libc::setsid();
                    }
                    _ => libc::_exit(0),
                }
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            NetworkError::HelperMissing {
                binary: binary.clone(),
                package: PACKAGE,
                source,
            }
        }
        _ => io(&format!("starting {binary}"), source),
    })?;
    drop(ready_w);
    Ok(Spawned {
        child,
        ready: ready_r,
        log,
    })
}

impl Outbound {
    /// The helper's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ends the helper and reaps it.
    pub fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) -> String {
        drop(self.exit_w.take());
        // It leaves at once when its exit descriptor closes; one that does
        // not within a second is killed (our own child, not yet reaped, so
        // the PID is still its).
        if !exits_within(self.child.id(), Duration::from_secs(1)) {
            let _ = self.child.kill();
        }
        self.child
            .wait()
            .map_or_else(|e| e.to_string(), |s| s.to_string())
    }
}

impl Drop for Outbound {
    fn drop(&mut self) {
        if self.exit_w.is_some() {
            self.end();
        }
    }
}

/// Whether process `pid` (our unreaped child) ends within `timeout`:
/// its pidfd becomes readable when it does.
fn exits_within(pid: u32, timeout: Duration) -> bool {
    // SAFETY: pidfd_open returns a new descriptor we then own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: fresh descriptor.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // SAFETY: poll on one valid descriptor.
        let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) };
        if n > 0 {
            return true;
        }
        let interrupted =
            n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
        if !interrupted || left.is_zero() {
            return false;
        }
    }
}

/// True once the helper writes its ready byte, false if it ended first.
fn wait_ready(ready: &OwnedFd, timeout: Duration) -> std::result::Result<bool, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "did not report the network ready within {} s",
                timeout.as_secs()
            ));
        }
        let mut pfd = libc::pollfd {
            fd: ready.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one valid descriptor.
        let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("waiting for it: {e}"));
        }
        if n == 0 {
            continue;
        }
        let mut byte = [0u8; 1];
        let mut f = File::from(ready.try_clone().map_err(|e| e.to_string())?);
        return match f.read(&mut byte) {
            Ok(1) => Ok(true),
            Ok(_) => Ok(false),
            Err(e) => Err(format!("reading its ready descriptor: {e}")),
        };
    }
}

/// What the helper wrote (its first 2 KiB, one line).
fn log_text(mut log: File) -> String {
    let mut s = String::new();
    let _ = log.rewind();
    let _ = log.by_ref().take(2048).read_to_string(&mut s);
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        "it wrote nothing".into()
    } else {
        s
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both are fresh and owned by nobody else.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// An anonymous file for the helper's output: read only if it fails.
fn memfd() -> std::io::Result<File> {
    // SAFETY: memfd_create with a static name; the descriptor is ours.
    let fd = unsafe { libc::memfd_create(c"slirp4netns".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { File::from_raw_fd(fd) })
}
