//! A container in a user namespace of its own: the parent's half of the
//! start, between clone(CLONE_NEWUSER) and the child's first mount.
//!
//! The child waits on a socketpair while the parent (root in the host's user
//! namespace) writes its uid_map and gid_map, then builds the rootfs as a
//! detached overlay mount (fsopen/fsmount, never attached in the host's
//! mount namespace) whose lower layers are idmapped mounts of the shared
//! snapshots (open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP)
//! with the child's user namespace): a file the snapshot stores as uid 0
//! shows as the mapped host uid, i.e. as root inside. The overlay itself is
//! mounted by host root, so its trusted.overlay.* xattrs (whiteouts, opaque
//! directories) work as for any container; one mounted by the child inside
//! its user namespace could not read them. The mount's descriptor goes to the
//! child over the socketpair (SCM_RIGHTS); the child becomes root of its
//! namespace and moves it onto the rootfs directory (child.rs).
//!
//! A rootless hoist's nested namespace (`--userns=keep-id`) takes the same
//! path without idmapping: its layers are copies owned for the map
//! (crate::keepid), as overlayfs cannot be idmapped and the store's
//! filesystem only by real root.
//!
//! Nothing is copied or chowned per container but the upper directory's own
//! top, which becomes the mapped root's (the overlay's `/` takes its owner
//! from there). Needs overlayfs over idmapped layers (Linux 5.19) and the
//! store's filesystem to allow idmapped mounts (ext4, xfs, btrfs; tmpfs from
//! 6.3); elsewhere the start fails with the kernel's reason.

use libc::{c_int, c_uint, c_void};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::plan::{ContainerPlan, RootStep, UsernsPlan};
use crate::error::{Result, RuntimeError};

const OPEN_TREE_CLONE: c_uint = 1;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const FSOPEN_CLOEXEC: c_uint = 1;
const FSCONFIG_SET_FLAG: c_uint = 0;
const FSCONFIG_SET_STRING: c_uint = 1;
const FSCONFIG_SET_FD: c_uint = 5;
const FSCONFIG_CMD_CREATE: c_uint = 6;
const FSMOUNT_CLOEXEC: c_uint = 1;
/// move_mount(2)'s flags: the source, the target is the descriptor itself.
const MOVE_MOUNT_F_EMPTY_PATH: c_uint = 4;
const MOVE_MOUNT_T_EMPTY_PATH: c_uint = 0x40;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn fail(what: String, e: std::io::Error) -> RuntimeError {
    RuntimeError::Start {
        message: format!("starting the container in its user namespace: {what}: {e}"),
        exit_code: 125,
    }
}

fn last() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn c(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| RuntimeError::Invalid(format!("{s:?} contains a NUL byte")))
}

/// At most this many bind mounts (volumes, /etc files, device nodes) in a
/// container with a user namespace of its own: their descriptors travel in
/// one message, received into a fixed array (SCM_MAX_FD is 253).
pub const MAX_BINDS: usize = 128;

/// Whether `step` is a bind mount of a host path, which the parent opens for
/// a child in its own user namespace (`bind_sources`).
pub fn is_host_bind(step: &RootStep) -> bool {
    matches!(step, RootStep::Mount(m) if m.flags & libc::MS_BIND != 0 && m.source.is_some())
}

/// The parent's side for child `pid`: maps written, `after_maps(pid)`
/// run (the networks attached), then the rootfs (the
/// plan's overlay, every layer idmapped; without one the rootfs directory
/// itself, idmapped) and a detached copy of every bind mount's source sent
/// on `sock`, in the order of the plan's steps. Sources are opened here, by
/// host root: the child, root of its namespace only, may not even be
/// allowed to look them up (a store or volume under a 0700 directory), as
/// runc opens them for the same reason.
pub fn prepare_child(
    pid: i32,
    plan: &ContainerPlan,
    ns: &UsernsPlan,
    sock: &OwnedFd,
    after_maps: &mut dyn FnMut(i32) -> Result<()>,
) -> Result<()> {
    for (file, text) in [("uid_map", &ns.uid_map), ("gid_map", &ns.gid_map)] {
        let path = format!("/proc/{pid}/{file}");
        // One write(2) of the whole map, as the kernel requires.
        std::fs::write(&path, text.as_bytes())
            .map_err(|e| fail(format!("writing {path} ({})", text.trim()), e))?;
    }
    after_maps(pid)?;
    let userns = std::fs::File::open(format!("/proc/{pid}/ns/user"))
        .map_err(|e| fail("opening its user namespace".into(), e))?;
    let rootfs = plan.rootfs.to_string_lossy();
    // Rootless (keep-id), the layers are copies already owned for the map
    // (crate::keepid): nothing is idmapped, which only real root could do.
    let idmap = (!crate::rootless::active()).then(|| userns.as_raw_fd());
    let root = match (&plan.overlay, idmap) {
        (Some(opts), _) => detached_overlay(&opts.to_string_lossy(), idmap, ns)?,
        (None, Some(userns)) => idmapped_tree(&rootfs, userns)?,
        (None, None) => clone_tree(&rootfs, 0)?,
    };
    let mut fds = vec![root];
    for step in plan.steps.iter().filter(|s| is_host_bind(s)) {
        let RootStep::Mount(m) = step else { continue };
        let source = m
            .source
            .as_ref()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        let recursive = if m.flags & libc::MS_REC != 0 {
            libc::AT_RECURSIVE as c_uint
        } else {
            0
        };
        fds.push(clone_tree(&source, recursive)?);
    }
    if fds.len() > MAX_BINDS + 1 {
        return Err(RuntimeError::Invalid(format!(
            "a container in its own user namespace takes at most {MAX_BINDS} bind mounts"
        )));
    }
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    send_fds(sock, &raw).map_err(|e| fail("handing over the rootfs and mounts".into(), e))
}

