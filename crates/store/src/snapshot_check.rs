//! Re-verifies an unpacked layer (a runtime snapshot, `snapshots/<chainID>`)
//! against the layer blob it was made from: the blob is streamed once and
//! every entry compared with what the tree holds (type, permission bits,
//! owner as root, file content, symlink target, device numbers, hard links,
//! capabilities, overlay whiteouts); then the tree is walked for anything the
//! layer never had. No marker is trusted: a snapshot is whatever its files
//! are, so this catches a flipped byte, a chmod +s, or a planted file alike.

use crate::error::io_err;
use crate::{Result, Store};
use hoist_oci::Digest;
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// At most this many differences are reported per snapshot.
const MAX_REPORTED: usize = 5;
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
const CAPABILITY_XATTR: &str = "security.capability";

impl Store {
    /// Compares the tree at `dir` with the layer blob `layer` (gzip, zstd or
    /// plain tar) as an overlay-mode unpack leaves it. Returns the differences
    /// found (empty when the tree matches), at most a handful.
    pub fn verify_unpacked_layer(&self, layer: &Digest, dir: &Path) -> Result<Vec<String>> {
        let blob = self.open_blob(layer)?;
        let path = self.blob_path(layer);
        let reader = decoder(BufReader::with_capacity(1 << 20, blob)).map_err(io_err(&path))?;
        let mut archive = tar::Archive::new(reader);
        // Per path; a later entry for the same path replaces an earlier one,
        // as in the unpack.
        let mut verdicts: HashMap<PathBuf, Option<String>> = HashMap::new();
        let mut expected: HashSet<PathBuf> = HashSet::new();
        // SAFETY: geteuid has no preconditions.
        let as_root = unsafe { libc::geteuid() } == 0;
        for entry in archive.entries().map_err(io_err(&path))? {
            let mut entry = entry.map_err(io_err(&path))?;
            let Some(rel) = normalize(&entry.path_bytes()) else {
                continue;
            };
            let name = rel.file_name().map(OsStr::as_bytes).unwrap_or_default();
            if name == b".wh..wh..opq" {
                let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
                let target = dir.join(&parent);
                let opaque = xattr::get(&target, OPAQUE_XATTR).ok().flatten();
                let verdict = (opaque.as_deref() != Some(b"y"))
                    .then(|| format!("{}: the opaque marker is gone", shown(&parent)));
                verdicts.insert(parent.join(".opaque"), verdict);
                continue;
            }
            if name.starts_with(b".wh..wh.") {
                continue;
            }
            if let Some(victim) = name.strip_prefix(b".wh.") {
                let victim = rel.with_file_name(OsStr::from_bytes(victim));
                if expected.contains(&victim) {
                    continue; // The layer made it itself: the unpack spares it.
                }
                let verdict = match std::fs::symlink_metadata(dir.join(&victim)) {
                    Ok(m) if m.file_type().is_char_device() && m.rdev() == 0 => None,
                    _ => Some(format!("{}: the whiteout is gone", shown(&victim))),
                };
                expected.insert(victim.clone());
                verdicts.insert(victim, verdict);
                continue;
            }
            let kind = entry.header().entry_type();
            if (kind.is_character_special() || kind.is_block_special()) && !as_root {
                continue; // Only root unpacks device nodes.
            }
            let verdict = compare(&mut entry, dir, &rel, as_root).map_err(io_err(&path))?;
            expected.insert(rel.clone());
            verdicts.insert(rel, verdict);
        }
        let mut found: Vec<String> = verdicts.into_values().flatten().collect();
        found.sort();
        let implied: HashSet<PathBuf> = expected
            .iter()
            .flat_map(|p| p.ancestors().skip(1).map(Path::to_path_buf))
            .collect();
        extra_files(dir, Path::new(""), &expected, &implied, &mut found)?;
        found.truncate(MAX_REPORTED);
        Ok(found)
    }
}

/// The path of a tar entry relative to the layer root; `None` for the root
/// itself and for paths the unpack refuses (they never reach a snapshot).
fn normalize(raw: &[u8]) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return None,
            p => out.push(OsStr::from_bytes(p)),
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn shown(p: &Path) -> String {
    format!("/{}", p.display())
}

