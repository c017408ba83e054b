//! The parent side of starting a container: one clone(2) into new namespaces
//! (the cgroup exists with its limits written; the child moves itself in as
//! its first step), and a close-on-exec error pipe that carries (step, errno)
//! back if anything fails before execve. Safe to call from many threads at once: the
//! child never allocates and never takes a lock (see child.rs).

use libc::{c_int, c_void};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::child::{self, ChildArgs, Step};
use super::plan::ContainerPlan;
use crate::error::{Result, RuntimeError};

const STACK_SIZE: usize = 256 * 1024;

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the ChildArgs the parent passed; the child has a copy of
    // the parent's memory, so the reference stays valid until execve.
    let args = unsafe { &*(arg as *const ChildArgs) };
    child::container_main(args)
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// Starts the container described by `plan` (its `cgroup_join` files say
/// which cgroup the child enters before anything else). Returns the PID
/// (host namespace) once execve succeeded.
pub fn spawn(plan: &ContainerPlan) -> Result<i32> {
    spawn_begin(plan)?.wait_exec(plan)
}

/// A cloned container child that is still setting itself up.
pub struct Started {
    pub pid: i32,
    err_r: OwnedFd,
    /// With an emulator: the socket the child asks for its maps on.
    emu: Option<OwnedFd>,
}

impl Started {
    /// Waits until the child has exec'd (Ok(pid)) or reported a failure
    /// (then it is reaped and the error says which step failed).
    pub fn wait_exec(self, plan: &ContainerPlan) -> Result<i32> {
        if let (Some(sock), Some(em)) = (&self.emu, &plan.emulator) {
            if let Err(e) = emulation_maps(self.pid, sock, em) {
                // SAFETY: our own child, waiting on the socket.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                reap(self.pid);
                return Err(e);
            }
        }
        match read_failure(&self.err_r) {
            None => Ok(self.pid),
            Some(report) => {
                reap(self.pid);
                Err(start_error(plan, report))
            }
        }
    }
}

/// Clones the child and returns at once, so the caller can do its own
/// set-up on the other CPU while the child mounts its rootfs; the caller
/// must then call `wait_exec`.
pub fn spawn_begin(plan: &ContainerPlan) -> Result<Started> {
    spawn_begin_with(plan, &mut |_| Ok(()))
}

/// `spawn_begin`, with `after_maps(pid)` run by the parent once a child in
/// its own user namespace has its maps, before it gets its rootfs (the
/// networks of such a child are attached there: netns::LateAttach). Not
/// called for a child in the host's user namespace.
pub fn spawn_begin_with(
    plan: &ContainerPlan,
    after_maps: &mut dyn FnMut(i32) -> Result<()>,
) -> Result<Started> {
    let (err_r, err_w) = pipe().map_err(|e| RuntimeError::io("creating a pipe", e))?;
    // In a user namespace of its own the child waits on this socket for
    // the parent's half (idmap.rs): its maps, then its rootfs.
    let sync = match plan.userns {
        Some(_) => Some(socketpair().map_err(|e| RuntimeError::io("creating a socket pair", e))?),
        None => None,
    };
    let emu = match plan.emulator {
        Some(_) => Some(socketpair().map_err(|e| RuntimeError::io("creating a socket pair", e))?),
        None => None,
    };
    let args = ChildArgs {
        plan,
        err_fd: err_w.as_raw_fd(),
        err_read_fd: err_r.as_raw_fd(),
        sync_fd: sync.as_ref().map_or(-1, |(_, child)| child.as_raw_fd()),
        sync_parent_fd: sync.as_ref().map_or(-1, |(parent, _)| parent.as_raw_fd()),
        emu_fd: emu.as_ref().map_or(-1, |(_, child)| child.as_raw_fd()),
        emu_parent_fd: emu.as_ref().map_or(-1, |(parent, _)| parent.as_raw_fd()),
    };
    let user_flag = if plan.userns.is_some() {
        libc::CLONE_NEWUSER
    } else {
        0
    };
    let mut stack = vec![0u8; STACK_SIZE];
    // SAFETY: the stack top is inside `stack`, 16-byte aligned; the callback
    // only reads `args`. Without CLONE_VM the child gets its own copy.
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(STACK_SIZE);
        let top = (top as usize & !15) as *mut c_void;
        libc::clone(
            trampoline,
            top,
            plan.clone_flags | user_flag | libc::SIGCHLD,
            &args as *const ChildArgs as *mut c_void,
        )
    };
    if pid < 0 {
        return Err(RuntimeError::io(
            "clone into new namespaces",
            std::io::Error::last_os_error(),
        ));
    }
    drop(stack);
    drop(err_w);
    if let (Some(ns), Some((parent, child))) = (&plan.userns, sync) {
        drop(child);
        if let Err(e) = super::idmap::prepare_child(pid, plan, ns, &parent, after_maps) {
            // SAFETY: our own child, waiting on the socket.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            reap(pid);
            return Err(e);
        }
    }
    Ok(Started {
        pid,
        err_r,
        emu: emu.map(|(parent, _child)| parent),
    })
}

