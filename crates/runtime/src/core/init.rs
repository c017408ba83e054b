//! `--init`: an init at PID 1 without any binary in the image. The container
//! child, at the end of its setup (credentials, capabilities, seccomp,
//! parent-death signal and cwd already in place), forks: the new process
//! runs the user's command; the child stays PID 1 of the namespace and runs
//! this loop, in hoist's own already-loaded code, as tini (docker-init) does
//! with `--`: every signal blocked and waited for with sigwaitinfo, SIGCHLD
//! reaps every zombie (PID 1 is the namespace's reaper), anything else is
//! forwarded to the main process alone (not its group, tini's -g), and when
//! the main process ends PID 1 exits with its status (a signal N as 128+N).
//! Runs after a fork of a multi-threaded parent's copy: raw syscalls only,
//! nothing allocated, no locks.

use libc::{c_int, c_ulong};

use super::child::{Fail, Step};
use super::sys;

/// Prepared in the parent: the command line PID 1 shows
/// ("hoist-init\0--\0CMD\0ARGS\0"), as docker shows `/sbin/docker-init -- CMD`,
/// and where this process's own arguments are, which the child overwrites
/// in its copy of the memory (setproctitle's way: PR_SET_MM would need
/// CAP_SYS_RESOURCE, which a remapped or sandboxed container lacks).
#[derive(Debug)]
pub struct InitPlan {
    pub cmdline: Vec<u8>,
    /// [start, end) of the argument strings (/proc/self/stat's arg_start
    /// and arg_end); None: not known, the monitor's command line stays.
    pub arg_area: Option<(usize, usize)>,
}

impl InitPlan {
    pub fn new(argv: &[String]) -> InitPlan {
        let mut cmdline = b"hoist-init\0--\0".to_vec();
        for a in argv {
            cmdline.extend_from_slice(a.as_bytes());
            cmdline.push(0);
        }
        InitPlan {
            cmdline,
            arg_area: own_arg_area(),
        }
    }
}

/// Fields 48 and 49 of /proc/self/stat (counted after the command name,
/// which may hold spaces).
fn own_arg_area() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split(' ').skip(45);
    let start = fields.next()?.parse().ok()?;
    let end: usize = fields.next()?.parse().ok()?;
    (end > start).then_some((start, end))
}

/// Writes the prepared command line over this process's arguments (cut to
/// their length, the rest zeroed), so /proc/1/cmdline and `ps` show the init.
///
/// # Safety
/// `plan.arg_area` must be this process's argument strings, which nothing
/// in the child reads any more.
unsafe fn name_cmdline(plan: &InitPlan) {
    let Some((start, end)) = plan.arg_area else {
        return;
    };
    let area = end - start;
    let n = plan.cmdline.len().min(area - 1);
    let dst = start as *mut u8;
    std::ptr::copy_nonoverlapping(plan.cmdline.as_ptr(), dst, n);
    std::ptr::write_bytes(dst.add(n), 0, area - n);
}

/// Forks the main process. Returns in the new process only (with every
/// signal still blocked; the exec path resets the mask); the caller, PID 1,
/// never returns from here. With a terminal the main process gets a
/// process group of its own and becomes the terminal's foreground group
/// (tini's isolate_child), so ^C and ^Z reach it and not PID 1.
///
/// # Safety
/// Raw syscalls only; safe in the cloned child.
pub unsafe fn fork_main(plan: &InitPlan, err_fd: c_int) -> Result<(), Fail> {
    let mut all: libc::sigset_t = std::mem::zeroed();
    libc::sigfillset(&mut all);
    libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
    // A raw fork: no atfork handlers, no malloc locks.
    let pid = libc::syscall(
        libc::SYS_clone,
        libc::SIGCHLD as c_ulong,
        0usize,
        0usize,
        0usize,
        0usize,
    );
    if pid < 0 {
        return Err((Step::Fork, 1, sys::errno()));
    }
    if pid == 0 {
        libc::setpgid(0, 0);
        let group: libc::pid_t = libc::getpid();
        // ENOTTY without a terminal; SIGTTOU is blocked, so this cannot stop us.
        libc::ioctl(0, libc::TIOCSPGRP, &group);
        return Ok(());
    }
    // The error pipe's last writer is now the main process: the parent sees
    // EOF when it has exec'd, or its failure report.
    libc::close(err_fd);
    libc::syscall(
        libc::SYS_close_range,
        3 as libc::c_uint,
        libc::c_uint::MAX,
        0 as libc::c_uint,
    );
    let _ = sys::prctl(libc::PR_SET_NAME, c"hoist-init".as_ptr() as c_ulong, 0);
    name_cmdline(plan);
    supervise(pid as libc::pid_t, &all)
}

/// PID 1's loop: reap, forward, exit with the main process's status.
unsafe fn supervise(main: libc::pid_t, all: &libc::sigset_t) -> ! {
    loop {
        let sig = libc::sigwaitinfo(all, std::ptr::null_mut());
        if sig < 0 {
            continue;
        }
        if sig != libc::SIGCHLD {
            libc::kill(main, sig);
            continue;
        }
        loop {
            let mut status: c_int = 0;
            let pid = libc::waitpid(-1, &mut status, libc::WNOHANG);
            if pid <= 0 {
                break;
            }
            if pid == main {
                let code = if libc::WIFSIGNALED(status) {
                    128 + libc::WTERMSIG(status)
                } else {
                    libc::WEXITSTATUS(status)
                };
                libc::_exit(code);
            }
        }
    }
}
