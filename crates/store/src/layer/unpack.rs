//! Safe extraction. Every path is resolved one component at a time from a
//! descriptor of the target directory, opening each parent with O_NOFOLLOW,
//! and every final component is created or changed with an `*at` call that
//! does not follow symlinks. So an entry can never be written through a
//! symlink — whether the symlink came from a lower layer, an earlier entry, or
//! was swapped in for a directory — and nothing lands outside the target.

use super::entries::{for_each_entry, Kind, Limits, TarEntry};
use super::entry_path::{self, classify, EntryPath, Whiteout};
use super::free_space::FreeSpace;
use super::fsys;
use super::pipe::{with_decoded, StreamState};
use super::{LayerError, UnpackOptions, UnpackStats, WhiteoutMode};
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

const COPY_BUF: usize = 256 * 1024;
/// With `start_writeback`, writeback is started after every this many bytes
/// of a file, and for the tail of every file at least this big (smaller
/// files are left to the caller's sync: a system call each would cost more
/// than it saves).
const WRITEBACK_STEP: u64 = 8 << 20;

/// Extracts a layer (gzip, zstd or plain tar) into `target`, which must be an
/// existing directory. See [`UnpackOptions`] for the policy and limits.
pub fn unpack<R: Read + Send>(
    reader: R,
    target: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, LayerError> {
    let root = fsys::open_dir_path(target).map_err(|e| LayerError::path_io(target, e))?;
    let state = Rc::new(StreamState::default());
    let limits = Limits::new(&opts.limits, opts.allow_devices && fsys::is_root());
    let space = FreeSpace::new(root.as_fd(), target, opts.limits.free_space_reserve)?;
    let mut ex = Extractor {
        root,
        space,
        opts,
        stats: UnpackStats::default(),
        created: HashSet::new(),
        dirs: Vec::new(),
        cache: Vec::new(),
        stale: false,
        buf: vec![0; COPY_BUF],
    };
    with_decoded(reader, Rc::clone(&state), |stream| {
        let (_, rest) = for_each_entry(stream, &state, &limits, |e, data| ex.entry(e, data))?;
        Ok(((), rest))
    })?;
    ex.finish_dirs()?;
    Ok(ex.stats)
}

struct Extractor<'o> {
    root: OwnedFd,
    /// The free-space reserve, claimed entry by entry.
    space: FreeSpace,
    opts: &'o UnpackOptions,
    stats: UnpackStats,
    /// Paths this layer created: whiteouts and opaque markers spare them.
    created: HashSet<Vec<u8>>,
    /// Directory modes and mtimes, applied at the end (children change mtimes,
    /// and a read-only mode would block writing the children).
    dirs: Vec<(EntryPath, u32, i64)>,
    /// Open directories along the last resolved parent path.
    cache: Vec<(OsString, OwnedFd)>,
    /// A directory was removed: the cache may hold a deleted directory.
    stale: bool,
    buf: Vec<u8>,
}

/// Gives an entry its owner from the tar. Rootless, an id outside the user
/// namespace's map cannot own a file (EINVAL): said so, with what to do.
fn chown_entry(dir: BorrowedFd, name: &OsStr, e: &TarEntry) -> Result<(), LayerError> {
    fsys::chown_at(dir, name, e.uid, e.gid).map_err(|x| {
        if errno(&x) == libc::EINVAL && crate::rootless::active() {
            let why = format!(
                "owner {}:{} is outside this user namespace's id map: rootless hoist maps \
                 only your own id and your ranges in /etc/subuid and /etc/subgid; give your \
                 user a range of at least 65536 ids there (usermod --add-subuids/--add-subgids) \
                 and stop hoist's namespace holder ($XDG_RUNTIME_DIR/hoist/holder.pid) so it \
                 is made again",
                e.uid, e.gid
            );
            LayerError::entry_io(&e.name, io::Error::new(x.kind(), why))
        } else {
            LayerError::entry_io(&e.name, x)
        }
    })
}

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