/// The parent's half of a foreign platform's start (emulation.rs): once the
/// child, set up, has entered its new user namespace and asks, write its
/// maps and answer. A child that failed before asking closes the socket;
/// its report is then on the error pipe.
fn emulation_maps(pid: i32, sock: &OwnedFd, em: &super::plan::EmulatorPlan) -> Result<()> {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::from(
        sock.try_clone()
            .map_err(|e| RuntimeError::io("duplicating a socket", e))?,
    );
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(1) => {}
        _ => return Ok(()),
    }
    for (file, text) in [("uid_map", &em.uid_map), ("gid_map", &em.gid_map)] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, text.as_bytes()).map_err(|e| RuntimeError::Start {
            message: format!(
                "starting the container under emulation: writing {path} ({}): {e}",
                text.trim()
            ),
            exit_code: 125,
        })?;
    }
    stream
        .write_all(b"g")
        .map_err(|e| RuntimeError::io("answering the container's child", e))
}

/// A close-on-exec unix stream socket pair: (parent's end, child's end).
fn socketpair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: socketpair fills two descriptors we then own.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } < 0
    {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// Reads a 12-byte failure report, or None at EOF (execve succeeded).
pub fn read_failure(fd: &OwnedFd) -> Option<[u8; 12]> {
    let mut buf = [0u8; 12];
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: reading into the unfilled part of buf.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[got..].as_mut_ptr() as *mut c_void,
                buf.len() - got,
            )
        };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    (got == buf.len()).then_some(buf)
}

/// Turns a child's report into an error with docker's exit code.
pub fn start_error(plan: &ContainerPlan, report: [u8; 12]) -> RuntimeError {
    let (step, idx, errno) = child::decode(&report);
    let os = std::io::Error::from_raw_os_error(errno);
    let what = match step {
        Some(Step::RootStep) => plan
            .steps
            .get(idx as usize)
            .map(|s| s.describe())
            .unwrap_or_else(|| "preparing the rootfs".into()),
        Some(Step::Mask) => format!("masking {:?}", plan.masked.get(idx as usize)),
        Some(Step::Readonly) => format!("making {:?} read-only", plan.readonly.get(idx as usize)),
        Some(Step::Sysctl) => match plan.sysctls.get(idx as usize) {
            Some(w) => format!("setting sysctl {} to {:?}", w.key, w.value),
            None => "opening the container's /proc/sys".into(),
        },
        Some(Step::OomScoreAdj) => format!(
            "setting its OOM score adjustment to {} (lowering it needs CAP_SYS_RESOURCE)",
            plan.oom_score_adj
                .as_deref()
                .unwrap_or_default()
                .to_string_lossy()
        ),
        Some(Step::JoinCgroup) => "joining the container's cgroup".into(),
        Some(Step::Console) => "making the terminal in the container's /dev/pts".into(),
        Some(Step::ParentDeath) => "tying the container to its monitor (PR_SET_PDEATHSIG)".into(),
        Some(Step::Emulation) => match idx {
            0 => "entering a user namespace for the emulator".into(),
            1 => "waiting for its user namespace's maps".into(),
            2 => "mounting binfmt_misc in its user namespace (needs Linux 6.7 or later)".into(),
            3 => "opening binfmt_misc's register file".into(),
            _ => "registering the qemu interpreter with binfmt_misc".into(),
        },
        Some(Step::Userns) => match idx {
            0 => "waiting for its user namespace's maps and rootfs".into(),
            1 => "becoming root of its user namespace".into(),
            _ => "attaching its idmapped rootfs".into(),
        },
        _ => return process_error(&plan.process, step, idx, errno),
    };
    RuntimeError::Start {
        message: format!("starting the container: {what}: {os}"),
        exit_code: 125,
    }
}

/// The error for a failure in the process steps (shared with exec).
pub fn process_error(
    p: &super::plan::ProcessPlan,
    step: Option<Step>,
    idx: u32,
    errno: i32,
) -> RuntimeError {
    let os = std::io::Error::from_raw_os_error(errno);
    let cmd = p
        .argv
        .first()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    match step {
        Some(Step::Exec) if errno == libc::ENOENT => RuntimeError::Start {
            message: format!("exec: {cmd:?}: executable file not found in $PATH"),
            exit_code: 127,
        },
        Some(Step::Exec) => RuntimeError::Start {
            message: format!("exec: {cmd:?}: {os}"),
            exit_code: 126,
        },
        Some(Step::Chdir) => RuntimeError::Start {
            message: format!("cannot change to the working directory {:?}: {os}", p.cwd),
            exit_code: 126,
        },
        other => RuntimeError::Start {
            message: format!("starting the process: step {other:?} (item {idx}): {os}"),
            exit_code: 125,
        },
    }
}

fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, libc::__WALL) } < 0 {
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
}

/// Waits for `pid` and returns docker's exit code (128+N for signal N).
pub fn wait_exit_code(pid: i32) -> std::io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r >= 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
    Ok(exit_code_of_status(status))
}

pub fn exit_code_of_status(status: c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        125
    }
}