/// Compares one entry with the file at `dir/rel`; `Some(difference)` when they differ.
fn compare<R: Read>(
    entry: &mut tar::Entry<R>,
    dir: &Path,
    rel: &Path,
    as_root: bool,
) -> std::io::Result<Option<String>> {
    let at = dir.join(rel);
    let what = shown(rel);
    let Ok(meta) = std::fs::symlink_metadata(&at) else {
        return Ok(Some(format!("{what}: missing")));
    };
    let header = entry.header().clone();
    let kind = header.entry_type();
    let ft = meta.file_type();
    let type_ok = match kind {
        tar::EntryType::Regular | tar::EntryType::Continuous => ft.is_file(),
        tar::EntryType::Link => !ft.is_dir(),
        tar::EntryType::Directory => ft.is_dir(),
        tar::EntryType::Symlink => ft.is_symlink(),
        tar::EntryType::Char => ft.is_char_device(),
        tar::EntryType::Block => ft.is_block_device(),
        tar::EntryType::Fifo => ft.is_fifo(),
        _ => return Ok(None), // PAX/GNU metadata entries carry no file.
    };
    if !type_ok {
        return Ok(Some(format!("{what}: not a {kind:?} as in the layer")));
    }
    if kind == tar::EntryType::Link {
        let source = entry
            .link_name_bytes()
            .and_then(|l| normalize(&l))
            .map(|l| dir.join(l));
        let same = source
            .and_then(|s| std::fs::symlink_metadata(s).ok())
            .is_some_and(|s| s.ino() == meta.ino() && s.dev() == meta.dev());
        return Ok((!same).then(|| format!("{what}: no longer a hard link to its source")));
    }
    if kind == tar::EntryType::Symlink {
        let want = entry.link_name_bytes().unwrap_or_default().into_owned();
        let have = std::fs::read_link(&at)?;
        return Ok((have.as_os_str().as_bytes() != want.as_slice())
            .then(|| format!("{what}: symlink target changed")));
    }
    let mode = header.mode().unwrap_or(0) & 0o7777;
    if meta.mode() & 0o7777 != mode {
        return Ok(Some(format!(
            "{what}: mode {:04o}, the layer says {mode:04o}",
            meta.mode() & 0o7777
        )));
    }
    if as_root {
        let (uid, gid) = (header.uid().unwrap_or(0), header.gid().unwrap_or(0));
        if u64::from(meta.uid()) != uid || u64::from(meta.gid()) != gid {
            return Ok(Some(format!(
                "{what}: owner {}:{}, the layer says {uid}:{gid}",
                meta.uid(),
                meta.gid()
            )));
        }
    }
    if ft.is_char_device() || ft.is_block_device() {
        let want = makedev(
            u64::from(header.device_major()?.unwrap_or(0)),
            u64::from(header.device_minor()?.unwrap_or(0)),
        );
        if meta.rdev() != want {
            return Ok(Some(format!("{what}: device numbers changed")));
        }
    }
    if let Some(diff) = compare_capability(entry, &at, &what)? {
        return Ok(Some(diff));
    }
    if ft.is_file() {
        if meta.len() != header.size()? {
            return Ok(Some(format!("{what}: size changed")));
        }
        if !same_content(entry, &at)? {
            return Ok(Some(format!("{what}: content changed")));
        }
    }
    Ok(None)
}

/// Linux's encoding of a device number (glibc's gnu_dev_makedev).
fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xffff_f000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0xff)
}

/// A file capability on disk must be the one the layer carries (or none).
fn compare_capability<R: Read>(
    entry: &mut tar::Entry<R>,
    at: &Path,
    what: &str,
) -> std::io::Result<Option<String>> {
    let key = format!("SCHILY.xattr.{CAPABILITY_XATTR}");
    let mut want: Option<Vec<u8>> = None;
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts.flatten() {
            if ext.key_bytes() == key.as_bytes() {
                want = Some(ext.value_bytes().to_vec());
            }
        }
    }
    let have = xattr::get(at, CAPABILITY_XATTR).ok().flatten();
    // A capability the filesystem refused (have None) is what the unpack
    // tolerates too; a capability the layer never had is a change.
    Ok(match (want, have) {
        (_, None) => None,
        (Some(w), Some(h)) if w == h => None,
        _ => Some(format!("{what}: file capabilities changed")),
    })
}

fn same_content(entry: &mut impl Read, at: &Path) -> std::io::Result<bool> {
    let mut file = File::open(at)?;
    let (mut a, mut b) = (vec![0u8; 256 * 1024], vec![0u8; 256 * 1024]);
    loop {
        let n = read_full(entry, &mut a)?;
        let m = read_full(&mut file, &mut b[..n.max(1)])?;
        if n != m || a[..n] != b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the input ends.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reports files in the tree that no entry of the layer accounts for.
fn extra_files(
    dir: &Path,
    rel: &Path,
    expected: &HashSet<PathBuf>,
    implied: &HashSet<PathBuf>,
    found: &mut Vec<String>,
) -> Result<()> {
    let here = dir.join(rel);
    let entries = std::fs::read_dir(&here).map_err(io_err(&here))?;
    for e in entries {
        let e = e.map_err(io_err(&here))?;
        let path = rel.join(e.file_name());
        if !expected.contains(&path) && !implied.contains(&path) {
            found.push(format!("{}: not in the layer", shown(&path)));
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            extra_files(dir, &path, expected, implied, found)?;
        }
    }
    Ok(())
}

/// Wraps a layer stream in the decoder its first bytes call for.
fn decoder<'a>(mut reader: impl std::io::BufRead + 'a) -> std::io::Result<Box<dyn Read + 'a>> {
    let head = reader.fill_buf()?.to_vec();
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(reader)?)
    } else {
        Box::new(reader)
    })
}
