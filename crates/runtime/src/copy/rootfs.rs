//! A container's root file system as an [`InRoot`], running or not.
//!
//! Running: `/proc/PID/root` of its first process, the very mount tree the
//! container sees (volumes included), so a write is what the container would
//! write. Stopped: its overlay (image layers under its upper dir) mounted
//! with the new mount API and never attached anywhere (`fsmount` gives a
//! descriptor of a detached mount): nothing to unmount, nothing left behind
//! when hoist dies, nothing visible to other processes; what is written goes
//! into the upper dir as the container's own writes do.

use std::ffi::{c_int, c_uint, c_void, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::{io_err, CopyError};
use crate::container::{paths, state, ContainerRecord, Status};
use crate::inroot::InRoot;

const FSOPEN_CLOEXEC: c_uint = 1;
const FSCONFIG_SET_STRING: c_uint = 1;
const FSCONFIG_CMD_CREATE: c_uint = 6;
const FSMOUNT_CLOEXEC: c_uint = 1;

/// The root of the container `rec` of the store at `root`.
pub fn container_root(root: &Path, rec: &ContainerRecord) -> Result<InRoot, CopyError> {
    let dir = paths::container_dir(root, &rec.id);
    let st = state::read_live(&dir);
    if st.status == Status::Running && st.pid > 0 && !st.unsupervised {
        let proc_root = format!("/proc/{}/root", st.pid);
        let root = InRoot::open_dir(Path::new(&proc_root))
            .map_err(io_err(format!("opening the root of {}", rec.name)))?;
        // The PID is the state's: if the container ended and the number
        // went to another process before the open, that process's root
        // (the host's, say) must not be taken for the container's. Checked
        // after the open: the process opened is in the container's cgroup.
        let cgroups =
            std::fs::read_to_string(format!("/proc/{}/cgroup", st.pid)).unwrap_or_default();
        let ours = format!("/hoist/{}", rec.id);
        if !cgroups.lines().any(|l| l.ends_with(&ours)) {
            return Err(io_err(format!("opening the root of {}", rec.name))(
                io::Error::other("the container stopped meanwhile"),
            ));
        }
        return Ok(root);
    }
    let record = paths::record_of(&dir);
    let fd = detached_overlay(rec, &record.join("upper"), &record.join("work"))
        .map_err(io_err(format!("mounting the file system of {}", rec.name)))?;
    Ok(InRoot::from_fd(fd))
}

/// The container's files as its image plus its upper dir, read-only: the
/// upper dir mounted as one more lower layer (its whiteouts and opaque
/// directories mean the same there), so no work dir is shared with a
/// running container's own overlay. No volume, no `/proc`: what `export`
/// writes, as docker's.
pub fn container_view(root: &Path, rec: &ContainerRecord) -> Result<InRoot, CopyError> {
    let record = paths::record_of(&paths::container_dir(root, &rec.id));
    let fd = mount_overlay(rec, Some(&record.join("upper")), None)
        .map_err(io_err(format!("mounting the file system of {}", rec.name)))?;
    Ok(InRoot::from_fd(fd))
}

fn detached_overlay(rec: &ContainerRecord, upper: &Path, work: &Path) -> io::Result<OwnedFd> {
    mount_overlay(rec, None, Some((upper, work)))
}

/// `extra_lower` goes above the image's layers; `upper_work` makes the
/// mount writable.
fn mount_overlay(
    rec: &ContainerRecord,
    extra_lower: Option<&Path>,
    upper_work: Option<(&Path, &Path)>,
) -> io::Result<OwnedFd> {
    // SAFETY: fsopen with a constant name; we own the result.
    let fs = unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) };
    if fs < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as c_int) };
    let set = |key: &str, value: &str| -> io::Result<()> {
        let (k, v) = (cstring(key)?, cstring(value)?);
        // SAFETY: our context and NUL-terminated strings.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_SET_STRING,
                k.as_ptr(),
                v.as_ptr() as *const c_void,
                0,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // fsconfig takes strings of at most 256 bytes: the layers one by one
    // (`lowerdir+`, top first, Linux 6.5), else the classic option.
    let top_first: Vec<String> = extra_lower
        .into_iter()
        .chain(rec.lowerdirs.iter().rev().map(PathBuf::as_path))
        .map(|p| p.display().to_string())
        .collect();
    if top_first.iter().any(|l| set("lowerdir+", l).is_err()) {
        set("lowerdir", &top_first.join(":"))?;
    }
    if let Some((upper, work)) = upper_work {
        set("upperdir", &upper.display().to_string())?;
        set("workdir", &work.display().to_string())?;
    }
    // SAFETY: our context; no strings.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<u8>(),
            std::ptr::null::<u8>(),
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a created context; we own the result.
    let m = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
    if m < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(m as c_int) })
}

fn cstring(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}
