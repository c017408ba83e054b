//! The container child: runs between clone and execve, in a copy of the
//! parent's memory that may hold locks other threads took. So it only reads the
//! prepared plan and makes raw system calls — no allocation, no formatting, no
//! Rust std I/O. Any failure is written as (step, index, errno) to the error
//! pipe and the child exits.

use libc::{c_int, c_ulong, c_void};
use std::ptr::null;

use super::plan::{ContainerPlan, InRootPath, MountStep, ProcessPlan, RootStep, TargetKind};
use super::sys;

/// Failure points, reported to the parent as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    CgroupNs = 1,
    Propagation,
    Rootfs,
    OpenRoot,
    RootStep,
    Loopback,
    Hostname,
    PivotRoot,
    Mask,
    Readonly,
    ReadonlyRoot,
    Rlimit,
    Terminal,
    Stdio,
    DropBounding,
    KeepCaps,
    SetIds,
    Capset,
    Ambient,
    NoNewPrivs,
    Chdir,
    Exec,
    Setns,
    JoinCgroup,
    Fork,
    Console,
    ParentDeath,
    Seccomp,
    Userns,
    Emulation,
    Sysctl,
    OomScoreAdj,
}

impl Step {
    pub fn from_u32(n: u32) -> Option<Step> {
        use Step::*;
        const ALL: [Step; 32] = [
            CgroupNs,
            Propagation,
            Rootfs,
            OpenRoot,
            RootStep,
            Loopback,
            Hostname,
            PivotRoot,
            Mask,
            Readonly,
            ReadonlyRoot,
            Rlimit,
            Terminal,
            Stdio,
            DropBounding,
            KeepCaps,
            SetIds,
            Capset,
            Ambient,
            NoNewPrivs,
            Chdir,
            Exec,
            Setns,
            JoinCgroup,
            Fork,
            Console,
            ParentDeath,
            Seccomp,
            Userns,
            Emulation,
            Sysctl,
            OomScoreAdj,
        ];
        ALL.iter().copied().find(|s| *s as u32 == n)
    }
}

/// A failure in the child: which step, which item of it, the errno.
pub type Fail = (Step, u32, i32);

/// Reports a failure on `errfd` and ends the child.
pub fn die(errfd: c_int, fail: Fail) -> ! {
    let mut buf = [0u8; 12];
    buf[..4].copy_from_slice(&(fail.0 as u32).to_ne_bytes());
    buf[4..8].copy_from_slice(&fail.1.to_ne_bytes());
    buf[8..].copy_from_slice(&fail.2.to_ne_bytes());
    let _ = sys::write_all(errfd, &buf);
    // SAFETY: _exit ends the process without running anything else.
    unsafe { libc::_exit(125) }
}

/// Decodes a report written by `die`.
pub fn decode(buf: &[u8; 12]) -> (Option<Step>, u32, i32) {
    let step = u32::from_ne_bytes(buf[..4].try_into().unwrap());
    let idx = u32::from_ne_bytes(buf[4..8].try_into().unwrap());
    let errno = i32::from_ne_bytes(buf[8..].try_into().unwrap());
    (Step::from_u32(step), idx, errno)
}

fn err(step: Step, idx: usize) -> impl Fn(i32) -> Fail {
    move |e| (step, idx as u32, e)
}

/// The arguments the clone callback receives.
pub struct ChildArgs<'a> {
    pub plan: &'a ContainerPlan,
    pub err_fd: c_int,
    /// The parent's end of the error pipe, which the child closes at once:
    /// then the parent's copy is the only reader left, and a parent that has
    /// died shows as POLLERR on `err_fd` (see `exec_process`).
    pub err_read_fd: c_int,
    /// In a user namespace of its own: the child's end of the socket the
    /// parent sends the rootfs on once the maps are written (idmap.rs);
    /// -1 otherwise. `sync_parent_fd` is the parent's end, closed at once.
    pub sync_fd: c_int,
    pub sync_parent_fd: c_int,
    /// With an emulator: the child's end of the socket on which it asks the
    /// parent for its maps (emulation.rs), and the parent's end, closed at
    /// once; -1 otherwise.
    pub emu_fd: c_int,
    pub emu_parent_fd: c_int,
}

