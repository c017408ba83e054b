//! `cp` between a container and the host, with docker's rules for what the
//! source and destination paths mean, and a tar stream for `-`.
//!
//! Both sides are an [`InRoot`]: the container's root (rootfs.rs: a running
//! container's `/proc/PID/root`, a stopped one's overlay mounted detached, so
//! writes land in its upper dir) and, for the host, `/` itself. Paths on the
//! container's side are hostile; every one of them is resolved by the kernel
//! inside the root (inroot.rs). The copy is a tar stream either way
//! (pack.rs → a pipe → unpack.rs): the same code serves `cp c:/x -` and
//! `cp - c:/dir`.

mod changes;
mod pack;
mod rootfs;
mod unpack;

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

use crate::inroot::{fstat, InRoot};

pub use changes::{changes, layer_tar, Change, ChangeKind};
pub use rootfs::{container_root, container_view};
pub use unpack::Owner;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("could not find the file {0}")]
    SourceMissing(String),
    #[error("cannot copy a directory to a file: {0} is a file")]
    DirToFile(String),
    #[error("destination directory {0} does not exist (cp makes no parent directories)")]
    NoDestDir(String),
    #[error("destination {0} must be a directory to extract an archive into")]
    NotADir(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> CopyError {
    let what = what.into();
    move |source| CopyError::Io { what, source }
}

/// One side of a copy: a root and a path inside it.
pub struct Side<'a> {
    pub root: &'a InRoot,
    pub path: &'a str,
}

/// How files are copied: `follow` the source's final symlink (`-L`);
/// `owner` of what is written (docker: the destination's root, the
/// archive's ids with `-a`).
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    pub follow: bool,
    pub owner: Owner,
}

/// The host's own file system as a side's root (host paths are the user's
/// own and absolute).
pub fn host_root() -> Result<InRoot, CopyError> {
    InRoot::open_dir(Path::new("/")).map_err(io_err("opening /"))
}

/// Copies `src` to `dst` with docker's rules: into an existing directory
/// under the source's name (a source ending in `/.`: its contents), over an
/// existing file, or to a new name whose parent exists.
pub fn copy(src: Side<'_>, dst: Side<'_>, opts: CopyOptions) -> Result<(), CopyError> {
    let (top, is_dir) = open_source(&src, opts.follow)?;
    let contents_only = src.path.ends_with("/.") || src.path.trim_end_matches('/').is_empty();
    let (dir, name) = destination(&dst, is_dir, contents_only, &src)?;
    let (reader, writer) = io::pipe().map_err(io_err("making a pipe"))?;
    std::thread::scope(|s| {
        let packer = s.spawn(move || pack::pack(top, name.as_deref(), writer));
        let unpacked = unpack::unpack(reader, dst.root, &dir, opts.owner);
        let packed = packer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("panic")));
        packed
            .map_err(io_err(format!("reading {}", src.path)))
            .and(unpacked.map_err(io_err(format!("writing {}", dst.path))))
    })
}

/// `cp SRC -`: the source as a tar stream named by its base name.
pub fn tar_out(src: Side<'_>, follow: bool, out: impl Write) -> Result<(), CopyError> {
    let (top, _) = open_source(&src, follow)?;
    let name = base_name(src.path);
    pack::pack(top, name.as_deref(), out).map_err(io_err(format!("reading {}", src.path)))
}

/// `cp - DEST`: a tar stream extracted into the existing directory `dst`,
/// with the archive's owners (as docker's daemon does).
pub fn tar_in(input: impl Read, dst: Side<'_>) -> Result<(), CopyError> {
    match dst.root.open(dst.path, libc::O_PATH | libc::O_DIRECTORY, 0) {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            return Err(CopyError::NotADir(dst.path.into()))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            return Err(CopyError::NoDestDir(dst.path.into()))
        }
        Err(e) => return Err(io_err(dst.path)(e)),
    }
    unpack::unpack(input, dst.root, dst.path, Owner::FromArchive)
        .map_err(io_err(format!("writing {}", dst.path)))
}

/// `export`: the container's whole file system (image and changes, no
/// volumes) as a tar stream.
pub fn export(
    root: &Path,
    rec: &crate::container::ContainerRecord,
    out: impl Write,
) -> Result<(), CopyError> {
    let view = container_view(root, rec)?;
    let top = view
        .open("/", libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(io_err("/"))?;
    pack::pack(top, None, out).map_err(io_err(format!("exporting {}", rec.name)))
}

fn open_source(src: &Side<'_>, follow: bool) -> Result<(std::os::fd::OwnedFd, bool), CopyError> {
    let flags = libc::O_PATH | if follow { 0 } else { libc::O_NOFOLLOW };
    // "dir/" and "dir/." name the directory (and must be one).
    let path = src.path.trim_end_matches("/.");
    let path = if path.ends_with('/') && path.len() > 1 {
        format!("{}/.", path.trim_end_matches('/'))
    } else {
        path.to_string()
    };
    let top = match src.root.open(&path, flags, 0) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            return Err(CopyError::SourceMissing(src.path.into()))
        }
        r => r.map_err(io_err(src.path))?,
    };
    let st = fstat(top.as_fd()).map_err(io_err(src.path))?;
    Ok((top, pack::kind(&st) == libc::S_IFDIR))
}

