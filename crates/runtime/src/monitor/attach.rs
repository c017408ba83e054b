//! The container's stdio as the monitor owns it: pipes (or a pty with -t) whose
//! output goes to the json log and, when the CLI runs the monitor in the
//! foreground, to the terminal too; stdin passed through with -i; signals the
//! foreground CLI receives forwarded to the container.

use nix::sys::signal::{SigSet, Signal};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

use super::Shared;
use crate::container::ContainerRecord;
use crate::core::spawn::pipe;
use crate::error::{Result, RuntimeError};
use crate::logs::{pump, LogWriter};

/// How a foreground CLI is attached.
#[derive(Debug, Clone, Copy)]
pub struct Attach {
    /// Give the container our stdin (-i).
    pub stdin: bool,
    /// Forward SIGINT, SIGTERM, ... to the container.
    pub forward_signals: bool,
    /// Show the container's stdout, stderr on ours (`run -a`; both by
    /// default). The log has both either way.
    pub stdout: bool,
    pub stderr: bool,
}

pub struct Stdio {
    child: [OwnedFd; 3],
    stdout: Option<File>,
    stderr: Option<File>,
    /// With -t: the pty master, once the child has sent it.
    master: Option<File>,
    /// With -t: our end and the child's end of the console socket.
    console: Option<(OwnedFd, Option<OwnedFd>)>,
    stdin_keepalive: Option<OwnedFd>,
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> RuntimeError + '_ {
    move |e| RuntimeError::io(what, e)
}

fn dup(fd: &impl AsRawFd) -> Result<OwnedFd> {
    nix::unistd::dup(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd.as_raw_fd()) })
        .map_err(|e| RuntimeError::io("dup", e.into()))
}

impl Stdio {
    pub fn new(rec: &ContainerRecord, attach: Option<&Attach>) -> Result<Stdio> {
        let stdin_attached = attach.is_some_and(|a| a.stdin);
        if rec.tty {
            // The pty is made inside the container (core/console.rs); until
            // then the child's stdio are /dev/null placeholders the slave
            // replaces.
            use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
            let (ours, theirs) = socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .map_err(|e| RuntimeError::io("creating the console socket", e.into()))?;
            let null = OwnedFd::from(File::open("/dev/null").map_err(io_err("opening /dev/null"))?);
            return Ok(Stdio {
                child: [dup(&null)?, dup(&null)?, null],
                stdout: None,
                stderr: None,
                master: None,
                console: Some((ours, Some(theirs))),
                stdin_keepalive: None,
            });
        }
        let (stdin_child, keepalive) = if stdin_attached {
            (dup(&std::io::stdin())?, None)
        } else if rec.interactive {
            // -i without a terminal attached: an open, silent stdin (so `sh`
            // waits instead of exiting), like docker run -di.
            let (r, w) = pipe().map_err(io_err("creating a pipe"))?;
            (r, Some(w))
        } else {
            let null = File::open("/dev/null").map_err(io_err("opening /dev/null"))?;
            (OwnedFd::from(null), None)
        };
        let (out_r, out_w) = pipe().map_err(io_err("creating a pipe"))?;
        let (err_r, err_w) = pipe().map_err(io_err("creating a pipe"))?;
        Ok(Stdio {
            child: [stdin_child, out_w, err_w],
            stdout: Some(File::from(out_r)),
            stderr: Some(File::from(err_r)),
            master: None,
            console: None,
            stdin_keepalive: keepalive,
        })
    }

    /// With -t and a terminal attached: its size, for the child to give the
    /// pty before the process starts.
    pub fn console_size(&self, attach: Option<&Attach>) -> Option<libc::winsize> {
        self.console.as_ref()?;
        attach?;
        crate::exec_pty::terminal_size()
    }

    /// With -t, once received: another handle on the pty master.
    pub fn master_clone(&self) -> Option<File> {
        self.master.as_ref()?.try_clone().ok()
    }

    /// With -t: the child's end of the console socket, for its plan.
    pub fn take_console_socket(&mut self) -> Option<OwnedFd> {
        self.console.as_mut().and_then(|(_, theirs)| theirs.take())
    }