/// Entry point of the cloned child. Never returns.
pub fn container_main(args: &ChildArgs) -> ! {
    let e = args.err_fd;
    // SAFETY: closing our copy of a descriptor only the parent reads.
    unsafe {
        libc::close(args.err_read_fd);
        if args.sync_parent_fd >= 0 {
            libc::close(args.sync_parent_fd);
        }
        if args.emu_parent_fd >= 0 {
            libc::close(args.emu_parent_fd);
        }
    }
    if let Err(f) = setup_container(args) {
        die(e, f)
    }
    let f = run_process(&args.plan.process, e, args.plan.init.as_ref());
    die(e, f)
}

fn setup_container(args: &ChildArgs) -> Result<(), Fail> {
    let plan = args.plan;
    // Into the cgroup before anything else, so every later step (and the
    // process) is limited and accounted. We are a single thread here, so
    // writing "0" moves the whole process (see Cgroup::join_files).
    for (i, f) in plan.cgroup_join.iter().enumerate() {
        sys::write_all(std::os::fd::AsRawFd::as_raw_fd(f), b"0")
            .map_err(err(Step::JoinCgroup, i))?;
    }
    // SAFETY: raw syscalls on prepared NUL-terminated strings follow.
    unsafe {
        // In a user namespace of its own: wait until the parent has written
        // the maps and sent the idmapped rootfs and the bind sources; open
        // the rootfs directory while still the host's uid 0 (its owner,
        // whatever its mode); then become the namespace's root, so what the
        // setup creates belongs to the mapped root.
        let mut received = super::idmap::Received {
            fds: [-1; super::idmap::MAX_BINDS + 1],
            count: 0,
        };
        let mut rootfs_dir = -1;
        if args.sync_fd >= 0 {
            super::idmap::receive_fds(args.sync_fd, &mut received).map_err(err(Step::Userns, 0))?;
            libc::close(args.sync_fd);
            rootfs_dir = sys::check(libc::open(
                plan.rootfs.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            ) as _)
            .map_err(err(Step::OpenRoot, 0))? as c_int;
            sys::set_ids(0, 0, &[]).map_err(|(_, e)| (Step::Userns, 1, e))?;
        }
        for (i, (fd, flag)) in plan.join_namespaces.iter().enumerate() {
            sys::check(libc::setns(std::os::fd::AsRawFd::as_raw_fd(fd), *flag) as _)
                .map_err(err(Step::Setns, i))?;
        }
        if plan.cgroup_ns {
            sys::check(libc::unshare(libc::CLONE_NEWCGROUP) as _)
                .map_err(err(Step::CgroupNs, 0))?;
        }
        libc::umask(0);
        sys::mount(
            null(),
            c"/".as_ptr(),
            null(),
            libc::MS_REC | libc::MS_PRIVATE,
            null(),
        )
        .map_err(err(Step::Propagation, 0))?;
        let root = if rootfs_dir >= 0 {
            // The rootfs mount onto its directory; its descriptor is the root.
            let mount = received.fds[0];
            super::idmap::attach(mount, rootfs_dir).map_err(err(Step::Userns, 2))?;
            libc::close(rootfs_dir);
            mount
        } else {
            match &plan.overlay {
                Some(opts) => sys::mount(
                    c"overlay".as_ptr(),
                    plan.rootfs.as_ptr(),
                    c"overlay".as_ptr(),
                    0,
                    opts.as_ptr() as *const c_void,
                ),
                None => sys::mount(
                    plan.rootfs.as_ptr(),
                    plan.rootfs.as_ptr(),
                    null(),
                    libc::MS_BIND | libc::MS_REC,
                    null(),
                ),
            }
            .map_err(err(Step::Rootfs, 0))?;
            sys::check(libc::open(
                plan.rootfs.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            ) as _)
            .map_err(err(Step::OpenRoot, 0))? as c_int
        };
        // The host binds' descriptors, in step order (after the rootfs's).
        let mut binds = received.fds[1..received.count.max(1)].iter();
        for (i, step) in plan.steps.iter().enumerate() {
            let from = if rootfs_dir >= 0 && super::idmap::is_host_bind(step) {
                *binds
                    .next()
                    .ok_or((Step::RootStep, i as u32, libc::EBADF))?
            } else {
                -1
            };
            root_step(root, step, from).map_err(err(Step::RootStep, i))?;
            if from >= 0 {
                libc::close(from);
            }
        }
        if plan.loopback_up {
            loopback_up().map_err(err(Step::Loopback, 0))?;
        }
        if let Some(h) = &plan.hostname {
            sys::check(libc::sethostname(h.as_ptr(), h.as_bytes().len()) as _)
                .map_err(err(Step::Hostname, 0))?;
        }
        // pivot_root(".", ".") stacks the old root on the new one; detach it.
        sys::check(libc::fchdir(root) as _).map_err(err(Step::PivotRoot, 0))?;
        libc::close(root);
        sys::pivot_root(c".".as_ptr(), c".".as_ptr()).map_err(err(Step::PivotRoot, 1))?;
        sys::check(libc::umount2(c".".as_ptr(), libc::MNT_DETACH) as _)
            .map_err(err(Step::PivotRoot, 2))?;
        sys::check(libc::chdir(c"/".as_ptr()) as _).map_err(err(Step::PivotRoot, 3))?;
        // The container's own /proc is `/proc` now; /proc/sys is still
        // writable (the read-only paths come next).
        super::sysctl::write_in_child(&plan.sysctls).map_err(|(i, e)| (Step::Sysctl, i, e))?;
        if let Some(adj) = &plan.oom_score_adj {
            write_oom_score_adj(adj).map_err(err(Step::OomScoreAdj, 0))?;
        }
        for (i, p) in plan.masked.iter().enumerate() {
            mask_path(p.as_ptr()).map_err(err(Step::Mask, i))?;
        }
        for (i, p) in plan.readonly.iter().enumerate() {
            readonly_path(p.as_ptr()).map_err(err(Step::Readonly, i))?;
        }
        if let Some(sock) = &plan.console_socket {
            let sock = std::os::fd::AsRawFd::as_raw_fd(sock);
            super::console::make_console(sock, &plan.process.stdio, plan.console_size.as_ref())
                .map_err(err(Step::Console, 0))?;
        }
        if plan.readonly_root {
            sys::mount(
                null(),
                c"/".as_ptr(),
                null(),
                libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                null(),
            )
            .map_err(err(Step::ReadonlyRoot, 0))?;
        }
        if let Some(em) = &plan.emulator {
            enter_emulation(em, args.emu_fd)?;
        }
        libc::umask(0o022);
    }
    Ok(())
}

