//! `exec -t`: the process gets a pty of the container's own; this CLI relays
//! between it and our stdio. On a terminal, ours goes raw (the container's
//! pty does the line editing and echo) and is restored however we leave.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// Relays until `wait` (the process's exit) returns, then drains what the
/// process wrote last, and returns its exit code. With `interactive`, the
/// `detach_keys` (docker's `exec --detach-keys`, attach.rs's parser and
/// stdin pass) end this CLI and leave the process running.
pub fn relay(
    master: OwnedFd,
    interactive: bool,
    detach_keys: Vec<u8>,
    wait: impl FnOnce() -> anyhow::Result<i32>,
) -> anyhow::Result<i32> {
    let _raw = if interactive && nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
        super::attach::raw_terminal()
    } else {
        None
    };
    let master = Arc::new(std::fs::File::from(master));
    hoist_runtime::exec_pty::follow_window_size(master.clone());
    if interactive {
        // Not joined: it blocks in read(stdin) and ends with the process.
        let to_pty = master.try_clone()?;
        let held = master.clone();
        std::thread::spawn(move || {
            super::attach::pass_stdin(to_pty, &detach_keys, || keep_pty_open(&held))
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
    // Locked per write: the detach keys' exit flushes stdout meanwhile.
    let out = std::io::stdout();
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
                let mut out = out.lock();
                if out.write_all(&buf[..n]).and_then(|_| out.flush()).is_err() {
                    return;
                }
            }
        }
    }
}

/// On detach: the process's pty master must stay open (closing it would
/// hang the process up with SIGHUP) and be read (a full pty would block the
/// process's writes), as docker's daemon keeps it. This CLI is about to
/// exit, so a child of its own, in a session of its own and with no stdio
/// of ours, holds and drains it until every slave is closed.
fn keep_pty_open(master: &std::fs::File) {
    let fd = master.as_raw_fd();
    // SAFETY: between fork and _exit the child (one thread) makes only
    // async-signal-safe calls, on a stack buffer.
    unsafe {
        if libc::fork() != 0 {
            return;
        }
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for to in 0..3 {
                libc::dup2(null, to);
            }
        }
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                libc::_exit(0);
            }
        }
    }
}
