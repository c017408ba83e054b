//! `attach [--no-stdin] [--sig-proxy=BOOL] [--detach-keys KEYS] CONTAINER`:
//! re-attach to a running container started with `run -d`.
//!
//! No change to the monitor was needed: the output is the container's log
//! followed from the attach point on (the monitor writes every line there,
//! a partial line once it ends), the exit code is the monitor's `wait`
//! answer, and stdin is the container's own stdin pipe (a `-i` container's
//! stdin is a pipe whose writer the monitor keeps open): reopening
//! `/proc/PID/fd/0` of its first process write-only gives a writer of that
//! same pipe. A `-t` container's input goes through the pty master its
//! monitor holds: that descriptor is duplicated into this process with
//! pidfd_getfd(2), and our terminal goes raw meanwhile. Detach keys (default ctrl-p ctrl-q) end the
//! attach and leave the container running; with `--sig-proxy` (default,
//! as docker, not for -t) SIGINT/SIGTERM/... are sent to the container.
//!
//! `run --sig-proxy=false` uses the same relay (`run_attached_to_monitor`):
//! the container runs under a monitor process of its own, as with `run -d`,
//! and this CLI shows its log from the start, passes stdin and returns the
//! monitor's exit code. A foreground `run` is otherwise the monitor itself,
//! so the container could not outlive a SIGTERM/SIGINT to it; here the
//! signal ends the CLI alone and the container runs on, as docker's.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use hoist_runtime::container::{self, state, ContainerRecord, Status};
use hoist_runtime::lifecycle::Lifecycle;
use hoist_runtime::logs::{read_from, LogRecord};

use super::run::lifecycle;
use crate::cli::container::AttachArgs;
use crate::commands::coded;

pub fn attach(root: &Path, a: &AttachArgs) -> anyhow::Result<i32> {
    let keys = detach_keys(&a.detach_keys).map_err(|e| coded(125, e))?;
    let lc = lifecycle(root)?;
    let rec = match lc.find(&a.container) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(1);
        }
    };
    let dir = container::container_dir(root, &rec.id);
    let st = state::read_live(&dir);
    if st.status != Status::Running || st.pid <= 0 {
        eprintln!("Error: you cannot attach to a stopped container, start it first");
        return Ok(1);
    }
    if st.paused {
        eprintln!("Error: you cannot attach to a paused container, unpause it first");
        return Ok(1);
    }
    let stdin = if a.no_stdin || !rec.interactive {
        None
    } else if rec.tty {
        Some(tty_master(st.monitor_pid)?)
    } else {
        Some(container_stdin(st.pid)?)
    };
    // Keystrokes pass as they are typed (the container's pty echoes them),
    // so the detach keys and ctrl-c reach their readers; restored at exit.
    let raw = (stdin.is_some() && rec.tty).then(raw_terminal).flatten();
    let log = container::log_path(&dir, &rec.id);
    let offset = std::fs::metadata(&log).map_or(0, |m| m.len());
    if a.sig_proxy && !rec.tty {
        proxy_signals(lc.clone(), rec.clone());
    }
    if let Some(writer) = stdin {
        std::thread::spawn(move || pass_stdin(writer, &keys, || {}));
    }
    let ended = Arc::new(AtomicBool::new(false));
    let printer = {
        let ended = ended.clone();
        let follow = Follow {
            log,
            held: None,
            show: Streams::BOTH,
        };
        std::thread::spawn(move || follow.run(offset, &ended))
    };
    let code = lc.wait_exit(&rec, None)?;
    ended.store(true, Ordering::SeqCst);
    let _ = printer.join();
    drop(raw);
    Ok(code)
}