/// The last step of a container of a foreign platform: a user namespace
/// (and mount namespace) of its own, its identity maps written by the
/// parent, then a binfmt_misc instance of that namespace on
/// /proc/sys/fs/binfmt_misc with qemu registered. Every mount before was
/// made as host root and is locked now; nothing here reaches the host's
/// binfmt_misc.
///
/// # Safety
/// Raw syscalls only; safe in the cloned child.
unsafe fn enter_emulation(em: &super::plan::EmulatorPlan, sock: c_int) -> Result<(), Fail> {
    sys::check(libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) as _)
        .map_err(err(Step::Emulation, 0))?;
    // Ask for the maps, then wait until they are written.
    sys::write_all(sock, b"m").map_err(err(Step::Emulation, 1))?;
    let mut byte = 0u8;
    let n = loop {
        let n = libc::read(sock, &mut byte as *mut u8 as *mut c_void, 1);
        if n < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        break n;
    };
    if n != 1 {
        return Err((Step::Emulation, 1, libc::ECONNRESET));
    }
    libc::close(sock);
    let dir = c"/proc/sys/fs/binfmt_misc";
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    sys::mount(
        c"binfmt_misc".as_ptr(),
        dir.as_ptr(),
        c"binfmt_misc".as_ptr(),
        flags,
        null(),
    )
    .map_err(err(Step::Emulation, 2))?;
    let reg = sys::check(libc::open(
        c"/proc/sys/fs/binfmt_misc/register".as_ptr(),
        libc::O_WRONLY | libc::O_CLOEXEC,
    ) as _)
    .map_err(err(Step::Emulation, 3))? as c_int;
    // One write: binfmt_misc parses each write as a whole registration.
    let line = em.register.as_bytes();
    let r = libc::write(reg, line.as_ptr() as *const c_void, line.len());
    let e = sys::errno();
    libc::close(reg);
    if r != line.len() as isize {
        return Err((Step::Emulation, 4, if r < 0 { e } else { libc::EIO }));
    }
    Ok(())
}

