//! What a container changed: its overlay upper dir against its image's
//! layers, as docker's `diff` lists it (A added, C changed, D deleted), and
//! the same changes as an OCI layer for `commit` (an overlay whiteout
//! becomes a `.wh.NAME` file, an opaque directory gets `.wh..wh..opq`).
//!
//! The upper dir is the container's to write, so it is walked like any
//! hostile tree (one component at a time, no symlink followed), and so are
//! the image's layers when asked whether a path was there before.
//! What hoist itself put there to mount over (`/etc/hosts`, `/etc/resolv.conf`,
//! volume mount points...: the spec's mount destinations) is not the
//! container's change: docker keeps those in a hidden init layer, so its diff
//! never shows them. A directory that exists in the image is listed as
//! changed only when something below it is (overlay copies a directory up
//! whenever anything under it is written).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::pack::{kind, list};
use super::{io_err, CopyError};
use crate::container::{paths, ContainerRecord};
use crate::inroot::{fstat, open_child, open_child_dir, readlink_at, reopen, InRoot};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl ChangeKind {
    /// docker's letter.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path (absolute in the container). `opaque`: a directory the
/// container emptied and filled again (nothing of the image's below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    pub opaque: bool,
}

/// The container's changes, sorted by path (parents first).
pub fn changes(root: &Path, rec: &ContainerRecord) -> Result<Vec<Change>, CopyError> {
    let dir = paths::container_dir(root, &rec.id);
    let upper_path = paths::record_of(&dir).join("upper");
    let upper = InRoot::open_dir(&upper_path)
        .map_err(io_err(format!("opening the upper dir of {}", rec.name)))?;
    let lowers: Vec<InRoot> = rec
        .lowerdirs
        .iter()
        .rev()
        .map(|l| InRoot::open_dir(l).map_err(io_err(format!("opening layer {}", l.display()))))
        .collect::<Result<_, _>>()?;
    let skip = mount_targets(&dir);
    let mut walk = Walk {
        lowers,
        skip,
        out: BTreeMap::new(),
    };
    let top = upper
        .open("/", libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(io_err("upper"))?;
    walk.dir(top.as_fd(), "")
        .map_err(io_err(format!("reading the changes of {}", rec.name)))?;
    Ok(walk.out.into_values().collect())
}

struct Walk {
    lowers: Vec<InRoot>,
    skip: Vec<String>,
    out: BTreeMap<String, Change>,
}

impl Walk {
    /// Lists what is below `dir` (at `path`); true when anything was.
    fn dir(&mut self, dir: BorrowedFd<'_>, path: &str) -> io::Result<bool> {
        let mut any = false;
        for name in list(dir)? {
            let child_path = format!("{path}/{}", name.to_string_lossy());
            if self.skip.contains(&child_path) {
                continue;
            }
            let fd = open_child(dir, &name, libc::O_PATH)?;
            let st = fstat(fd.as_fd())?;
            let ft = kind(&st);
            if ft == libc::S_IFCHR && st.st_rdev == 0 {
                if self.in_lower(&child_path) {
                    self.add(&child_path, ChangeKind::Deleted, false);
                    any = true;
                }
                continue;
            }
            let before = self.lower_stat(&child_path);
            let existed = before.is_some();
            let kind = if existed {
                ChangeKind::Changed
            } else {
                ChangeKind::Added
            };
            if ft == libc::S_IFDIR {
                let opaque = is_opaque(fd.as_fd());
                let sub = open_child_dir(dir, &name)?;
                let below = self.dir(sub.as_fd(), &child_path)?;
                // A chmod or chown of the directory itself is a change too.
                let retouched = before.is_some_and(|b| {
                    (b.st_mode, b.st_uid, b.st_gid) != (st.st_mode, st.st_uid, st.st_gid)
                });
                if !existed || below || opaque || retouched {
                    self.add(&child_path, kind, opaque);
                    any = true;
                }
            } else {
                self.add(&child_path, kind, false);
                any = true;
            }
        }
        Ok(any)
    }

    fn add(&mut self, path: &str, kind: ChangeKind, opaque: bool) {
        let change = Change {
            path: path.to_string(),
            kind,
            opaque,
        };
        self.out.insert(path.to_string(), change);
    }

    /// Whether the image has `path`: the topmost layer that names it (or
    /// whites it out) decides; a symlink on the way is no directory.
    fn in_lower(&self, path: &str) -> bool {
        self.lower_stat(path).is_some()
    }

    /// The image's entry at `path` (None: absent or whited out).
    fn lower_stat(&self, path: &str) -> Option<libc::stat> {
        let rel = path.trim_start_matches('/');
        for layer in &self.lowers {
            let how = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
            let c = crate::inroot::cstr(OsStr::new(rel)).ok()?;
            // SAFETY: a NUL-terminated path; the descriptor is closed below.
            let r = unsafe {
                crate::core::sys::openat2(
                    layer.fd().as_raw_fd(),
                    c.as_ptr(),
                    libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    0,
                    how,
                )
            };
            match r {
                Ok(fd) => {
                    // SAFETY: a fresh descriptor we own.
                    let fd: OwnedFd = unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) };
                    let st = fstat(fd.as_fd()).ok()?;
                    let whiteout = kind(&st) == libc::S_IFCHR && st.st_rdev == 0;
                    return (!whiteout).then_some(st);
                }
                Err(libc::ENOENT) => continue,
                Err(_) => return None, // a symlink or file on the way hides it
            }
        }
        None
    }
}