/// `run --sig-proxy=false` of a created container: started under a monitor
/// process of its own (in its own session: the terminal's ^C and signals
/// to this CLI do not reach it), this CLI attached to it as `attach` is,
/// from the start of the log. Returns the container's exit code: the
/// monitor's own, which also holds for a `--rm` container gone by then.
pub fn run_attached_to_monitor(
    lc: &Lifecycle,
    rec: &ContainerRecord,
    streams: hoist_runtime::monitor::Attach,
) -> anyhow::Result<i32> {
    use hoist_runtime::monitor::control::{call, Request};
    let dir = container::container_dir(lc.root(), &rec.id);
    let log = container::log_path(&dir, &rec.id);
    // Opened before the monitor appends to it: a `--rm` container's log
    // is removed with it at its end, and what it wrote last is read here.
    let held = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&log)
        .ok();
    let started = lc.ensure_pod_holder(rec).and_then(|_| {
        hoist_runtime::monitor::detached::spawn_reporting(
            lc.exe(),
            lc.root(),
            "__monitor",
            &rec.id,
            &[],
            &dir.join("monitor.log"),
            "container monitor",
        )
    });
    let mut monitor = match started {
        Ok(child) => child,
        Err(e) => {
            if rec.auto_remove {
                let _ = container::remove(lc.root(), rec, true);
            }
            return Err(super::run_error(e));
        }
    };
    let st = state::read_live(&dir);
    // A -t container's pty follows our terminal's size; with -i it takes
    // our input, and the detach keys work as on `attach` (docker's: on a
    // tty only). A container that is already gone has neither.
    let master = rec.tty.then(|| tty_master(st.monitor_pid).ok()).flatten();
    if let Some(m) = &master {
        hoist_runtime::exec_pty::copy_window_size(std::os::fd::AsFd::as_fd(m));
    }
    let stdin = match &master {
        _ if !streams.stdin => None,
        Some(m) => m.try_clone().ok(),
        None => container_stdin(st.pid).ok(),
    };
    let raw = (stdin.is_some() && rec.tty).then(raw_terminal).flatten();
    if let Some(m) = master {
        hoist_runtime::exec_pty::follow_window_size(Arc::new(m));
    }
    if let Some(writer) = stdin {
        let keys = if rec.tty {
            detach_keys(DEFAULT_DETACH_KEYS)?
        } else {
            Vec::new()
        };
        let (dir, tty) = (dir.clone(), rec.tty);
        std::thread::spawn(move || {
            pass_stdin(writer, &keys, || {});
            // Our stdin ended (docker's stdin-once): so does the
            // container's, once the monitor lets its own writer go.
            if !tty {
                let _ = call(&dir, &Request::CloseStdin, Some(Duration::from_secs(5)));
            }
        });
    }
    let ended = Arc::new(AtomicBool::new(false));
    let printer = {
        let ended = ended.clone();
        let follow = Follow {
            log,
            held,
            show: Streams {
                stdout: streams.stdout,
                stderr: streams.stderr,
            },
        };
        std::thread::spawn(move || follow.run(0, &ended))
    };
    let status = monitor.wait();
    ended.store(true, Ordering::SeqCst);
    let _ = printer.join();
    drop(raw);
    use std::os::unix::process::ExitStatusExt;
    let status = status.map_err(|e| coded(125, anyhow::anyhow!("waiting for the monitor: {e}")))?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

/// docker's default detach keys.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// A `-t` container's input: the pty master its monitor holds, duplicated
/// into this process with pidfd_getfd(2) (Linux 5.6; root may take a
/// descriptor of any process). The master is the monitor's descriptor of
/// a ptmx node (character device 5:2); opening that node would make a new
/// pty, so the very descriptor is what must be taken.
fn tty_master(monitor: i32) -> anyhow::Result<File> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let ptmx = libc::makedev(5, 2);
    let fds = std::fs::read_dir(format!("/proc/{monitor}/fd"))?;
    let target = fds
        .filter_map(|e| e.ok())
        .find(|e| {
            std::fs::metadata(e.path())
                .is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == ptmx)
        })
        .and_then(|e| e.file_name().to_str()?.parse::<i32>().ok());
    let Some(target) = target else {
        bail!("the container's pty is not held by its monitor (was it started with -d -t?)");
    };
    // SAFETY: plain syscalls; the results are fresh descriptors we own.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, monitor, 0) };
    if pidfd < 0 {
        bail!(
            "reaching the container's monitor: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: a fresh descriptor.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    use std::os::fd::AsRawFd;
    // SAFETY: as above.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target, 0) };
    if fd < 0 {
        bail!(
            "taking the container's pty: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: a fresh descriptor.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

/// The terminal's settings before raw mode, for an exit from another thread.
static SAVED: std::sync::Mutex<Option<nix::sys::termios::Termios>> = std::sync::Mutex::new(None);

fn restore_terminal() {
    use nix::sys::termios::{tcsetattr, SetArg};
    if let Some(t) = SAVED.lock().ok().and_then(|s| s.clone()) {
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &t);
    }
}

/// Our terminal in raw mode while attached (none when stdin is no terminal);
/// restored on drop, or by `pass_stdin`'s exit on the detach keys.
pub struct RawTerminal(nix::sys::termios::Termios);

pub fn raw_terminal() -> Option<RawTerminal> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).ok()?;
    let mut raw = saved.clone();
    cfmakeraw(&mut raw);
    tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
    if let Ok(mut s) = SAVED.lock() {
        *s = Some(saved.clone());
    }
    Some(RawTerminal(saved))
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        use nix::sys::termios::{tcsetattr, SetArg};
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.0);
    }
}