/// Opens `path` inside `root` (symlinks resolved as if `root` were `/`),
/// creating missing directories (and the last component as `kind`).
unsafe fn open_in_root(root: c_int, path: &InRootPath, kind: TargetKind) -> Result<c_int, i32> {
    let resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    let count = path.prefixes.len();
    let mut parent = libc::dup(root);
    if parent < 0 {
        return Err(sys::errno());
    }
    for i in 0..count {
        let last = i + 1 == count;
        let flags = libc::O_PATH | libc::O_CLOEXEC;
        let mut r = sys::openat2(root, path.prefixes[i].as_ptr(), flags, 0, resolve);
        if r == Err(libc::ENOENT) {
            let made = if last && kind == TargetKind::File {
                let fd = libc::openat(
                    parent,
                    path.names[i].as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_CLOEXEC
                        | libc::O_NOFOLLOW,
                    0o644,
                );
                if fd >= 0 {
                    libc::close(fd);
                }
                fd
            } else {
                libc::mkdirat(parent, path.names[i].as_ptr(), 0o755)
            };
            if made < 0 && sys::errno() != libc::EEXIST {
                let e = sys::errno();
                libc::close(parent);
                return Err(e);
            }
            r = sys::openat2(root, path.prefixes[i].as_ptr(), flags, 0, resolve);
        }
        libc::close(parent);
        parent = r?;
    }
    Ok(parent)
}

/// Opens the parent directory of `path` inside `root` (creating it).
unsafe fn open_parent_in_root(root: c_int, path: &InRootPath) -> Result<c_int, i32> {
    let n = path.prefixes.len().saturating_sub(1);
    open_prefixes(root, &path.prefixes[..n], &path.names[..n])
}

unsafe fn open_prefixes(
    root: c_int,
    prefixes: &[std::ffi::CString],
    names: &[std::ffi::CString],
) -> Result<c_int, i32> {
    let resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    let mut parent = libc::dup(root);
    if parent < 0 {
        return Err(sys::errno());
    }
    for i in 0..prefixes.len() {
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let mut r = sys::openat2(root, prefixes[i].as_ptr(), flags, 0, resolve);
        if r == Err(libc::ENOENT) {
            if libc::mkdirat(parent, names[i].as_ptr(), 0o755) < 0 && sys::errno() != libc::EEXIST {
                let e = sys::errno();
                libc::close(parent);
                return Err(e);
            }
            r = sys::openat2(root, prefixes[i].as_ptr(), flags, 0, resolve);
        }
        libc::close(parent);
        parent = r?;
    }
    Ok(parent)
}

/// `from`: the detached mount to attach instead of mounting `source`
/// (a host bind in a container with its own user namespace), or -1.
unsafe fn root_step(root: c_int, step: &RootStep, from: c_int) -> Result<(), i32> {
    match step {
        RootStep::Mount(m) => mount_step(root, m, from),
        RootStep::Mkdir(p) => {
            let fd = open_in_root(root, p, TargetKind::Dir)?;
            libc::close(fd);
            Ok(())
        }
        RootStep::Device { path, mode, dev } => {
            let Some(name) = path.names.last() else {
                return Err(libc::EINVAL);
            };
            let parent = open_parent_in_root(root, path)?;
            let r = libc::mknodat(parent, name.as_ptr(), *mode, *dev);
            let e = sys::errno();
            libc::close(parent);
            if r < 0 && e != libc::EEXIST {
                return Err(e);
            }
            Ok(())
        }
        RootStep::Symlink { target, link } => {
            let Some(name) = link.names.last() else {
                return Err(libc::EINVAL);
            };
            let parent = open_parent_in_root(root, link)?;
            let r = libc::symlinkat(target.as_ptr(), parent, name.as_ptr());
            let e = sys::errno();
            libc::close(parent);
            if r < 0 && e != libc::EEXIST {
                return Err(e);
            }
            Ok(())
        }
        RootStep::RemountReadonly { path, flags } => {
            let fd = open_in_root(root, path, TargetKind::Dir)?;
            let mut buf = [0u8; 32];
            let target = sys::proc_fd_path(fd, &mut buf);
            let r = sys::mount(
                null(),
                target,
                null(),
                libc::MS_REMOUNT | libc::MS_RDONLY | flags,
                null(),
            );
            libc::close(fd);
            r
        }
    }
}

unsafe fn mount_step(root: c_int, m: &MountStep, from: c_int) -> Result<(), i32> {
    let fd = open_in_root(root, &m.target, m.kind)?;
    let r = if from >= 0 {
        super::idmap::attach(from, fd)
    } else {
        let mut buf = [0u8; 32];
        let target = sys::proc_fd_path(fd, &mut buf);
        let src = m.source.as_ref().map_or(null(), |s| s.as_ptr());
        let fstype = m.fstype.as_ref().map_or(null(), |s| s.as_ptr());
        let data = m
            .data
            .as_ref()
            .map_or(null(), |s| s.as_ptr() as *const c_void);
        sys::mount(src, target, fstype, m.flags, data)
    };
    libc::close(fd);
    r?;
    if let Some(flags) = m.remount_flags {
        // The old descriptor names the directory under the new mount: open
        // the target again to reach the mount itself.
        let fd = open_in_root(root, &m.target, m.kind)?;
        let mut buf = [0u8; 32];
        let target = sys::proc_fd_path(fd, &mut buf);
        let r = sys::mount(null(), target, null(), flags, null());
        libc::close(fd);
        r?;
    }
    Ok(())
}

