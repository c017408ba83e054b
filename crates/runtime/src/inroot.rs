//! Paths inside a container's root filesystem, resolved by the kernel so
//! that nothing in the container can send hoist outside it.
//!
//! Everything under a container's rootfs is hostile: an image or a process in
//! the container can make `/etc/x` a symlink to `/../../../etc/shadow`, to
//! `/proc/1/root/etc/shadow`, or swap a directory for a symlink between two
//! of our calls. Resolving such paths in user space (canonicalize, then open)
//! races and gets `..` wrong. `openat2(RESOLVE_IN_ROOT)` makes the kernel
//! treat the root's descriptor as `/` for the whole walk: absolute symlinks
//! and `..` stop at it, as if chrooted; `RESOLVE_NO_MAGICLINKS` refuses
//! `/proc/PID/root`-style links (which jump to another root whatever the
//! walk's root is). Every `cp` path goes through [`InRoot::open`]; a walk of
//! a tree then goes one component at a time below an opened directory with
//! [`open_child`] (no symlink followed at all).

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The root of a tree that paths are resolved in: a directory descriptor
/// (`O_PATH`), e.g. a container's `/proc/PID/root` or a detached overlay
/// mount.
#[derive(Debug)]
pub struct InRoot {
    fd: OwnedFd,
}

impl InRoot {
    /// A root from an open directory descriptor.
    pub fn from_fd(fd: OwnedFd) -> InRoot {
        InRoot { fd }
    }

    /// A directory of this process's own file system as a root (the host
    /// side of `cp`: what is extracted there stays below it too).
    pub fn open_dir(path: &Path) -> io::Result<InRoot> {
        let fd = openat2(
            libc::AT_FDCWD,
            path.as_os_str(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
            0,
        )?;
        Ok(InRoot { fd })
    }

    /// Opens `path` (absolute or relative, both taken from the root) with the
    /// kernel resolving every component inside the root. `O_NOFOLLOW` in
    /// `flags` keeps a final symlink as itself (with `O_PATH`).
    pub fn open(&self, path: &str, flags: i32, mode: u32) -> io::Result<OwnedFd> {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        openat2(
            self.fd.as_raw_fd(),
            OsStr::new(rel),
            flags | libc::O_CLOEXEC,
            mode,
            libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        )
    }

    /// The directory at `path`, made with its missing parents (mode 0755,
    /// owned by the caller). Each prefix is resolved inside the root, so a
    /// symlink on the way is followed only as far as the root allows.
    pub fn mkdir_all(&self, path: &str) -> io::Result<OwnedFd> {
        let dir_flags = libc::O_PATH | libc::O_DIRECTORY;
        let mut dir = self.open("/", dir_flags, 0)?;
        let mut prefix = String::new();
        for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
            prefix.push('/');
            prefix.push_str(part);
            dir = match self.open(&prefix, dir_flags, 0) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && part != ".." => {
                    match mkdirat(dir.as_fd(), OsStr::new(part), 0o755) {
                        Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
                        _ => self.open(&prefix, dir_flags, 0)?,
                    }
                }
                r => r?,
            };
        }
        Ok(dir)
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// One entry `name` of the directory `dir`, never following a symlink on
/// the way (`RESOLVE_NO_SYMLINKS`; `O_NOFOLLOW|O_PATH` gives the link
/// itself) nor leaving `dir` (`RESOLVE_BENEATH`).
pub fn open_child(dir: BorrowedFd<'_>, name: &OsStr, flags: i32) -> io::Result<OwnedFd> {
    openat2(
        dir.as_raw_fd(),
        name,
        flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
    )
}

/// A child directory of `dir` as an `O_PATH` descriptor (not a symlink to one).
pub fn open_child_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    open_child(dir, name, libc::O_PATH | libc::O_DIRECTORY)
}

/// `mkdirat(2)`.
pub fn mkdirat(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: a valid descriptor and a NUL-terminated name.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) })
}

/// `fstatat(2)` of `name` in `dir` without following a final symlink
/// (an empty name: `dir` itself).
pub fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<libc::stat> {
    let c = cstr(name)?;
    let flags = if name.is_empty() {
        libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW
    } else {
        libc::AT_SYMLINK_NOFOLLOW
    };
    // SAFETY: zeroed plain-old-data filled by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor, a NUL-terminated name, a stat to fill.
    check(unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

/// The stat of an open descriptor (`O_PATH` ones included).
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    lstat_at(fd, OsStr::new(""))
}

/// The target of the symlink `name` in `dir` (an empty name: `dir` is an
/// `O_PATH|O_NOFOLLOW` descriptor of the link itself).
pub fn readlink_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Vec<u8>> {
    let c = cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: a valid descriptor, NUL-terminated name, a buffer of its length.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// Removes the non-directory `name` of `dir` (the entry itself: a symlink is
/// removed, not followed); a missing one is fine.
pub fn unlink_at(dir: BorrowedFd<'_>, name: &OsStr, remove_dir: bool) -> io::Result<()> {
    let c = cstr(name)?;
    let flags = if remove_dir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: a valid descriptor and a NUL-terminated name.
    match check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), flags) }) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r,
    }
}

/// A descriptor reopened through `/proc/self/fd` with real access flags
/// (an `O_PATH` descriptor cannot be read, written or fchmod'ed). The
/// reopen cannot leave the inode: it is a magic link of our own.
pub fn reopen(fd: BorrowedFd<'_>, flags: i32) -> io::Result<OwnedFd> {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let c = CString::new(path).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: a NUL-terminated path; we own the result.
    let r = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

fn openat2(dirfd: i32, path: &OsStr, flags: i32, mode: u32, resolve: u64) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: a NUL-terminated path; the result is a fresh descriptor we own.
    let fd = unsafe { crate::core::sys::openat2(dirfd, c.as_ptr(), flags, mode, resolve) }
        .map_err(io::Error::from_raw_os_error)?;
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(crate) fn cstr(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub(crate) fn check(r: i32) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_and_dotdot_stay_inside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "host").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("secret"), "inside").unwrap();
        let escape = format!("/../../../../..{}/secret", outside.path().display());
        symlink(&escape, root.path().join("etc/x")).unwrap();
        symlink("/proc/self/root/etc/passwd", root.path().join("etc/magic")).unwrap();
        let r = InRoot::open_dir(root.path()).unwrap();
        // The escaping link resolves below the root, where nothing is.
        let e = r.open("/etc/x", libc::O_RDONLY, 0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}");
        let e = r.open("/etc/magic", libc::O_RDONLY, 0).unwrap_err();
        assert!(
            matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOENT)),
            "{e}"
        );
        let fd = r.open("/../../secret", libc::O_RDONLY, 0).unwrap();
        let text = std::fs::read_to_string(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        assert_eq!(text, "inside");
        // A walk below a directory follows no link at all.
        let etc = r.open("etc", libc::O_PATH | libc::O_DIRECTORY, 0).unwrap();
        assert!(open_child(etc.as_fd(), OsStr::new("x"), libc::O_RDONLY).is_err());
        let link = open_child(etc.as_fd(), OsStr::new("x"), libc::O_PATH).unwrap();
        assert_eq!(
            readlink_at(link.as_fd(), OsStr::new("")).unwrap(),
            escape.as_bytes()
        );
        let made = r.mkdir_all("/etc/x2/y").unwrap();
        assert_eq!(
            fstat(made.as_fd()).unwrap().st_mode & libc::S_IFMT,
            libc::S_IFDIR
        );
        assert!(root.path().join("etc/x2/y").is_dir());
    }
}