/// A writer of the container's stdin pipe.
fn container_stdin(pid: i32) -> anyhow::Result<File> {
    let fd0 = format!("/proc/{pid}/fd/0");
    let target = std::fs::read_link(&fd0)?;
    if !target.to_string_lossy().starts_with("pipe:") {
        bail!("the container's stdin is not open (start it with -i to attach stdin)");
    }
    Ok(std::fs::OpenOptions::new().write(true).open(&fd0)?)
}

/// Our stdin to the container's until EOF (then returns, `to` closed) or
/// the detach keys; those end this process at once (after `on_detach`), the
/// container running on.
pub fn pass_stdin(mut to: File, keys: &[u8], on_detach: impl FnOnce()) {
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 4096];
    let mut matched = 0;
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut out = Vec::with_capacity(n);
        for &b in &buf[..n] {
            if !keys.is_empty() && b == keys[matched] {
                matched += 1;
                if matched == keys.len() {
                    let _ = to.write_all(&out);
                    on_detach();
                    let _ = std::io::stdout().flush();
                    restore_terminal();
                    eprintln!("read escape sequence");
                    std::process::exit(0);
                }
                continue;
            }
            // A partial sequence that did not complete is the container's.
            out.extend_from_slice(&keys[..matched]);
            matched = 0;
            out.push(b);
        }
        if to.write_all(&out).is_err() {
            return;
        }
    }
}

/// Which of the container's streams are shown (`run -a`).
#[derive(Clone, Copy)]
struct Streams {
    stdout: bool,
    stderr: bool,
}

impl Streams {
    const BOTH: Streams = Streams {
        stdout: true,
        stderr: true,
    };
}

/// The log followed: by its path (it may be rotated), and, when `held`, by
/// that open file once the path is gone (a `--rm` container's end).
struct Follow {
    log: PathBuf,
    held: Option<File>,
    show: Streams,
}

impl Follow {
    /// Prints the log's records after `offset` until `ended`, then the rest.
    fn run(&self, mut offset: u64, ended: &AtomicBool) {
        loop {
            let last = ended.load(Ordering::SeqCst);
            if let Ok((records, next)) = read_from(&self.log, offset) {
                offset = next;
                print(&records, self.show);
            }
            if last {
                break;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        if let (Some(held), false) = (&self.held, self.log.exists()) {
            use std::os::fd::AsRawFd;
            let fd = PathBuf::from(format!("/proc/self/fd/{}", held.as_raw_fd()));
            if let Ok((records, _)) = read_from(&fd, offset) {
                print(&records, self.show);
            }
        }
    }
}

fn print(records: &[LogRecord], show: Streams) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for r in records {
        let _ = if r.stream == "stderr" {
            if !show.stderr {
                continue;
            }
            err.write_all(r.log.as_bytes())
        } else {
            if !show.stdout {
                continue;
            }
            out.write_all(r.log.as_bytes())
        };
    }
    let _ = out.flush();
    let _ = err.flush();
}

/// Blocks the forwarded signals here (before any other thread starts, so
/// every thread inherits the mask) and sends each one that arrives to the
/// container.
fn proxy_signals(lc: Lifecycle, rec: ContainerRecord) {
    // The same set as an attached `run`'s (the monitor's).
    let set = hoist_runtime::monitor::attach::forwarded();
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            let _ = lc.kill(&rec, sig as i32);
        }
    });
}

/// docker's `--detach-keys`: comma-separated `ctrl-X` or single characters.
pub fn detach_keys(spec: &str) -> anyhow::Result<Vec<u8>> {
    let mut keys = Vec::new();
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let lower = part.to_ascii_lowercase();
        match lower.strip_prefix("ctrl-") {
            Some(k) if k.len() == 1 => {
                let c = k.as_bytes()[0];
                match c {
                    b'a'..=b'z' => keys.push(c - b'a' + 1),
                    b'@' => keys.push(0),
                    b'[' => keys.push(27),
                    b'\\' => keys.push(28),
                    b']' => keys.push(29),
                    b'^' => keys.push(30),
                    b'_' => keys.push(31),
                    _ => bail!("invalid detach key {part:?}"),
                }
            }
            None if part.len() == 1 => keys.push(part.as_bytes()[0]),
            _ => bail!("invalid detach keys {spec:?}: use e.g. ctrl-p,ctrl-q or a,ctrl-b"),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_as_docker_writes_them() {
        assert_eq!(detach_keys("ctrl-p,ctrl-q").unwrap(), [16, 17]);
        assert_eq!(detach_keys("a,ctrl-B").unwrap(), [b'a', 2]);
        assert!(detach_keys("ctrl-pp").is_err());
        assert!(detach_keys("").unwrap().is_empty());
    }
}
