//! Packing a directory into a deterministic tar. The same tree gives the same
//! bytes: entries in sorted order (depth-first, names compared as bytes),
//! ustar headers with empty user/group names, mtimes in whole seconds clamped
//! to SOURCE_DATE_EPOCH when given, no atime/ctime, and PAX records only where
//! ustar cannot hold a value (long names, big ids or sizes, xattrs), written
//! in a fixed key order.

use super::compress::LayerSink;
use super::entries::Xattrs;
use super::entry_path::{OPAQUE_NAME, WHITEOUT_PREFIX};
use super::unpack::xattr_allowed;
use super::{LayerError, PackOptions, PackedLayer};
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Largest value of an 11-digit octal ustar size field.
const USTAR_MAX_SIZE: u64 = 0o77777777777;
/// Largest value of a 7-digit octal ustar uid/gid field.
const USTAR_MAX_ID: u64 = 0o7777777;

/// Packs `dir` into a layer written to `out`; returns its digest and diffID.
/// On error the output is incomplete and must be discarded.
pub fn pack_dir_to<W: Write>(
    dir: &Path,
    opts: &PackOptions,
    out: W,
) -> Result<PackedLayer, LayerError> {
    let meta = fs::symlink_metadata(dir).map_err(|e| LayerError::path_io(dir, e))?;
    if !meta.is_dir() {
        return Err(LayerError::path_io(
            dir,
            io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    let sink = LayerSink::new(opts.compression, out)?;
    let mut packer = Packer {
        tar: tar::Builder::new(sink),
        opts,
        links: HashMap::new(),
    };
    packer.walk_children(dir, b"")?;
    let sink = packer.tar.into_inner()?;
    let (_, layer) = sink.finish()?;
    Ok(layer)
}

pub(super) struct Packer<'o, W: Write> {
    pub(super) tar: tar::Builder<LayerSink<W>>,
    pub(super) opts: &'o PackOptions,
    /// (dev, inode) of multiply-linked files already written -> their tar name.
    pub(super) links: HashMap<(u64, u64), Vec<u8>>,
}

impl<W: Write> Packer<'_, W> {
    /// Writes every entry below `dir` (tar name prefix `prefix`, "" or "a/b/").
    fn walk_children(&mut self, dir: &Path, prefix: &[u8]) -> Result<(), LayerError> {
        let mut names: Vec<OsString> = fs::read_dir(dir)
            .map_err(|e| LayerError::path_io(dir, e))?
            .map(|d| d.map(|d| d.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|e| LayerError::path_io(dir, e))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let path = dir.join(&name);
            let meta = fs::symlink_metadata(&path).map_err(|e| LayerError::path_io(&path, e))?;
            let mut tar_name = prefix.to_vec();
            tar_name.extend_from_slice(name.as_bytes());
            self.entry(&path, &meta, tar_name, &name)?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        path: &Path,
        meta: &fs::Metadata,
        mut tar_name: Vec<u8>,
        name: &OsString,
    ) -> Result<(), LayerError> {
        let ft = meta.file_type();
        let err = |e| LayerError::path_io(path, e);
        if self.opts.overlay_whiteouts && ft.is_char_device() && meta.rdev() == 0 {
            // An overlayfs whiteout: becomes `.wh.NAME`, an empty regular file.
            let mut wh = tar_name[..tar_name.len() - name.len()].to_vec();
            wh.extend_from_slice(WHITEOUT_PREFIX.as_bytes());
            wh.extend_from_slice(name.as_bytes());
            let h = Head::marker(self.mtime(meta));
            return self.append(h, wh, None, &[], &mut io::empty()).map_err(err);
        }
        let xattrs = self.xattrs(path, meta)?;
        let mut head = Head::from_meta(meta, self.mtime(meta));
        if ft.is_dir() {
            head.kind = tar::EntryType::Directory;
            tar_name.push(b'/');
            self.append(head, tar_name.clone(), None, &xattrs, &mut io::empty())
                .map_err(err)?;
            if self.opts.overlay_whiteouts && is_opaque(path) {
                let mut marker = tar_name.clone();
                marker.extend_from_slice(OPAQUE_NAME.as_bytes());
                self.append(
                    Head::marker(self.mtime(meta)),
                    marker,
                    None,
                    &[],
                    &mut io::empty(),
                )
                .map_err(err)?;
            }
            return self.walk_children(path, &tar_name);
        }
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.links.get(&key) {
                let first = first.clone();
                head.kind = tar::EntryType::Link;
                return self
                    .append(head, tar_name, Some(&first), &[], &mut io::empty())
                    .map_err(err);
            }
            self.links.insert(key, tar_name.clone());
        }
        if ft.is_file() {
            head.kind = tar::EntryType::Regular;
            head.size = meta.len();
            let file = File::open(path).map_err(err)?;
            let mut data = Counted {
                inner: file.take(head.size),
                n: 0,
            };
            self.append(head, tar_name, None, &xattrs, &mut data)
                .map_err(err)?;
            if data.n != meta.len() {
                return Err(err(io::Error::other(
                    "file changed size while being packed",
                )));
            }
            return Ok(());
        }
        if ft.is_symlink() {
            head.kind = tar::EntryType::Symlink;
            let target = fs::read_link(path).map_err(err)?;
            return self
                .append(
                    head,
                    tar_name,
                    Some(target.as_os_str().as_bytes()),
                    &xattrs,
                    &mut io::empty(),
                )
                .map_err(err);
        }
        if ft.is_char_device() || ft.is_block_device() {
            head.kind = if ft.is_char_device() {
                tar::EntryType::Char
            } else {
                tar::EntryType::Block
            };
            head.dev = Some((libc::major(meta.rdev()), libc::minor(meta.rdev())));
            return self
                .append(head, tar_name, None, &xattrs, &mut io::empty())
                .map_err(err);
        }
        if ft.is_fifo() {
            head.kind = tar::EntryType::Fifo;
            return self
                .append(head, tar_name, None, &xattrs, &mut io::empty())
                .map_err(err);
        }
        // Sockets cannot be stored in a tar (GNU tar skips them too).
        tracing::debug!(path = %path.display(), "skipping socket");
        Ok(())
    }

    fn mtime(&self, meta: &fs::Metadata) -> u64 {
        self.clamp_mtime(meta.mtime())
    }

    /// `t` clamped to SOURCE_DATE_EPOCH (when given) and to 0.
    pub(super) fn clamp_mtime(&self, mut t: i64) -> u64 {
        if let Some(epoch) = self.opts.source_date_epoch {
            t = t.min(epoch);
        }
        t.max(0) as u64
    }

    /// The xattrs worth carrying, sorted by name (overlay's own are dropped).
    fn xattrs(&self, path: &Path, meta: &fs::Metadata) -> Result<Xattrs, LayerError> {
        if meta.file_type().is_symlink() {
            return Ok(Vec::new());
        }
        let names = match xattr::list(path) {
            Ok(names) => names,
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(LayerError::path_io(path, e)),
        };
        let mut out = Vec::new();
        for name in names {
            let key = name.as_bytes().to_vec();
            if !xattr_allowed(&key) {
                continue;
            }
            if let Some(value) =
                xattr::get(path, &name).map_err(|e| LayerError::path_io(path, e))?
            {
                out.push((key, value));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Appends one entry (with a PAX header first when needed).
    pub(super) fn append(
        &mut self,
        head: Head,
        name: Vec<u8>,
        link: Option<&[u8]>,
        xattrs: &[(Vec<u8>, Vec<u8>)],
        data: &mut dyn Read,
    ) -> io::Result<()> {
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(head.kind);
        h.set_mode(head.mode);
        h.set_mtime(head.mtime);
        if !put_ustar_name(&mut h, &name) {
            pax.push(("path".into(), name.clone()));
            put_ustar_name(&mut h, &truncate_name(&name));
        }
        if let Some(link) = link {
            if link.len() <= 100 {
                h.set_link_name_literal(link)?;
            } else {
                pax.push(("linkpath".into(), link.to_vec()));
                h.set_link_name_literal(&link[..100])?;
            }
        }
        if head.size > USTAR_MAX_SIZE {
            pax.push(("size".into(), head.size.to_string().into_bytes()));
            h.set_size(0);
        } else {
            h.set_size(head.size);
        }
        for (key, id, set) in [("uid", head.uid, true), ("gid", head.gid, false)] {
            let v = if id > USTAR_MAX_ID {
                pax.push((key.into(), id.to_string().into_bytes()));
                0
            } else {
                id
            };
            if set {
                h.set_uid(v)
            } else {
                h.set_gid(v)
            }
        }
        if let Some((major, minor)) = head.dev {
            h.set_device_major(major)?;
            h.set_device_minor(minor)?;
        }
        for (k, v) in xattrs {
            pax.push((
                format!("SCHILY.xattr.{}", String::from_utf8_lossy(k)),
                v.clone(),
            ));
        }
        if !pax.is_empty() {
            self.append_pax(&pax)?;
        }
        h.set_cksum();
        // Over 8 GiB the real size travels in the PAX record; tar::Builder
        // pads by what it copied, so the stream stays aligned either way.
        self.tar.append(&h, data)
    }

    /// A PAX extended header ('x') with a fixed name and no timestamps.
    fn append_pax(&mut self, records: &[(String, Vec<u8>)]) -> io::Result<()> {
        let mut body = Vec::new();
        for (key, value) in records {
            // "LEN key=value\n" where LEN counts itself.
            let rest = key.len() + value.len() + 3;
            let mut digits = 1;
            while (rest + digits).to_string().len() > digits {
                digits += 1;
            }
            let len = rest + digits;
            body.extend_from_slice(format!("{len} {key}=").as_bytes());
            body.extend_from_slice(value);
            body.push(b'\n');
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        put_ustar_name(&mut h, b"PaxHeader");
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_size(body.len() as u64);
        h.set_cksum();
        self.tar.append(&h, body.as_slice())
    }
}

/// The header fields taken from a file's metadata.
pub(super) struct Head {
    pub(super) kind: tar::EntryType,
    pub(super) mode: u32,
    pub(super) uid: u64,
    pub(super) gid: u64,
    pub(super) mtime: u64,
    pub(super) size: u64,
    pub(super) dev: Option<(u32, u32)>,
}

impl Head {
    fn from_meta(meta: &fs::Metadata, mtime: u64) -> Head {
        Head {
            kind: tar::EntryType::Regular,
            mode: meta.mode() & 0o7777,
            uid: meta.uid() as u64,
            gid: meta.gid() as u64,
            mtime,
            size: 0,
            dev: None,
        }
    }

    /// An empty whiteout or opaque marker.
    fn marker(mtime: u64) -> Head {
        Head {
            kind: tar::EntryType::Regular,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime,
            size: 0,
            dev: None,
        }
    }
}

/// An overlayfs opaque directory (trusted.* as root, user.* unprivileged).
fn is_opaque(path: &Path) -> bool {
    ["trusted.overlay.opaque", "user.overlay.opaque"]
        .iter()
        .any(|k| matches!(xattr::get(path, k), Ok(Some(v)) if v == b"y"))
}

/// Stores `name` in ustar name (100) + prefix (155) fields; false if it
/// does not fit.
fn put_ustar_name(h: &mut tar::Header, name: &[u8]) -> bool {
    let ustar = h.as_ustar_mut().expect("ustar header");
    if name.len() <= 100 {
        ustar.name = [0; 100];
        ustar.name[..name.len()].copy_from_slice(name);
        return true;
    }
    // Split at a '/' so the prefix is <= 155 bytes and the rest <= 100.
    let split = name
        .iter()
        .enumerate()
        .filter(|&(i, &b)| {
            b == b'/' && i <= 155 && name.len() - i - 1 <= 100 && name.len() - i - 1 > 0
        })
        .map(|(i, _)| i)
        .next();
    match split {
        Some(i) => {
            ustar.prefix = [0; 155];
            ustar.prefix[..i].copy_from_slice(&name[..i]);
            ustar.name = [0; 100];
            ustar.name[..name.len() - i - 1].copy_from_slice(&name[i + 1..]);
            true
        }
        None => false,
    }
}

/// The ustar fallback name when PAX carries the real one: its last 100 bytes
/// minus any partial component, so old readers see something recognisable.
fn truncate_name(name: &[u8]) -> Vec<u8> {
    let tail = &name[name.len().saturating_sub(99)..];
    match tail.iter().position(|&b| b == b'/') {
        Some(i) if i + 1 < tail.len() => tail[i + 1..].to_vec(),
        _ => tail.to_vec(),
    }
}

pub(super) struct Counted<R> {
    pub(super) inner: R,
    pub(super) n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}