/// A detached copy of the mount tree at `path` (open_tree(OPEN_TREE_CLONE)).
fn clone_tree(path: &str, extra_flags: c_uint) -> Result<OwnedFd> {
    let cpath = c(path)?;
    // SAFETY: open_tree on a NUL-terminated path; we own the result.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            cpath.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as c_uint | extra_flags,
        )
    };
    if fd < 0 {
        return Err(fail(format!("cloning the mount of {path}"), last()));
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as c_int) })
}

/// A detached, idmapped copy of the mount at `path`.
fn idmapped_tree(path: &str, userns: RawFd) -> Result<OwnedFd> {
    let fd = clone_tree(path, 0)?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns as u64,
    };
    // SAFETY: mount_setattr on our detached mount with a valid attr struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(fail(
            format!("idmapping {path} (the kernel and its filesystem must allow idmapped mounts)"),
            last(),
        ));
    }
    Ok(fd)
}

/// The overlay of `opts` (`lowerdir=A:B,upperdir=U,workdir=W[,volatile]`)
/// with every lower layer idmapped with `userns` (None: as they are), as a
/// detached mount.
fn detached_overlay(opts: &str, userns: Option<RawFd>, ns: &UsernsPlan) -> Result<OwnedFd> {
    // SAFETY: fsopen with a constant name; we own the result.
    let fs = unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) };
    if fs < 0 {
        return Err(fail("opening an overlay filesystem context".into(), last()));
    }
    // SAFETY: a fresh descriptor.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as c_int) };
    let config = |cmd: c_uint, key: Option<&CString>, value: *const c_void, aux: c_int| {
        // SAFETY: fsconfig on our context with NUL-terminated strings.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                cmd,
                key.map_or(std::ptr::null(), |k| k.as_ptr()),
                value,
                aux,
            )
        };
        if r < 0 {
            Err(last())
        } else {
            Ok(())
        }
    };
    let mut layers = Vec::new();
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt, None),
        };
        match (key, value) {
            ("lowerdir", Some(dirs)) if userns.is_none() => {
                let v = c(dirs)?;
                config(
                    FSCONFIG_SET_STRING,
                    Some(&c("lowerdir")?),
                    v.as_ptr() as *const c_void,
                    0,
                )
                .map_err(|e| fail(format!("adding the layers {dirs} to the overlay"), e))?;
            }
            ("lowerdir", Some(dirs)) => {
                let userns = userns.unwrap_or_default();
                let plus = c("lowerdir+")?;
                let mut by_fd = true;
                for dir in dirs.split(':') {
                    let layer = idmapped_tree(dir, userns)?;
                    // `lowerdir+` by descriptor (Linux 6.13); else below.
                    by_fd = by_fd
                        && config(
                            FSCONFIG_SET_FD,
                            Some(&plus),
                            std::ptr::null(),
                            layer.as_raw_fd(),
                        )
                        .is_ok();
                    layers.push((dir, layer));
                }
                if !by_fd {
                    // The classic option over the layers' /proc paths (the
                    // layers added by descriptor, if any, are replaced).
                    let paths: Vec<String> = layers
                        .iter()
                        .map(|(_, l)| format!("/proc/self/fd/{}", l.as_raw_fd()))
                        .collect();
                    let v = c(&paths.join(":"))?;
                    config(
                        FSCONFIG_SET_STRING,
                        Some(&c("lowerdir")?),
                        v.as_ptr() as *const c_void,
                        0,
                    )
                    .map_err(|e| fail(format!("adding the layers {dirs} to the overlay"), e))?;
                }
            }
            (key, Some(value)) => {
                if key == "upperdir" {
                    own_top(value, ns)?;
                }
                let v = c(value)?;
                config(
                    FSCONFIG_SET_STRING,
                    Some(&c(key)?),
                    v.as_ptr() as *const c_void,
                    0,
                )
                .map_err(|e| fail(format!("overlay option {key}={value}"), e))?;
            }
            (flag, None) => config(FSCONFIG_SET_FLAG, Some(&c(flag)?), std::ptr::null(), 0)
                .map_err(|e| fail(format!("overlay option {flag}"), e))?,
        }
    }
    config(FSCONFIG_CMD_CREATE, None, std::ptr::null(), 0).map_err(|e| {
        let what = if userns.is_some() {
            "mounting the overlay on idmapped layers (needs Linux 5.19 or later)"
        } else {
            "mounting the overlay"
        };
        fail(what.into(), e)
    })?;
    // SAFETY: fsmount on a created context; we own the result.
    let m = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
    if m < 0 {
        return Err(fail("mounting the overlay".into(), last()));
    }
    // The overlay holds the layers now; their descriptors may go.
    drop(layers);
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(m as c_int) })
}