/// `--oom-score-adj`: the container's processes inherit it from here.
unsafe fn write_oom_score_adj(value: &std::ffi::CStr) -> Result<(), i32> {
    let fd = sys::check(libc::open(
        c"/proc/self/oom_score_adj".as_ptr(),
        libc::O_WRONLY | libc::O_CLOEXEC,
    ) as _)? as c_int;
    let r = sys::write_all(fd, value.to_bytes());
    libc::close(fd);
    r
}

/// Hides a path: /dev/null over a file, an empty read-only tmpfs over a directory.
unsafe fn mask_path(p: *const libc::c_char) -> Result<(), i32> {
    match sys::mount(c"/dev/null".as_ptr(), p, null(), libc::MS_BIND, null()) {
        Ok(()) | Err(libc::ENOENT) => Ok(()),
        Err(libc::ENOTDIR) => sys::mount(
            c"tmpfs".as_ptr(),
            p,
            c"tmpfs".as_ptr(),
            libc::MS_RDONLY,
            null(),
        ),
        Err(e) => Err(e),
    }
}

/// Makes a path read-only with a bind mount onto itself plus a remount.
unsafe fn readonly_path(p: *const libc::c_char) -> Result<(), i32> {
    match sys::mount(p, p, null(), libc::MS_BIND | libc::MS_REC, null()) {
        Err(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let flags: c_ulong =
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC | libc::MS_NOSUID;
    match sys::mount(p, p, null(), flags, null()) {
        // /proc/sys and friends refuse nosuid changes on some kernels; retry plain.
        Err(libc::EPERM) => sys::mount(
            p,
            p,
            null(),
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC,
            null(),
        ),
        r => r,
    }
}

/// Brings `lo` up in a fresh network namespace.
///
/// # Safety
/// Raw syscalls only; safe to call in a forked child.
pub unsafe fn loopback_up() -> Result<(), i32> {
    let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if s < 0 {
        return Err(sys::errno());
    }
    let mut req: libc::ifreq = std::mem::zeroed();
    req.ifr_name[0] = b'l' as libc::c_char;
    req.ifr_name[1] = b'o' as libc::c_char;
    req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as i16;
    let r = libc::ioctl(s, libc::SIOCSIFFLAGS, &req);
    let e = sys::errno();
    libc::close(s);
    if r < 0 {
        Err(e)
    } else {
        Ok(())
    }
}

/// Final steps shared with `exec`: limits, terminal, stdio, credentials,
/// capabilities, the parent-death signal, cwd, then execve. Returns only on
/// failure. `err_fd` is the write end of the error pipe whose only reader is
/// the parent (used only with a parent-death signal).
pub fn exec_process(p: &ProcessPlan, err_fd: c_int) -> Fail {
    run_process(p, err_fd, None)
}

/// `exec_process`, and with `init` (a container's `--init`) the last step
/// forks: PID 1 stays behind as the init (init.rs), the new process execs.
fn run_process(p: &ProcessPlan, err_fd: c_int, init: Option<&super::init::InitPlan>) -> Fail {
    // SAFETY: raw syscalls on prepared data.
    unsafe {
        for (i, (res, lim)) in p.rlimits.iter().enumerate() {
            if libc::setrlimit(*res as _, lim) < 0 {
                return (Step::Rlimit, i as u32, sys::errno());
            }
        }
        for (i, fd) in p.stdio.iter().enumerate() {
            if *fd != i as c_int && libc::dup3(*fd, i as c_int, 0) < 0 {
                return (Step::Stdio, i as u32, sys::errno());
            }
            // dup3 onto itself is refused; make sure the flag is clear instead.
            if *fd == i as c_int {
                libc::fcntl(*fd, libc::F_SETFD, 0);
            }
        }
        if p.tty {
            if libc::setsid() < 0 {
                return (Step::Terminal, 0, sys::errno());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return (Step::Terminal, 1, sys::errno());
            }
        }
        for cap in 0..=p.last_cap {
            if p.caps.bounding & (1u64 << cap) == 0
                && sys::prctl(libc::PR_CAPBSET_DROP, cap as c_ulong, 0).is_err()
            {
                let e = sys::errno();
                if e != libc::EINVAL {
                    return (Step::DropBounding, cap, e);
                }
            }
        }
        if let Err(e) = sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0) {
            return (Step::KeepCaps, 0, e);
        }
        if !p.no_new_privs {
            if let Some(prog) = &p.seccomp {
                if let Err(e) = load_seccomp(&prog.filter) {
                    return (Step::Seccomp, 0, e);
                }
            }
        }
        if let Err((i, e)) = sys::set_ids(p.uid, p.gid, &p.groups) {
            return (Step::SetIds, i, e);
        }
        if let Err(e) = sys::prctl(libc::PR_SET_KEEPCAPS, 0, 0) {
            return (Step::KeepCaps, 1, e);
        }
        if let Err(e) = sys::capset(p.caps.effective, p.caps.permitted, p.caps.inheritable) {
            return (Step::Capset, 0, e);
        }
        for cap in 0..=p.last_cap {
            if p.caps.ambient & (1u64 << cap) != 0 {
                if let Err(e) = sys::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as c_ulong,
                    cap as c_ulong,
                ) {
                    return (Step::Ambient, cap, e);
                }
            }
        }
        if p.no_new_privs {
            if let Err(e) = sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0) {
                return (Step::NoNewPrivs, 0, e);
            }
            if let Some(prog) = &p.seccomp {
                if let Err(e) = load_seccomp(&prog.filter) {
                    return (Step::Seccomp, 0, e);
                }
            }
        }
        if p.parent_death_signal != 0 {
            if let Err(f) = arm_parent_death(p.parent_death_signal, err_fd) {
                return f;
            }
        }
        if libc::chdir(p.cwd.as_ptr()) < 0 {
            return (Step::Chdir, 0, sys::errno());
        }
        if let Some(init) = init {
            if let Err(f) = super::init::fork_main(init, err_fd) {
                return f;
            }
        }
        reset_signals();
        sys::cloexec_from(3);
        // Like execvp: ENOENT moves on; EACCES is remembered and reported if
        // nothing else runs (126), else the last ENOENT (127).
        let mut first_error = libc::ENOENT;
        for cand in &p.exec_candidates {
            libc::execve(cand.as_ptr(), p.argv.as_ptr(), p.envp.as_ptr());
            let e = sys::errno();
            if e != libc::ENOENT && e != libc::ENOTDIR && first_error == libc::ENOENT {
                first_error = e;
            }
        }
        (Step::Exec, 0, first_error)
    }
}