    /// With -t, after clone: waits for the pty master the child sends. A
    /// child that fails first sends nothing; its error pipe tells why.
    pub fn receive_console(&mut self) -> Result<()> {
        if let Some((ours, _)) = self.console.take() {
            self.master = crate::core::console::receive_console(&ours)
                .map_err(io_err("receiving the container's terminal"))?;
        }
        Ok(())
    }

    pub fn child_fds(&self) -> [i32; 3] {
        [
            self.child[0].as_raw_fd(),
            self.child[1].as_raw_fd(),
            self.child[2].as_raw_fd(),
        ]
    }

    /// Closes the child's ends and starts copying output to the log.
    pub fn start_pumps(
        self,
        log: &LogWriter,
        attach: Option<&Attach>,
    ) -> (
        Vec<std::thread::JoinHandle<()>>,
        Option<Guard>,
        Option<OwnedFd>,
    ) {
        drop(self.child);
        let tee = |fd: i32| -> Option<Box<dyn Write + Send>> {
            let shown = attach.is_some_and(|a| if fd == 1 { a.stdout } else { a.stderr });
            if !shown {
                return None;
            }
            let owned =
                nix::unistd::dup(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }).ok()?;
            Some(Box::new(File::from(owned)))
        };
        let mut handles = Vec::new();
        let mut guard = None;
        if let Some(master) = self.master {
            if attach.is_some_and(|a| a.stdin) {
                guard = Guard::raw_terminal();
                if let Ok(mut to_master) = master.try_clone() {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut std::io::stdin(), &mut to_master);
                    });
                }
            }
            let log = log.clone();
            let t = tee(1);
            handles.push(std::thread::spawn(move || pump(master, "stdout", &log, t)));
        }
        if let Some(out) = self.stdout {
            let log = log.clone();
            let t = tee(1);
            handles.push(std::thread::spawn(move || pump(out, "stdout", &log, t)));
        }
        if let Some(err) = self.stderr {
            let log = log.clone();
            let t = tee(2);
            handles.push(std::thread::spawn(move || pump(err, "stderr", &log, t)));
        }
        (handles, guard, self.stdin_keepalive)
    }
}

/// Puts our terminal in raw mode (with -it) and restores it on drop.
pub struct Guard {
    saved: nix::sys::termios::Termios,
}

impl Guard {
    fn raw_terminal() -> Option<Guard> {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
        Some(Guard { saved })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        use nix::sys::termios::{tcsetattr, SetArg};
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.saved);
    }
}

/// The signals a proxying CLI passes on (`run`, `attach`): docker's "all
/// but SIGCHLD and SIGPIPE", less those that are synchronous faults (ILL,
/// TRAP, ABRT, BUS, FPE, SEGV, SYS), the job-control ones (TSTP, TTIN,
/// TTOU, CONT: this CLI's terminal session keeps them) and SIGURG.
/// SIGWINCH resizes the container's pty when it has one.
pub fn forwarded() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGALRM,
        Signal::SIGVTALRM,
        Signal::SIGPROF,
        Signal::SIGXCPU,
        Signal::SIGXFSZ,
        Signal::SIGIO,
        Signal::SIGPWR,
        Signal::SIGSTKFLT,
        Signal::SIGWINCH,
    ] {
        set.add(s);
    }
    set
}

/// Blocks the forwarded signals in this thread (and the threads it starts
/// later) so that only `forward_signals` receives them.
pub fn block_forwarded_signals() {
    let _ = forwarded().thread_block();
}

/// Forwards each signal the CLI receives to the container until it exits.
pub fn forward_signals(shared: &Shared) {
    let set = forwarded();
    while let Ok(sig) = set.wait() {
        if shared.exited() {
            break;
        }
        if sig == Signal::SIGWINCH {
            // Our terminal was resized: the container's pty follows (a
            // container without one has no terminal to resize).
            if let Some(master) = &shared.console {
                use std::os::fd::AsFd;
                crate::exec_pty::copy_window_size(master.as_fd());
            }
            continue;
        }
        let _ = shared.signal(sig as i32);
    }
}
