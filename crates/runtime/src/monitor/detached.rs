//! Starting a detached hoist process (`hoist __monitor ID`, `hoist __pod ID`)
//! in its own session, and waiting for the one line it reports on an
//! inherited pipe: "ok" once it runs, or "err CODE MESSAGE". Used by the CLI
//! (`run -d`, `start`, `pod start`) and by a pod member's monitor that
//! replaces its pod's dead holder (pod/recover.rs).

use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::error::{Result, RuntimeError};

/// This process's own binary, to start a holder from a monitor.
pub fn own_exe() -> Result<std::path::PathBuf> {
    std::env::current_exe().map_err(failed("finding the hoist binary".into()))
}

/// An I/O failure while starting the process, as a one-line message (an
/// `Io` error would print its source twice through the CLI's error chain).
fn failed(what: String) -> impl FnOnce(std::io::Error) -> RuntimeError {
    move |e| RuntimeError::Start {
        message: format!("{what}: {e}"),
        exit_code: 125,
    }
}

/// Starts `EXE --root ROOT VERB ID --ready-fd 3 EXTRA...` (`exe` is the
/// hoist binary: the caller's `current_exe()`), stderr to `log_path`, and
/// waits for its report. Returns the
/// child, which the caller either forgets (a CLI that exits: init reaps it)
/// or waits for on a thread (a long-lived process, or it stays a zombie).
pub fn spawn_reporting(
    exe: &Path,
    root: &Path,
    verb: &str,
    id: &str,
    extra: &[String],
    log_path: &Path,
    what: &str,
) -> Result<Child> {
    let (r, w) = crate::core::spawn::pipe().map_err(failed("creating a pipe".into()))?;
    let log = std::fs::File::create(log_path)
        .map_err(failed(format!("creating {}", log_path.display())))?;
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(root)
        .arg(verb)
        .arg(id)
        .arg("--ready-fd")
        .arg("3")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(failed(format!("starting the {what}")))?;
    drop(w);
    drop(cmd);
    let mut line = String::new();
    BufReader::new(std::fs::File::from(r))
        .read_line(&mut line)
        .map_err(failed(format!("reading the {what}'s report")))?;
    let line = line.trim();
    if line == "ok" {
        return Ok(child);
    }
    // It failed and ends (or has ended): reap it now.
    let _ = child.wait();
    if let Some(rest) = line.strip_prefix("err ") {
        let (code, msg) = rest.split_once(' ').unwrap_or(("125", rest));
        return Err(RuntimeError::Start {
            message: msg.to_string(),
            exit_code: code.parse().unwrap_or(125),
        });
    }
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    Err(RuntimeError::Start {
        message: format!("the {what} failed to start: {}", log.trim()),
        exit_code: 125,
    })
}
