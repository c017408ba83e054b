//! A tree as a tar stream, walked one component at a time below opened
//! directories (inroot.rs: no symlink is ever followed during the walk, so a
//! directory swapped for a link mid-walk fails instead of leading out).
//! Ownership, modes, times, symlinks, device nodes and hard links go into
//! the headers as `tar` would write them; sockets are left out. Below a
//! proc, sys, cgroup or devpts mount only the directory itself is written:
//! a running container's `/proc` is the kernel's, not the container's files.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use crate::inroot::{fstat, open_child, readlink_at, reopen};

/// Writes the node `top` (an `O_PATH` descriptor, the link itself for a
/// symlink) into `out`: named `name`, or, with `None`, only a directory's
/// children at the top of the archive.
pub fn pack<W: Write>(top: OwnedFd, name: Option<&str>, out: W) -> io::Result<()> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Complete);
    let mut packer = Packer {
        builder,
        links: HashMap::new(),
    };
    let st = fstat(top.as_fd())?;
    match name {
        Some(name) => packer.node(top, &st, name.trim_matches('/'))?,
        None if kind(&st) == libc::S_IFDIR => packer.children(top.as_fd(), "")?,
        None => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
    }
    packer.builder.into_inner()?.flush()
}

struct Packer<W: Write> {
    builder: tar::Builder<W>,
    /// (device, inode) of files with several links → the first name written.
    links: HashMap<(u64, u64), String>,
}

impl<W: Write> Packer<W> {
    fn node(&mut self, fd: OwnedFd, st: &libc::stat, path: &str) -> io::Result<()> {
        let mut h = header(st);
        let ft = kind(st);
        if ft != libc::S_IFDIR && st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key) {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                let first = first.clone();
                return self.builder.append_link(&mut h, path, first);
            }
            self.links.insert(key, path.to_string());
        }
        match ft {
            libc::S_IFREG => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(st.st_size as u64);
                let file = File::from(reopen(fd.as_fd(), libc::O_RDONLY)?);
                // Exactly the size in the header, whatever the file does
                // meanwhile: a file growing or shrinking under us must not
                // corrupt the stream.
                let data = file.take(st.st_size as u64).chain(io::repeat(0));
                self.builder
                    .append_data(&mut h, path, data.take(st.st_size as u64))
            }
            libc::S_IFDIR => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                self.builder
                    .append_data(&mut h, format!("{path}/"), io::empty())?;
                if pseudo_fs(fd.as_fd()) {
                    return Ok(());
                }
                self.children(fd.as_fd(), path)
            }
            libc::S_IFLNK => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                let target = readlink_at(fd.as_fd(), OsStr::new(""))?;
                self.builder
                    .append_link(&mut h, path, OsStr::from_bytes(&target))
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO => {
                h.set_entry_type(match ft {
                    libc::S_IFCHR => tar::EntryType::Char,
                    libc::S_IFBLK => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                h.set_size(0);
                h.set_device_major(libc::major(st.st_rdev))?;
                h.set_device_minor(libc::minor(st.st_rdev))?;
                self.builder.append_data(&mut h, path, io::empty())
            }
            _ => Ok(()), // sockets: nothing a copy could carry
        }
    }

    fn children(&mut self, dir: BorrowedFd<'_>, path: &str) -> io::Result<()> {
        for name in list(dir)? {
            let child = open_child(dir, &name, libc::O_PATH)?;
            let st = fstat(child.as_fd())?;
            let name = name.to_string_lossy();
            let child_path = if path.is_empty() {
                name.into_owned()
            } else {
                format!("{path}/{name}")
            };
            self.node(child, &st, &child_path)?;
        }
        Ok(())
    }
}

/// The names in a directory, sorted (a stable archive).
pub(crate) fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    // Our own descriptor's magic link: it reopens that very directory.
    let path = format!("/proc/self/fd/{}", dir.as_raw_fd());
    let mut names = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<Vec<OsString>>>()?;
    names.sort();
    Ok(names)
}

fn header(st: &libc::stat) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid as u64);
    h.set_gid(st.st_gid as u64);
    h.set_mtime(st.st_mtime.max(0) as u64);
    h
}

pub(crate) fn kind(st: &libc::stat) -> u32 {
    st.st_mode & libc::S_IFMT
}

/// Whether `dir` is on a kernel file system whose contents are no files
/// (proc, sysfs, cgroup, devpts, mqueue, debugfs...).
fn pseudo_fs(dir: BorrowedFd<'_>) -> bool {
    const PSEUDO: [i64; 8] = [
        0x9fa0,     // proc
        0x62656572, // sysfs
        0x27e0eb,   // cgroup
        0x63677270, // cgroup2
        0x1cd1,     // devpts
        0x19800202, // mqueue
        0x64626720, // debugfs
        0x74726163, // tracefs
    ];
    // SAFETY: zeroed plain-old-data filled by the kernel.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a statfs to fill.
    if unsafe { libc::fstatfs(dir.as_raw_fd(), &mut sfs) } != 0 {
        return true;
    }
    PSEUDO.contains(&(sfs.f_type as i64))
}