impl Extractor<'_> {
    fn entry(&mut self, e: TarEntry, data: &mut dyn Read) -> Result<(), LayerError> {
        self.stats.entries += 1;
        if e.path.is_root() {
            // "./": the target keeps its own owner and mode.
            return Ok(());
        }
        self.space.claim(self.root.as_fd(), e.size, &e.name)?;
        match classify(e.path.file_name(), &e.name)? {
            Whiteout::Opaque => return self.opaque(&e),
            Whiteout::Remove(victim) => return self.whiteout(&e, &victim),
            Whiteout::Ignore => return Ok(()),
            Whiteout::None => {}
        }
        // Hardlink sources are checked before anything at the destination is touched.
        let link_source = match e.kind {
            Kind::HardLink => match self.hardlink_source(&e)? {
                Some(src) => Some(src),
                None => return Ok(()), // a link to itself
            },
            _ => None,
        };
        let dir = self
            .resolve(e.path.parent(), &e.name, true)?
            .expect("created");
        // SAFETY: `dir` stays open in self.cache for this whole entry: the cache
        // is only truncated or cleared at the start of the next resolve.
        let dir = unsafe { BorrowedFd::borrow_raw(dir) };
        let name = e.path.file_name();
        match e.kind {
            Kind::File => self.write_file(dir, name, &e, data)?,
            Kind::Dir => self.make_dir(dir, name, &e)?,
            Kind::Symlink => {
                let target = OsStr::from_bytes(e.link.as_deref().unwrap_or_default());
                self.replacing(dir, name, &e, |d, n| fsys::symlink_at(target, d, n))?;
                self.set_owner(dir, name, &e)?;
                fsys::set_mtime_at(dir, name, e.mtime)
                    .map_err(|x| LayerError::entry_io(&e.name, x))?;
            }
            Kind::HardLink => {
                let (src_dir, src_name) = link_source.expect("checked above");
                self.replacing(dir, name, &e, |d, n| {
                    fsys::link_at(src_dir.as_fd(), &src_name, d, n)
                })?;
            }
            Kind::Char | Kind::Block | Kind::Fifo => {
                let kind = match e.kind {
                    Kind::Char => libc::S_IFCHR,
                    Kind::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                let (ma, mi) = (e.dev_major, e.dev_minor);
                let made = self.replacing(dir, name, &e, |d, n| {
                    fsys::mknod_at(d, n, kind, e.mode, ma, mi)
                });
                if kind != libc::S_IFIFO && crate::rootless::refused_here(&made) {
                    // A user namespace may not make device nodes: skipped,
                    // as rootless podman does (a container gets its /dev
                    // from the host's nodes anyway).
                    tracing::warn!(entry = %e.name, "rootless: device node skipped");
                    return Ok(());
                }
                made?;
                self.set_owner(dir, name, &e)?;
                fsys::set_mtime_at(dir, name, e.mtime)
                    .map_err(|x| LayerError::entry_io(&e.name, x))?;
            }
        }
        self.created.insert(e.path.key());
        Ok(())
    }

    /// Runs `create`; if something is already there, removes it (unless both
    /// are directories, handled by the caller) and retries once.
    fn replacing(
        &mut self,
        dir: BorrowedFd,
        name: &OsStr,
        e: &TarEntry,
        create: impl Fn(BorrowedFd, &OsStr) -> io::Result<()>,
    ) -> Result<(), LayerError> {
        match create(dir, name) {
            Err(x) if errno(&x) == libc::EEXIST => {
                self.remove_existing(dir, name, &e.name)?;
                create(dir, name).map_err(|x| LayerError::entry_io(&e.name, x))
            }
            other => other.map_err(|x| LayerError::entry_io(&e.name, x)),
        }
    }

    fn remove_existing(
        &mut self,
        dir: BorrowedFd,
        name: &OsStr,
        entry: &str,
    ) -> Result<bool, LayerError> {
        let Some(st) = fsys::lstat_at(dir, name).map_err(|x| LayerError::entry_io(entry, x))?
        else {
            return Ok(false);
        };
        if fsys::is_dir(&st) {
            self.stale = true;
        }
        fsys::remove_at(dir, name, &st).map_err(|x| LayerError::entry_io(entry, x))?;
        Ok(true)
    }

    fn write_file(
        &mut self,
        dir: BorrowedFd,
        name: &OsStr,
        e: &TarEntry,
        data: &mut dyn Read,
    ) -> Result<(), LayerError> {
        let io_err = |x| LayerError::entry_io(&e.name, x);
        let mut file = match fsys::create_file_at(dir, name) {
            Err(x) if errno(&x) == libc::EEXIST => {
                self.remove_existing(dir, name, &e.name)?;
                fsys::create_file_at(dir, name).map_err(io_err)?
            }
            other => other.map_err(io_err)?,
        };
        let mut written = 0u64;
        let mut kicked = 0u64; // writeback started up to here
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(x) if x.kind() == io::ErrorKind::Interrupted => continue,
                Err(x) => return Err(LayerError::entry_io(&e.name, x)),
            };
            file.write_all(&self.buf[..n]).map_err(io_err)?;
            written += n as u64;
            if self.opts.start_writeback && written - kicked >= WRITEBACK_STEP {
                let _ = fsys::start_writeback(file.as_fd(), kicked, written - kicked);
                kicked = written;
            }
        }
        if self.opts.start_writeback && written >= WRITEBACK_STEP && written > kicked {
            let _ = fsys::start_writeback(file.as_fd(), kicked, written - kicked);
        }
        if written != e.size {
            return Err(LayerError::Invalid(format!(
                "entry {:?} is truncated: {written} of {} bytes",
                e.name, e.size
            )));
        }
        self.stats.bytes += written;
        let fd = file.as_fd();
        if self.opts.same_owner {
            chown_entry(fd, OsStr::new(""), e)?;
        }
        fsys::chmod_fd(fd, e.mode).map_err(io_err)?;
        self.set_xattrs(fd, e);
        fsys::set_mtime_at(fd, OsStr::new(""), e.mtime).map_err(io_err)?;
        Ok(())
    }

    fn make_dir(&mut self, dir: BorrowedFd, name: &OsStr, e: &TarEntry) -> Result<(), LayerError> {
        let io_err = |x| LayerError::entry_io(&e.name, x);
        match fsys::mkdir_at(dir, name, 0o755) {
            Ok(()) => {}
            Err(x) if errno(&x) == libc::EEXIST => {
                let st = fsys::lstat_at(dir, name).map_err(io_err)?;
                if !st.as_ref().is_some_and(fsys::is_dir) {
                    self.remove_existing(dir, name, &e.name)?;
                    fsys::mkdir_at(dir, name, 0o755).map_err(io_err)?;
                }
            }
            Err(x) => return Err(io_err(x)),
        }
        let fd = fsys::open_dir_at(dir, name).map_err(io_err)?;
        if self.opts.same_owner {
            chown_entry(fd.as_fd(), OsStr::new(""), e)?;
        }
        self.set_xattrs(fd.as_fd(), e);
        self.dirs.push((e.path.clone(), e.mode, e.mtime));
        Ok(())
    }

    fn set_owner(&self, dir: BorrowedFd, name: &OsStr, e: &TarEntry) -> Result<(), LayerError> {
        if self.opts.same_owner {
            chown_entry(dir, name, e)?;
        }
        if e.kind != Kind::Symlink && e.kind != Kind::HardLink {
            // A node we just created (not a symlink): mode via its /proc path.
            let p = fsys::proc_path(dir, name);
            std::fs::set_permissions(
                &p,
                std::os::unix::fs::PermissionsExt::from_mode(e.mode & 0o7777),
            )
            .map_err(|x| LayerError::entry_io(&e.name, x))?;
        }
        Ok(())
    }

    /// Restores the xattrs a layer may carry. Overlay's own attributes are
    /// never taken from a tar (they would steer the overlay mount), and a
    /// filesystem that refuses an attribute is not an error (like tar).
    fn set_xattrs(&self, fd: BorrowedFd, e: &TarEntry) {
        if !self.opts.xattrs {
            return;
        }
        for (key, value) in &e.xattrs {
            if !xattr_allowed(key) {
                tracing::debug!(entry = %e.name, xattr = %String::from_utf8_lossy(key), "xattr skipped");
                continue;
            }
            if let Err(x) = fsys::set_xattr_fd(fd, key, value) {
                tracing::debug!(entry = %e.name, xattr = %String::from_utf8_lossy(key), error = %x, "xattr not set");
            }
        }
    }

    /// Where a hardlink points: (open parent dir, name). Refuses targets
    /// outside the root or reached through a symlink. None for a self-link.
    fn hardlink_source(&mut self, e: &TarEntry) -> Result<Option<(OwnedFd, OsString)>, LayerError> {
        let raw = e.link.as_deref().unwrap_or_default();
        let src = entry_path::normalize(raw, &e.name).map_err(|err| match err {
            LayerError::Unsafe { reason, .. } => LayerError::unsafe_entry(
                &e.name,
                format!("hardlink target {:?}: {reason}", entry_path::display(raw)),
            ),
            other => other,
        })?;
        if src.is_root() {
            return Err(LayerError::unsafe_entry(
                &e.name,
                "hardlink to the root directory",
            ));
        }
        if src == e.path {
            return Ok(None);
        }
        let dir = open_existing(self.root.as_fd(), src.parent()).map_err(|x| match errno(&x) {
            libc::ELOOP => LayerError::unsafe_entry(
                &e.name,
                format!(
                    "hardlink target {:?} is reached through a symlink",
                    entry_path::display(raw)
                ),
            ),
            _ => LayerError::entry_io(&e.name, x),
        })?;
        let name = src.file_name().to_os_string();
        match fsys::lstat_at(dir.as_fd(), &name).map_err(|x| LayerError::entry_io(&e.name, x))? {
            None => Err(LayerError::Invalid(format!(
                "entry {:?}: hardlink target {:?} does not exist",
                e.name,
                entry_path::display(raw)
            ))),
            Some(st) if fsys::is_dir(&st) => {
                Err(LayerError::unsafe_entry(&e.name, "hardlink to a directory"))
            }
            Some(_) => Ok(Some((dir, name))),
        }
    }

    /// Opens (creating when `create`) each directory of `comps` without
    /// following symlinks; returns the last one's raw fd (the root for none),
    /// or None if a component is missing and `create` is false.
    fn resolve(
        &mut self,
        comps: &[OsString],
        entry: &str,
        create: bool,
    ) -> Result<Option<RawFd>, LayerError> {
        if self.stale {
            self.cache.clear();
            self.stale = false;
        }
        let common = self
            .cache
            .iter()
            .zip(comps)
            .take_while(|((cached, _), want)| cached == *want)
            .count();
        self.cache.truncate(common);
        for i in common..comps.len() {
            let parent = self
                .cache
                .last()
                .map(|(_, fd)| fd.as_fd())
                .unwrap_or(self.root.as_fd());
            let name = &comps[i];
            let fd = match fsys::open_dir_at(parent, name) {
                Ok(fd) => fd,
                Err(x) if errno(&x) == libc::ENOENT => {
                    if !create {
                        return Ok(None);
                    }
                    fsys::mkdir_at(parent, name, 0o755)
                        .map_err(|x| LayerError::entry_io(entry, x))?;
                    self.created.insert(entry_path::join(&comps[..=i]));
                    fsys::open_dir_at(parent, name).map_err(|x| LayerError::entry_io(entry, x))?
                }
                Err(x) => return Err(parent_error(entry, &comps[..=i], parent, name, x)),
            };
            self.cache.push((name.clone(), fd));
        }
        Ok(Some(
            self.cache
                .last()
                .map(|(_, fd)| fd.as_raw_fd())
                .unwrap_or(self.root.as_raw_fd()),
        ))
    }

    /// `.wh.NAME`: delete lower content (Apply) or write an overlay whiteout.
    fn whiteout(&mut self, e: &TarEntry, victim: &OsStr) -> Result<(), LayerError> {
        let mut key = entry_path::join(e.path.parent());
        if !key.is_empty() {
            key.push(b'/');
        }
        key.extend_from_slice(victim.as_bytes());
        if self.created.contains(&key) {
            return Ok(()); // a whiteout never hides its own layer's content
        }
        let overlay = self.opts.whiteouts == WhiteoutMode::Overlay;
        let Some(dir) = self.resolve(e.path.parent(), &e.name, overlay)? else {
            return Ok(()); // nothing below to delete
        };
        // SAFETY: held in self.cache until the next resolve.
        let dir = unsafe { BorrowedFd::borrow_raw(dir) };
        let removed = self.remove_existing(dir, victim, &e.name)?;
        if overlay {
            fsys::mknod_at(dir, victim, libc::S_IFCHR, 0, 0, 0).map_err(|x| {
                LayerError::entry_io(
                    &e.name,
                    io::Error::new(
                        x.kind(),
                        format!("creating overlay whiteout (needs root): {x}"),
                    ),
                )
            })?;
            self.stats.whiteouts += 1;
        } else if removed {
            self.stats.whiteouts += 1;
        }
        Ok(())
    }

    /// `.wh..wh..opq`: the directory hides all lower content.
    fn opaque(&mut self, e: &TarEntry) -> Result<(), LayerError> {
        let dir_comps = e.path.parent();
        let dir = self.resolve(dir_comps, &e.name, true)?.expect("created");
        // SAFETY: held in self.cache until the next resolve.
        let dir = unsafe { BorrowedFd::borrow_raw(dir) };
        self.stats.whiteouts += 1;
        if self.opts.whiteouts == WhiteoutMode::Overlay {
            return fsys::set_xattr_fd(dir, crate::rootless::opaque_xattr(), b"y").map_err(|x| {
                LayerError::entry_io(
                    &e.name,
                    io::Error::new(
                        x.kind(),
                        format!("marking directory opaque (needs root): {x}"),
                    ),
                )
            });
        }
        let listing = std::fs::read_dir(fsys::proc_path(dir, OsStr::new("")))
            .map_err(|x| LayerError::entry_io(&e.name, x))?;
        let base = entry_path::join(dir_comps);
        for child in listing {
            let child = child
                .map_err(|x| LayerError::entry_io(&e.name, x))?
                .file_name();
            let mut key = base.clone();
            if !key.is_empty() {
                key.push(b'/');
            }
            key.extend_from_slice(child.as_bytes());
            if !self.created.contains(&key) {
                self.remove_existing(dir, &child, &e.name)?;
            }
        }
        Ok(())
    }

    /// Applies directory modes and mtimes, deepest last-created first.
    fn finish_dirs(&mut self) -> Result<(), LayerError> {
        self.cache.clear();
        for (path, mode, mtime) in std::mem::take(&mut self.dirs).into_iter().rev() {
            let name = path.key();
            let entry = entry_path::display(&name);
            let fd = match open_existing(self.root.as_fd(), &path.components) {
                Ok(fd) => fd,
                // Replaced or removed by a later entry: nothing to apply.
                Err(x) if matches!(errno(&x), libc::ENOENT | libc::ENOTDIR | libc::ELOOP) => {
                    continue
                }
                Err(x) => return Err(LayerError::entry_io(entry, x)),
            };
            fsys::chmod_fd(fd.as_fd(), mode).map_err(|x| LayerError::entry_io(&entry, x))?;
            fsys::set_mtime_at(fd.as_fd(), OsStr::new(""), mtime)
                .map_err(|x| LayerError::entry_io(&entry, x))?;
        }
        Ok(())
    }
}

