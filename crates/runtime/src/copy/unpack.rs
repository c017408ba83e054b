//! A tar stream extracted below a directory of an [`InRoot`]. Each entry's
//! parent is resolved inside the root (a symlink an earlier entry made, or
//! the container's own, cannot lead out); the entry itself is made with
//! `*at` calls on that parent and never followed: an existing symlink
//! where a file goes is replaced, not written through.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::inroot::{check, cstr, lstat_at, mkdirat, open_child, unlink_at, InRoot};

use super::pack::kind;

/// Who owns what is extracted: the archive's ids, or these.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    FromArchive,
    Fixed(u32, u32),
}

/// Extracts `input` below the directory `dest` (a path inside `root`).
pub fn unpack<R: Read>(input: R, root: &InRoot, dest: &str, owner: Owner) -> io::Result<()> {
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let rel = clean(&entry.path_bytes())?;
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel.as_str()));
        if name.is_empty() {
            continue; // the destination itself ("./")
        }
        let dir = root.mkdir_all(&format!("{dest}/{parent}"))?;
        let name = OsStr::new(name);
        let h = entry.header().clone();
        let (uid, gid) = match owner {
            Owner::FromArchive => (h.uid()? as u32, h.gid()? as u32),
            Owner::Fixed(u, g) => (u, g),
        };
        let mode = h.mode()? & 0o7777;
        let existing = lstat_at(dir.as_fd(), name).ok();
        let existing_dir = existing.is_some_and(|st| kind(&st) == libc::S_IFDIR);
        let ty = h.entry_type();
        if ty.is_dir() {
            if !existing_dir {
                unlink_at(dir.as_fd(), name, false)?;
                mkdirat(dir.as_fd(), name, 0o700)?;
            }
            let d = open_child(dir.as_fd(), name, libc::O_RDONLY | libc::O_DIRECTORY)?;
            own(d.as_fd(), uid, gid, mode)?;
            continue;
        }
        if existing_dir {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("cannot overwrite directory {dest}/{rel} with a non-directory"),
            ));
        }
        unlink_at(dir.as_fd(), name, false)?;
        let c = cstr(name)?;
        match ty {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                // SAFETY: a valid directory descriptor and a NUL-terminated name.
                let fd = unsafe {
                    libc::openat(
                        dir.as_raw_fd(),
                        c.as_ptr(),
                        libc::O_WRONLY
                            | libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_NOFOLLOW
                            | libc::O_CLOEXEC,
                        0o600,
                    )
                };
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                // SAFETY: a fresh descriptor.
                let mut file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
                io::copy(&mut entry, &mut file)?;
                own(file.as_fd(), uid, gid, mode)?;
                set_mtime(dir.as_fd(), &c, h.mtime().unwrap_or(0))?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| bad("a symlink without a target"))?;
                let t = CString::new(target.into_owned()).map_err(|_| bad("a NUL in a link"))?;
                // SAFETY: NUL-terminated strings and a valid descriptor.
                check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) })?;
                // SAFETY: as above; the link itself is changed.
                check(unsafe {
                    libc::fchownat(
                        dir.as_raw_fd(),
                        c.as_ptr(),
                        uid,
                        gid,
                        libc::AT_SYMLINK_NOFOLLOW,
                    )
                })?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| bad("a hard link without a target"))?;
                let target = clean(&target)?;
                let old = root.open(
                    &format!("{dest}/{target}"),
                    libc::O_PATH | libc::O_NOFOLLOW,
                    0,
                )?;
                // SAFETY: valid descriptors and NUL-terminated names.
                check(unsafe {
                    libc::linkat(
                        old.as_raw_fd(),
                        c"".as_ptr(),
                        dir.as_raw_fd(),
                        c.as_ptr(),
                        libc::AT_EMPTY_PATH,
                    )
                })?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let fmt = match ty {
                    tar::EntryType::Char => libc::S_IFCHR,
                    tar::EntryType::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                let dev = libc::makedev(
                    h.device_major()?.unwrap_or(0),
                    h.device_minor()?.unwrap_or(0),
                );
                // SAFETY: a valid descriptor and a NUL-terminated name.
                check(unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), fmt | mode, dev) })?;
                let node = open_child(dir.as_fd(), name, libc::O_PATH)?;
                own_path(node.as_fd(), uid, gid)?;
            }
            _ => {} // pax and GNU extension headers are read by `tar` itself
        }
    }
    Ok(())
}

/// A tar entry's name as a relative path of plain components: leading `/`
/// and `.` dropped, `..` refused (whatever resolves it, an archive naming
/// `..` is not one `cp` made).
fn clean(raw: &[u8]) -> io::Result<String> {
    let text = String::from_utf8_lossy(raw);
    let mut parts = Vec::new();
    for p in text.split('/') {
        match p {
            "" | "." => {}
            ".." => return Err(bad(&format!("the archive entry {text:?} names \"..\""))),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Owner, then mode (a chown clears set-id bits, so it goes first).
fn own(fd: BorrowedFd<'_>, uid: u32, gid: u32, mode: u32) -> io::Result<()> {
    // SAFETY: a valid descriptor.
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })?;
    // SAFETY: a valid descriptor.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) })
}

fn own_path(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: an O_PATH descriptor changed through AT_EMPTY_PATH.
    check(unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

fn set_mtime(dir: BorrowedFd<'_>, name: &CString, mtime: u64) -> io::Result<()> {
    let t = libc::timespec {
        tv_sec: mtime as libc::time_t,
        tv_nsec: 0,
    };
    let times = [t, t];
    // SAFETY: a valid descriptor, a NUL-terminated name, two timespecs.
    check(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            name.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_plain_relative_paths() {
        assert_eq!(clean(b"/a/./b/").unwrap(), "a/b");
        assert_eq!(clean(b"./").unwrap(), "");
        assert!(clean(b"a/../../etc").is_err());
    }
}