/// Loads a compiled seccomp filter (prepared in the parent; no allocation).
/// The calls after it (credentials, capset, prctl, chdir, signals,
/// close_range, execve) must be allowed by the profile, as with runc.
unsafe fn load_seccomp(filter: &[libc::sock_filter]) -> Result<(), i32> {
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    sys::check(libc::syscall(
        libc::SYS_seccomp,
        libc::SECCOMP_SET_MODE_FILTER,
        0,
        &prog as *const libc::sock_fprog,
    ))
    .map(|_| ())
}

/// PR_SET_PDEATHSIG, after the credentials are final: the kernel clears it
/// when the euid, egid or fs ids change (set_ids above), and an execve
/// clears it when the new program changes the credentials (a set-uid or
/// file-capability binary run by another user; no_new_privs is off by
/// default, as in docker). Such a container outliving its monitor is caught
/// by the cgroup check instead: ps/inspect report it running and
/// unsupervised, and stop/rm -f kill its cgroup's processes. A parent
/// that died before the prctl sends no signal any more; it is seen here
/// instead: its end of the error pipe was the only reader, so the pipe
/// reports POLLERR, and the child ends itself rather than run unsupervised.
unsafe fn arm_parent_death(signal: c_int, err_fd: c_int) -> Result<(), Fail> {
    sys::prctl(libc::PR_SET_PDEATHSIG, signal as c_ulong, 0)
        .map_err(|e| (Step::ParentDeath, 0, e))?;
    let mut pfd = libc::pollfd {
        fd: err_fd,
        events: 0,
        revents: 0,
    };
    if libc::poll(&mut pfd, 1, 0) > 0 && pfd.revents & libc::POLLERR != 0 {
        libc::_exit(128 + signal);
    }
    Ok(())
}

/// Default dispositions and an empty mask: ignored signals survive execve, and
/// Rust ignores SIGPIPE in every process it starts.
unsafe fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
}