/// The spec's mount destinations (config.json in the run dir).
fn mount_targets(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read(dir.join("config.json")) else {
        return Vec::new();
    };
    let Ok(spec) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    spec["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["destination"].as_str())
        .map(|d| format!("/{}", d.trim_matches('/')))
        .collect()
}

/// overlayfs' opaque mark: `trusted.overlay.opaque` = "y".
fn is_opaque(fd: BorrowedFd<'_>) -> bool {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let Ok(c) = std::ffi::CString::new(path) else {
        return false;
    };
    let mut v = [0u8; 2];
    // SAFETY: NUL-terminated strings and a buffer of its length.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            v.as_mut_ptr() as *mut libc::c_void,
            v.len(),
        )
    };
    n == 1 && v[0] == b'y'
}

/// The changes as an uncompressed OCI layer tar, written to `out`.
pub fn layer_tar<W: Write>(
    root: &Path,
    rec: &ContainerRecord,
    list: &[Change],
    out: W,
) -> Result<(), CopyError> {
    let upper_path: PathBuf = paths::record_of(&paths::container_dir(root, &rec.id)).join("upper");
    let upper = InRoot::open_dir(&upper_path).map_err(io_err("opening the upper dir"))?;
    write_layer(&upper, list, out).map_err(io_err(format!("packing the changes of {}", rec.name)))
}

fn write_layer<W: Write>(upper: &InRoot, list: &[Change], out: W) -> io::Result<()> {
    let mut b = tar::Builder::new(out);
    for c in list {
        let rel = c.path.trim_start_matches('/');
        if c.kind == ChangeKind::Deleted {
            let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
            let wh = if parent.is_empty() {
                format!(".wh.{name}")
            } else {
                format!("{parent}/.wh.{name}")
            };
            empty_file(&mut b, &wh)?;
            continue;
        }
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let dir = upper.open(parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        let fd = open_child(dir.as_fd(), OsStr::new(name), libc::O_PATH)?;
        let st = fstat(fd.as_fd())?;
        let mut h = tar::Header::new_gnu();
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(st.st_uid as u64);
        h.set_gid(st.st_gid as u64);
        h.set_mtime(st.st_mtime.max(0) as u64);
        h.set_size(0);
        match kind(&st) {
            libc::S_IFDIR => {
                h.set_entry_type(tar::EntryType::Directory);
                b.append_data(&mut h, format!("{rel}/"), io::empty())?;
                if c.opaque {
                    empty_file(&mut b, &format!("{rel}/.wh..wh..opq"))?;
                }
            }
            libc::S_IFREG => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(st.st_size as u64);
                let file = std::fs::File::from(reopen(fd.as_fd(), libc::O_RDONLY)?);
                let data = file.take(st.st_size as u64).chain(io::repeat(0));
                b.append_data(&mut h, rel, data.take(st.st_size as u64))?;
            }
            libc::S_IFLNK => {
                h.set_entry_type(tar::EntryType::Symlink);
                let target = readlink_at(fd.as_fd(), OsStr::new(""))?;
                let target = String::from_utf8_lossy(&target).into_owned();
                b.append_link(&mut h, rel, target)?;
            }
            ft @ (libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO) => {
                h.set_entry_type(match ft {
                    libc::S_IFCHR => tar::EntryType::Char,
                    libc::S_IFBLK => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                h.set_device_major(libc::major(st.st_rdev))?;
                h.set_device_minor(libc::minor(st.st_rdev))?;
                b.append_data(&mut h, rel, io::empty())?;
            }
            _ => {}
        }
    }
    b.into_inner()?.flush()
}

fn empty_file<W: Write>(b: &mut tar::Builder<W>, path: &str) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(0);
    b.append_data(&mut h, path, io::empty())
}
