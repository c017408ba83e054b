//! A pseudo-terminal for `exec -t`, made in the container's own devpts
//! instance (as runc does), so the process sees `/dev/pts/N` of its own
//! container: `tty` names it, and nothing of the host's /dev/pts leaks in.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

use crate::error::{Result, RuntimeError};

/// devpts' ptmx node: character device 5:2.
const PTMX_MAJOR: u64 = 5;
const PTMX_MINOR: u64 = 2;

/// Opens a new pty pair in the devpts mounted at `/dev/pts` in the container
/// whose init is `pid`: (master, slave). The path is resolved inside the
/// container's root (openat2 RESOLVE_IN_ROOT), and the node must really be
/// devpts' ptmx: the container's root owns /dev, so a planted symlink or
/// device must not get the host to open something else.
pub fn open_container_pty(pid: i32) -> Result<(OwnedFd, OwnedFd)> {
    let fail = |what: &str, err: std::io::Error| RuntimeError::io(what, err);
    let root = CString::new(format!("/proc/{pid}/root")).expect("no NUL in a path");
    let rel = CString::new("dev/pts/ptmx").expect("no NUL");
    // SAFETY: plain syscalls; every descriptor is owned right after it is made.
    unsafe {
        let dir = libc::open(
            root.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if dir < 0 {
            return Err(fail(
                "open the container's root",
                std::io::Error::last_os_error(),
            ));
        }
        let dir = OwnedFd::from_raw_fd(dir);
        let master = crate::core::sys::openat2(
            std::os::fd::AsRawFd::as_raw_fd(&dir),
            rel.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            0,
            libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_NO_SYMLINKS,
        )
        .map_err(|errno| {
            fail(
                "open the container's /dev/pts/ptmx",
                std::io::Error::from_raw_os_error(errno),
            )
        })?;
        let master = OwnedFd::from_raw_fd(master);
        let raw = std::os::fd::AsRawFd::as_raw_fd(&master);
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(raw, &mut st) < 0 {
            return Err(fail("stat /dev/pts/ptmx", std::io::Error::last_os_error()));
        }
        let is_ptmx = st.st_mode & libc::S_IFMT == libc::S_IFCHR
            && libc::major(st.st_rdev) as u64 == PTMX_MAJOR
            && libc::minor(st.st_rdev) as u64 == PTMX_MINOR;
        if !is_ptmx {
            return Err(RuntimeError::Invalid(
                "the container's /dev/pts/ptmx is not a pty multiplexer".into(),
            ));
        }
        let unlock: libc::c_int = 0;
        if libc::ioctl(raw, libc::TIOCSPTLCK, &unlock) < 0 {
            return Err(fail("unlock the pty", std::io::Error::last_os_error()));
        }
        // TIOCGPTPEER opens the slave from the master, with no path lookup.
        let slave = libc::ioctl(
            raw,
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if slave < 0 {
            return Err(fail(
                "open the pty's slave",
                std::io::Error::last_os_error(),
            ));
        }
        Ok((master, OwnedFd::from_raw_fd(slave)))
    }
}

/// Our terminal's size, when stdin or stdout is a terminal.
pub fn terminal_size() -> Option<libc::winsize> {
    // SAFETY: TIOCGWINSZ writes one winsize struct.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        [0, 1]
            .into_iter()
            .any(|fd| libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some(ws)
    }
}

/// Gives a pty our terminal's size, so full-screen programs in the
/// container draw to fit. Done before the process starts: a size set
/// afterwards races with a program that asks for it at once.
pub fn copy_window_size(master: std::os::fd::BorrowedFd) {
    use std::os::fd::AsRawFd;
    if let Some(ws) = terminal_size() {
        // SAFETY: TIOCSWINSZ reads one winsize struct.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
}

/// Keeps `master` at our terminal's size: SIGWINCH is blocked in the calling
/// thread (so in every thread it starts afterwards; call this before starting
/// any) and a thread waits for it and copies the size.
pub fn follow_window_size(master: std::sync::Arc<std::fs::File>) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGWINCH);
    if set.thread_block().is_err() {
        return;
    }
    // Not joined: it waits for resizes until the process ends.
    std::thread::spawn(move || {
        while set.wait().is_ok() {
            use std::os::fd::AsFd;
            copy_window_size(master.as_fd());
        }
    });
}