/// The upper directory's top belongs to the mapped root: the overlay's `/`
/// shows its owner. What the container writes below it is stored with the
/// mapped ids, so the same mapping must be used at every start (it is: the
/// mapping is in the record).
fn own_top(upper: &str, ns: &UsernsPlan) -> Result<()> {
    std::os::unix::fs::chown(upper, Some(ns.root_uid), Some(ns.root_gid))
        .map_err(|e| fail(format!("giving {upper} to the container's root"), e))
}

/// Sends `fds` with one byte over a unix socket, in one message.
fn send_fds(sock: &OwnedFd, fds: &[RawFd]) -> std::io::Result<()> {
    let mut byte = 1u8;
    let mut iov = libc::iovec {
        iov_base: &mut byte as *mut u8 as *mut c_void,
        iov_len: 1,
    };
    let data_len = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE is arithmetic.
    let mut space = vec![0u64; unsafe { libc::CMSG_SPACE(data_len) } as usize / 8 + 1];
    // SAFETY: a msghdr over our buffers; CMSG macros stay inside `space`.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = space.as_mut_ptr() as *mut c_void;
        msg.msg_controllen = libc::CMSG_SPACE(data_len) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(data_len) as usize;
        std::ptr::copy_nonoverlapping(
            fds.as_ptr() as *const u8,
            libc::CMSG_DATA(cmsg),
            data_len as usize,
        );
        if libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) < 0 {
            return Err(last());
        }
    }
    Ok(())
}

/// The descriptors a child in its own user namespace received: the
/// rootfs's mount, then one per host bind mount in step order.
pub struct Received {
    pub fds: [c_int; MAX_BINDS + 1],
    pub count: usize,
}

/// The child's side: waits for the parent's descriptors. No allocation.
/// Err(ECONNRESET) when the parent closed the socket without sending them.
///
/// # Safety
/// Raw syscalls only; safe in the cloned child.
pub unsafe fn receive_fds(sock: c_int, out: &mut Received) -> std::result::Result<(), i32> {
    let mut byte = 0u8;
    let mut iov = libc::iovec {
        iov_base: &mut byte as *mut u8 as *mut c_void,
        iov_len: 1,
    };
    // CMSG_SPACE(4 * 129) rounded up, 8-byte aligned.
    let mut space = [0u64; 80];
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = space.as_mut_ptr() as *mut c_void;
    msg.msg_controllen = std::mem::size_of_val(&space);
    let n = loop {
        let n = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n < 0 && super::sys::errno() == libc::EINTR {
            continue;
        }
        break n;
    };
    if n < 0 {
        return Err(super::sys::errno());
    }
    let cmsg = libc::CMSG_FIRSTHDR(&msg);
    if n == 0 || cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
        return Err(libc::ECONNRESET);
    }
    let header = libc::CMSG_LEN(0) as usize;
    let count = ((*cmsg).cmsg_len as usize).saturating_sub(header) / std::mem::size_of::<c_int>();
    if count == 0 || count > out.fds.len() {
        return Err(libc::EINVAL);
    }
    let data = libc::CMSG_DATA(cmsg) as *const c_int;
    for i in 0..count {
        out.fds[i] = std::ptr::read_unaligned(data.add(i));
    }
    out.count = count;
    Ok(())
}

/// move_mount of the detached mount `fd` onto the directory or file `to`
/// (a descriptor, O_PATH is enough).
///
/// # Safety
/// Raw syscall only.
pub unsafe fn attach(fd: c_int, to: c_int) -> std::result::Result<(), i32> {
    super::sys::check(libc::syscall(
        libc::SYS_move_mount,
        fd,
        c"".as_ptr(),
        to,
        c"".as_ptr(),
        MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
    ))
    .map(|_| ())
}
