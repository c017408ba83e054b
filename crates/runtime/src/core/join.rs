//! `exec`: start a process inside a running container. A cloned child joins the
//! container's cgroups (writing "0" to pre-opened `tasks` files on v1,
//! `cgroup.procs` on v2: see Cgroup::join_files), enters
//! each of its namespaces with setns, then forks once more with CLONE_PARENT so
//! the new process is really inside the PID namespace and is our own child.
//! The same fork-safety rules as container creation apply (see child.rs).

use libc::{c_int, c_void};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};

use super::child::{self, Step};
use super::plan::ProcessPlan;
use super::spawn::{pipe, process_error, read_failure, wait_exit_code};
use super::sys;
use crate::error::{IoContext, Result, RuntimeError};

/// What the exec child needs: namespace and cgroup descriptors opened here.
pub struct JoinPlan {
    pub namespaces: Vec<(File, c_int)>,
    pub cgroup_procs: Vec<File>,
    pub process: ProcessPlan,
}

/// Namespaces to enter, in order: the user namespace first (it owns the
/// others, and entering it gives the capabilities to enter them), mount
/// last (it changes how paths resolve).
const NAMESPACES: [(&str, c_int); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("mnt", libc::CLONE_NEWNS),
];

impl JoinPlan {
    /// Opens the namespaces of `pid` that differ from ours; `cgroup_procs`
    /// are the cgroup files to write "0" to (Cgroup::open_join_files).
    pub fn new(pid: i32, cgroup_procs: Vec<File>, process: ProcessPlan) -> Result<JoinPlan> {
        let mut namespaces = Vec::new();
        for (name, flag) in NAMESPACES {
            let theirs = format!("/proc/{pid}/ns/{name}");
            let ours = format!("/proc/self/ns/{name}");
            let same = match (std::fs::read_link(&theirs), std::fs::read_link(&ours)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if same {
                continue;
            }
            let f = File::open(&theirs).ctx(|| format!("opening {theirs}"))?;
            namespaces.push((f, flag));
        }
        user_namespace_in_order(&mut namespaces);
        Ok(JoinPlan {
            namespaces,
            cgroup_procs,
            process,
        })
    }
}

/// A foreign platform's container (emulation.rs) makes its user namespace
/// last: its other namespaces, made by host root, belong to the host's and
/// are entered first, its own user namespace then just before the mount
/// namespace it owns (entered first it would leave no right to join them).
fn user_namespace_in_order(namespaces: &mut Vec<(File, c_int)>) {
    let Some(u) = namespaces
        .iter()
        .position(|(_, f)| *f == libc::CLONE_NEWUSER)
    else {
        return;
    };
    let owned_by_user = |f: &File| owner_ino(f) == ino(&namespaces[u].0);
    let late = namespaces.iter().any(|(f, flag)| {
        *flag != libc::CLONE_NEWUSER && *flag != libc::CLONE_NEWNS && !owned_by_user(f)
    });
    if late {
        let user = namespaces.remove(u);
        let at = namespaces
            .iter()
            .position(|(_, f)| *f == libc::CLONE_NEWNS)
            .unwrap_or(namespaces.len());
        namespaces.insert(at, user);
    }
}

/// ioctl(NS_GET_USERNS): the user namespace owning a namespace.
const NS_GET_USERNS: libc::c_ulong = 0xb701;

fn ino(f: &File) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    f.metadata().ok().map(|m| m.ino())
}

fn owner_ino(f: &File) -> Option<u64> {
    // SAFETY: an ioctl on our namespace descriptor; it returns a new one.
    let fd = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_USERNS as _) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let owner = File::from(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    ino(&owner)
}

struct JoinArgs<'a> {
    plan: &'a JoinPlan,
    err_fd: c_int,
    pid_fd: c_int,
}

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: the JoinArgs passed by `spawn_in`, copied into the child.
    let args = unsafe { &*(arg as *const JoinArgs) };
    join_main(args)
}

fn join_main(args: &JoinArgs) -> ! {
    let e = args.err_fd;
    let plan = args.plan;
    for (i, f) in plan.cgroup_procs.iter().enumerate() {
        if let Err(errno) = sys::write_all(f.as_raw_fd(), b"0") {
            child::die(e, (Step::JoinCgroup, i as u32, errno));
        }
    }
    for (i, (f, flag)) in plan.namespaces.iter().enumerate() {
        // SAFETY: setns on a namespace descriptor.
        if unsafe { libc::setns(f.as_raw_fd(), *flag) } < 0 {
            child::die(e, (Step::Setns, i as u32, sys::errno()));
        }
    }
    // SAFETY: a raw fork (no atfork handlers, no malloc locks); the new
    // process becomes our parent's child and is inside the PID namespace.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        child::die(e, (Step::Fork, 0, sys::errno()));
    }
    if pid > 0 {
        let _ = sys::write_all(args.pid_fd, &(pid as i32).to_ne_bytes());
        // SAFETY: ends the intermediate process.
        unsafe { libc::_exit(0) }
    }
    let fail = child::exec_process(&plan.process, e);
    child::die(e, fail)
}

/// Starts the process; returns its PID (a child of this process).
pub fn spawn_in(plan: &JoinPlan) -> Result<i32> {
    let (err_r, err_w) = pipe().map_err(|e| RuntimeError::io("creating a pipe", e))?;
    let (pid_r, pid_w) = pipe().map_err(|e| RuntimeError::io("creating a pipe", e))?;
    let args = JoinArgs {
        plan,
        err_fd: err_w.as_raw_fd(),
        pid_fd: pid_w.as_raw_fd(),
    };
    let mut stack = vec![0u8; 256 * 1024];
    // SAFETY: as in spawn.rs — an aligned stack inside `stack`, no CLONE_VM.
    let inter = unsafe {
        let top = stack.as_mut_ptr().add(stack.len());
        let top = (top as usize & !15) as *mut c_void;
        libc::clone(
            trampoline,
            top,
            libc::SIGCHLD,
            &args as *const JoinArgs as *mut c_void,
        )
    };
    if inter < 0 {
        return Err(RuntimeError::io(
            "clone for exec",
            std::io::Error::last_os_error(),
        ));
    }
    drop(stack);
    drop(err_w);
    drop(pid_w);
    let _ = wait_exit_code(inter);
    let pid = read_pid(&pid_r);
    match read_failure(&err_r) {
        None => pid.ok_or_else(|| RuntimeError::Start {
            message: "exec: the helper process ended without starting the command".into(),
            exit_code: 126,
        }),
        Some(report) => {
            if let Some(pid) = pid {
                let _ = wait_exit_code(pid);
            }
            let (step, idx, errno) = child::decode(&report);
            Err(match step {
                Some(Step::Setns) | Some(Step::JoinCgroup) | Some(Step::Fork) => {
                    RuntimeError::Start {
                        message: format!(
                            "exec: joining the container ({step:?} {idx}): {}",
                            std::io::Error::from_raw_os_error(errno)
                        ),
                        exit_code: 126,
                    }
                }
                _ => process_error(&plan.process, step, idx, errno),
            })
        }
    }
}

fn read_pid(fd: &OwnedFd) -> Option<i32> {
    let mut buf = [0u8; 4];
    // SAFETY: reading 4 bytes into a stack buffer.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr() as *mut c_void, 4) };
    (n == 4).then(|| i32::from_ne_bytes(buf))
}
