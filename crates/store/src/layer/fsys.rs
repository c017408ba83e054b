//! Thin wrappers over the `*at` system calls extraction uses. Every path
//! handed to these is ONE name relative to a directory file descriptor, and
//! nothing here follows a symlink in the final component: combined with
//! opening each parent component with O_NOFOLLOW, no write can land outside
//! the extraction root.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Opens a directory (not through a symlink).
pub(crate) fn open_dir_path(path: &Path) -> io::Result<OwnedFd> {
    let c = cstr(path.as_os_str())?;
    // SAFETY: c is a valid NUL-terminated string; the returned fd is owned here.
    let fd = check(unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fd was just returned by open and is not owned elsewhere.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the directory `name` inside `dir`; fails with ELOOP if it is a
/// symlink and ENOTDIR if it is not a directory.
pub(crate) fn open_dir_at(dir: BorrowedFd, name: &OsStr) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: valid fd and string; the returned fd is owned here.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fd was just returned by openat.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates a new regular file `name` in `dir` (must not exist), write-only.
pub(crate) fn create_file_at(dir: BorrowedFd, name: &OsStr) -> io::Result<std::fs::File> {
    let c = cstr(name)?;
    // SAFETY: valid fd and string; O_EXCL|O_NOFOLLOW never follow or reuse.
    let fd = check(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    })?;
    // SAFETY: fd was just returned by openat.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// What is at `name` in `dir`, without following a symlink; None if nothing.
pub(crate) fn lstat_at(dir: BorrowedFd, name: &OsStr) -> io::Result<Option<libc::stat>> {
    let c = cstr(name)?;
    // SAFETY: st is plain data fully written by fstatat on success.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd, string and out pointer.
    let ret = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Ok(None);
        }
        return Err(e);
    }
    Ok(Some(st))
}

pub(crate) fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

pub(crate) fn is_symlink(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

pub(crate) fn mkdir_at(dir: BorrowedFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid fd and string.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) })?;
    Ok(())
}

pub(crate) fn symlink_at(target: &OsStr, dir: BorrowedFd, name: &OsStr) -> io::Result<()> {
    let t = cstr(target)?;
    let c = cstr(name)?;
    // SAFETY: valid strings and fd.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) })?;
    Ok(())
}

/// Hard-links `old_dir/old` to `new_dir/new` without following `old` if it is a symlink.
pub(crate) fn link_at(
    old_dir: BorrowedFd,
    old: &OsStr,
    new_dir: BorrowedFd,
    new: &OsStr,
) -> io::Result<()> {
    let o = cstr(old)?;
    let n = cstr(new)?;
    // SAFETY: valid fds and strings; flags 0 = do not follow symlinks.
    check(unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            o.as_ptr(),
            new_dir.as_raw_fd(),
            n.as_ptr(),
            0,
        )
    })?;
    Ok(())
}

/// mknod for fifos and char/block devices (`kind` is S_IFIFO/S_IFCHR/S_IFBLK).
pub(crate) fn mknod_at(
    dir: BorrowedFd,
    name: &OsStr,
    kind: libc::mode_t,
    mode: u32,
    major: u32,
    minor: u32,
) -> io::Result<()> {
    let c = cstr(name)?;
    let dev = libc::makedev(major, minor);
    // SAFETY: valid fd and string.
    check(unsafe {
        libc::mknodat(
            dir.as_raw_fd(),
            c.as_ptr(),
            kind | (mode as libc::mode_t & 0o7777),
            dev,
        )
    })?;
    Ok(())
}

/// Removes `name` in `dir`: a file or symlink directly, a directory with its
/// whole content (never following symlinks inside it).
pub(crate) fn remove_at(dir: BorrowedFd, name: &OsStr, st: &libc::stat) -> io::Result<()> {
    if is_dir(st) {
        // std's remove_dir_all opens each level with O_NOFOLLOW relative to its
        // parent; reaching the parent through /proc/self/fd keeps it anchored
        // to the directory we hold rather than to a path someone could swap.
        std::fs::remove_dir_all(proc_path(dir, name))
    } else {
        let c = cstr(name)?;
        // SAFETY: valid fd and string.
        check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) })?;
        Ok(())
    }
}

/// `/proc/self/fd/N/name`: a path to `name` inside the directory held by `dir`.
pub(crate) fn proc_path(dir: BorrowedFd, name: &OsStr) -> PathBuf {
    let mut p = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    if !name.is_empty() {
        p.push(name);
    }
    p
}

/// Sets owner without following a symlink (`name` empty = `dir` itself).
pub(crate) fn chown_at(dir: BorrowedFd, name: &OsStr, uid: u64, gid: u64) -> io::Result<()> {
    if name.is_empty() {
        // SAFETY: valid fd.
        check(unsafe { libc::fchown(dir.as_raw_fd(), uid as libc::uid_t, gid as libc::gid_t) })?;
        return Ok(());
    }
    let c = cstr(name)?;
    // SAFETY: valid fd and string.
    check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            c.as_ptr(),
            uid as libc::uid_t,
            gid as libc::gid_t,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(())
}

/// Sets the mode of an open file or directory.
pub(crate) fn chmod_fd(fd: BorrowedFd, mode: u32) -> io::Result<()> {
    // SAFETY: valid fd.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), (mode & 0o7777) as libc::mode_t) })?;
    Ok(())
}

/// Sets mtime (and atime to the same value) without following a symlink
/// (`name` empty = `dir` itself).
pub(crate) fn set_mtime_at(dir: BorrowedFd, name: &OsStr, mtime: i64) -> io::Result<()> {
    let t = libc::timespec {
        tv_sec: mtime as libc::time_t,
        tv_nsec: 0,
    };
    let times = [t, t];
    if name.is_empty() {
        // SAFETY: valid fd and times array of two.
        check(unsafe { libc::futimens(dir.as_raw_fd(), times.as_ptr()) })?;
        return Ok(());
    }
    let c = cstr(name)?;
    // SAFETY: valid fd, string and times array of two.
    check(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(())
}

/// Sets an extended attribute on an open file or directory.
pub(crate) fn set_xattr_fd(fd: BorrowedFd, name: &[u8], value: &[u8]) -> io::Result<()> {
    let n = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in xattr name"))?;
    // SAFETY: valid fd, string and buffer.
    check(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })?;
    Ok(())
}

/// Starts writeback of `len` bytes of `fd` from `offset` without waiting
/// for it (sync_file_range SYNC_FILE_RANGE_WRITE): a later sync finds the
/// data already on its way to the disk. Errors are ignored by callers: the
/// sync that follows reports what matters.
pub(crate) fn start_writeback(fd: BorrowedFd, offset: u64, len: u64) -> io::Result<()> {
    // SAFETY: sync_file_range only reads its integer arguments.
    let r = unsafe {
        libc::sync_file_range(
            fd.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