/// Opens an existing directory path under `root` without following symlinks;
/// a symlink on the way is reported as ELOOP.
fn open_existing(root: BorrowedFd, comps: &[OsString]) -> io::Result<OwnedFd> {
    let mut fd = fsys::open_dir_at(root, OsStr::new("."))?;
    for c in comps {
        fd = match fsys::open_dir_at(fd.as_fd(), c) {
            Ok(next) => next,
            Err(x) => {
                return match fsys::lstat_at(fd.as_fd(), c) {
                    Ok(Some(st)) if fsys::is_symlink(&st) => {
                        Err(io::Error::from_raw_os_error(libc::ELOOP))
                    }
                    _ => Err(x),
                }
            }
        };
    }
    Ok(fd)
}

/// Why a parent component could not be opened as a directory.
fn parent_error(
    entry: &str,
    comps: &[OsString],
    parent: BorrowedFd,
    name: &OsStr,
    x: io::Error,
) -> LayerError {
    let shown = entry_path::display(&entry_path::join(comps));
    match fsys::lstat_at(parent, name) {
        Ok(Some(st)) if fsys::is_symlink(&st) => LayerError::unsafe_entry(
            entry,
            format!("parent {shown:?} is a symlink; refusing to write through it"),
        ),
        Ok(Some(_)) if errno(&x) == libc::ENOTDIR => LayerError::entry_io(
            entry,
            io::Error::new(x.kind(), format!("parent {shown:?} is not a directory")),
        ),
        _ => LayerError::entry_io(entry, x),
    }
}

/// Extended attributes a layer may set.
pub(crate) fn xattr_allowed(key: &[u8]) -> bool {
    if key.starts_with(b"trusted.overlay.") || key.starts_with(b"user.overlay.") {
        return false;
    }
    key.starts_with(b"user.")
        || key.starts_with(b"trusted.")
        || key == b"security.capability"
        || key == b"system.posix_acl_access"
        || key == b"system.posix_acl_default"
}
