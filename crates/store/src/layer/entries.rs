//! Reading tar entries with the checks every consumer needs: entry-count and
//! size limits, entry names normalized (or refused), device nodes policed, and
//! extended headers bounded. Both unpack and validate go through here.

use super::entry_path::{self, EntryPath};
use super::limits::{human_size, ENV_MAX_LAYER_SIZE, PATH_MAX};
use super::pipe::StreamState;
use super::LayerError;
use std::io::Read;

/// Headers, long names and PAX records allowed between two entries' data.
pub(crate) const META_ALLOWANCE: u64 = 16 << 20;

/// Extended attributes as (name, value) pairs.
pub(crate) type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Char,
    Block,
    Fifo,
}

/// One entry, decoded from its headers (PAX and GNU long names applied).
pub(crate) struct TarEntry {
    /// The name as it appears, for error messages.
    pub(crate) name: String,
    pub(crate) path: EntryPath,
    pub(crate) kind: Kind,
    pub(crate) size: u64,
    /// Symlink target or hardlink source (raw bytes).
    pub(crate) link: Option<Vec<u8>>,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mtime: i64,
    pub(crate) dev_major: u32,
    pub(crate) dev_minor: u32,
    pub(crate) xattrs: Xattrs,
}

#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Largest uncompressed tar stream.
    pub(crate) max_size: u64,
    pub(crate) max_entries: u64,
    pub(crate) allow_devices: bool,
}

impl Limits {
    pub(crate) fn new(limits: &super::LayerLimits, allow_devices: bool) -> Self {
        Limits {
            max_size: limits.max_size,
            max_entries: limits.max_entries,
            allow_devices,
        }
    }
}

/// A tar entry's data rounded up to whole 512-byte blocks.
fn padded(size: u64) -> u64 {
    size.saturating_add(511) / 512 * 512
}

/// Calls `f` with each entry and a reader of its content, in order.
/// Returns the StreamReader for draining, with (entries, content bytes).
pub(crate) fn for_each_entry<R: Read>(
    stream: R,
    state: &StreamState,
    limits: &Limits,
    mut f: impl FnMut(TarEntry, &mut dyn Read) -> Result<(), LayerError>,
) -> Result<((u64, u64), R), LayerError> {
    let mut archive = tar::Archive::new(stream);
    let mut entries_seen = 0u64;
    let mut content = 0u64;
    let mut last_name = String::from("(start of stream)");
    state.allowance.set(META_ALLOWANCE);
    {
        let entries = archive
            .entries()
            .map_err(|e| invalid_tar(state, e, &last_name))?;
        for item in entries {
            let mut entry = item.map_err(|e| invalid_tar(state, e, &last_name))?;
            let raw_name = entry.path_bytes().into_owned();
            let name = entry_path::display(&raw_name);
            last_name = name.clone();
            entries_seen += 1;
            if entries_seen > limits.max_entries {
                return Err(LayerError::Limit {
                    entry: name,
                    reason: format!("more than {} entries", limits.max_entries),
                });
            }
            // Checked before any of the entry's data is read: the stream so
            // far (this entry's headers included) plus its data.
            let end = state.total.get().saturating_add(padded(entry.size()));
            if end > limits.max_size {
                return Err(LayerError::Limit {
                    entry: name,
                    reason: format!(
                        "the uncompressed layer is larger than the limit of {} (set {ENV_MAX_LAYER_SIZE} to change it)",
                        human_size(limits.max_size)
                    ),
                });
            }
            let header = entry.header();
            let kind = match header.entry_type() {
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => Kind::File,
                tar::EntryType::Directory => Kind::Dir,
                tar::EntryType::Symlink => Kind::Symlink,
                tar::EntryType::Link => Kind::HardLink,
                tar::EntryType::Char => Kind::Char,
                tar::EntryType::Block => Kind::Block,
                tar::EntryType::Fifo => Kind::Fifo,
                // Global PAX headers, volume labels and the like carry no file.
                other => {
                    tracing::debug!(entry = %name, kind = ?other, "skipping tar entry");
                    state.allowance.set(META_ALLOWANCE + entry.size());
                    continue;
                }
            };
            let path = entry_path::normalize(&raw_name, &name)?;
            if matches!(kind, Kind::Char | Kind::Block) && !limits.allow_devices {
                return Err(LayerError::unsafe_entry(
                    name,
                    "device node (not allowed here; device nodes are only created by root with devices allowed)",
                ));
            }
            let size = if kind == Kind::File { entry.size() } else { 0 };
            content = content.saturating_add(size);
            let link = entry.link_name_bytes().map(|l| l.into_owned());
            if matches!(kind, Kind::Symlink | Kind::HardLink) {
                let target = link.as_deref().unwrap_or(b"");
                if target.is_empty() {
                    return Err(LayerError::unsafe_entry(name, "link with an empty target"));
                }
                if target.len() > PATH_MAX {
                    return Err(LayerError::Limit {
                        entry: name,
                        reason: format!(
                            "link target of {} bytes is longer than the {PATH_MAX} bytes a path may have",
                            target.len()
                        ),
                    });
                }
            }
            let xattrs = read_xattrs(&mut entry).map_err(|e| invalid_tar(state, e, &name))?;
            let header = entry.header();
            let te = TarEntry {
                mode: header.mode().unwrap_or(0o644),
                uid: header.uid().unwrap_or(0),
                gid: header.gid().unwrap_or(0),
                mtime: header
                    .mtime()
                    .map(|m| m.min(i64::MAX as u64) as i64)
                    .unwrap_or(0),
                dev_major: header.device_major().ok().flatten().unwrap_or(0),
                dev_minor: header.device_minor().ok().flatten().unwrap_or(0),
                name,
                path,
                kind,
                size,
                link,
                xattrs,
            };
            // The entry's data (rounded to blocks) plus the next headers.
            state
                .allowance
                .set(META_ALLOWANCE + size.saturating_add(511) / 512 * 512);
            f(te, &mut entry).map_err(|e| match state.take_error() {
                Some(stream_err) => stream_err,
                None => e,
            })?;
        }
    }
    Ok(((entries_seen, content), archive.into_inner()))
}

fn read_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>) -> std::io::Result<Xattrs> {
    let mut out = Vec::new();
    if let Some(exts) = entry.pax_extensions()? {
        for ext in exts {
            let ext = ext?;
            if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                out.push((name.to_vec(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

/// A tar-level read error: the stream's own error if it had one (corrupt
/// compression, a limit), else "not a valid tar".
fn invalid_tar(state: &StreamState, e: std::io::Error, after: &str) -> LayerError {
    state.take_error().unwrap_or_else(|| {
        LayerError::Invalid(format!("not a valid tar (after entry {after:?}): {e}"))
    })
}
