//! `exec -t`: the process gets a pty of the container's own; this CLI relays
//! between it and our stdio. On a terminal, ours goes raw (the container's
//! pty does the line editing and echo) and is restored however we leave.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};

/// Puts stdin's terminal in raw mode until dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}

/// Relays until `wait` (the process's exit) returns, then drains what the
/// process wrote last, and returns its exit code.
pub fn relay(
    master: OwnedFd,
    interactive: bool,
    wait: impl FnOnce() -> anyhow::Result<i32>,
) -> anyhow::Result<i32> {
    let _raw = if interactive && nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
        RawMode::enter()
    } else {
        None
    };
    let master = Arc::new(std::fs::File::from(master));
    hoist_runtime::exec_pty::follow_window_size(master.clone());
    if interactive {
        // Not joined: it blocks in read(stdin) and ends with the process.
        let to_pty = master.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin().lock();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 || (&*to_pty).write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
    }
    let exited = Arc::new(AtomicBool::new(false));
    let output = {
        let (master, exited) = (master.clone(), exited.clone());
        std::thread::spawn(move || pump_output(&master, &exited))
    };
    let code = wait();
    exited.store(true, Ordering::SeqCst);
    let _ = output.join();
    code
}

/// Copies the pty's output to stdout. After the process exits, other
/// processes in the container may still hold the pty, so this stops once
/// the exit is known and nothing more is ready, rather than at EOF alone.
fn pump_output(master: &std::fs::File, exited: &AtomicBool) {
    let mut out = std::io::stdout().lock();
    let mut buf = [0u8; 8192];
    loop {
        let done = exited.load(Ordering::SeqCst);
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(0) if done => return,
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        let ready = fds[0].revents().unwrap_or(PollFlags::empty());
        if !ready.contains(PollFlags::POLLIN) {
            // POLLHUP: every slave is closed.
            return;
        }
        match (&*master).read(&mut buf) {
            Ok(0) | Err(_) => return, // EIO: the slave side is gone
            Ok(n) => {
                if out.write_all(&buf[..n]).and_then(|_| out.flush()).is_err() {
                    return;
                }
            }
        }
    }
}