/// Where to extract (a directory inside the destination's root) and under
/// which name the source's top goes (`None`: its contents).
fn destination(
    dst: &Side<'_>,
    src_is_dir: bool,
    contents_only: bool,
    src: &Side<'_>,
) -> Result<(String, Option<String>), CopyError> {
    match dst.root.open(dst.path, libc::O_PATH, 0) {
        Ok(fd) => {
            let st = fstat(fd.as_fd()).map_err(io_err(dst.path))?;
            if pack::kind(&st) == libc::S_IFDIR {
                let name = if contents_only && src_is_dir {
                    None
                } else {
                    base_name(src.path)
                };
                return Ok((dst.path.to_string(), name));
            }
            if src_is_dir {
                return Err(CopyError::DirToFile(dst.path.into()));
            }
            Ok(split(dst.path))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            let (parent, name) = split(dst.path);
            let parent_is_dir = dst
                .root
                .open(&parent, libc::O_PATH | libc::O_DIRECTORY, 0)
                .is_ok();
            if dst.path.ends_with('/') || !parent_is_dir {
                let missing = if dst.path.ends_with('/') {
                    dst.path.to_string()
                } else {
                    parent
                };
                return Err(CopyError::NoDestDir(missing));
            }
            Ok((parent, name))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            Err(CopyError::NoDestDir(dst.path.into()))
        }
        Err(e) => Err(io_err(dst.path)(e)),
    }
}

/// "a/b/c" → ("a/b", Some("c")); "/c" → ("/", Some("c")).
fn split(path: &str) -> (String, Option<String>) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((p, n)) => (
            if p.is_empty() { "/".into() } else { p.into() },
            Some(n.into()),
        ),
        None => (".".into(), Some(trimmed.into())),
    }
}

/// The last component of a path (`None` for `/`).
fn base_name(path: &str) -> Option<String> {
    let p = path.trim_end_matches("/.").trim_end_matches('/');
    p.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(root: &'a InRoot, path: &'a str) -> Side<'a> {
        Side { root, path }
    }

    #[test]
    fn docker_rules_for_files_and_directories() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(a.path().join("d/sub")).unwrap();
        std::fs::write(a.path().join("d/sub/f"), "data").unwrap();
        std::fs::write(a.path().join("f"), "one").unwrap();
        std::os::unix::fs::symlink("/f", a.path().join("d/link")).unwrap();
        let (ra, rb) = (
            InRoot::open_dir(a.path()).unwrap(),
            InRoot::open_dir(b.path()).unwrap(),
        );
        let opts = CopyOptions {
            follow: false,
            owner: Owner::FromArchive,
        };
        // A directory into an existing one keeps its name.
        copy(side(&ra, "/d"), side(&rb, "/"), opts).unwrap();
        assert_eq!(std::fs::read(b.path().join("d/sub/f")).unwrap(), b"data");
        let link = std::fs::read_link(b.path().join("d/link")).unwrap();
        assert_eq!(link, Path::new("/f"));
        // Its contents with "/.", to a new name otherwise.
        copy(side(&ra, "/d/."), side(&rb, "/d/sub"), opts).unwrap();
        assert!(b.path().join("d/sub/sub/f").exists());
        copy(side(&ra, "/d"), side(&rb, "/e"), opts).unwrap();
        assert!(b.path().join("e/sub/f").exists());
        // A file over a file; a directory over a file is refused.
        copy(side(&ra, "/f"), side(&rb, "/e/sub/f"), opts).unwrap();
        assert_eq!(std::fs::read(b.path().join("e/sub/f")).unwrap(), b"one");
        let e = copy(side(&ra, "/d"), side(&rb, "/e/sub/f"), opts).unwrap_err();
        assert!(matches!(e, CopyError::DirToFile(_)), "{e}");
        let e = copy(side(&ra, "/f"), side(&rb, "/nope/x"), opts).unwrap_err();
        assert!(matches!(e, CopyError::NoDestDir(_)), "{e}");
        let e = copy(side(&ra, "/missing"), side(&rb, "/"), opts).unwrap_err();
        assert!(matches!(e, CopyError::SourceMissing(_)), "{e}");
        // -L copies what the link names (inside its root).
        let follow = CopyOptions {
            follow: true,
            ..opts
        };
        copy(side(&ra, "/d/link"), side(&rb, "/target"), follow).unwrap();
        assert_eq!(std::fs::read(b.path().join("target")).unwrap(), b"one");
    }
}
