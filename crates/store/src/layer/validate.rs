//! Checking a tar without extracting it: the same name, link, device and
//! limit rules as unpacking, with symlinks tracked in memory (the tar is
//! judged as if extracted into an empty directory). `hoist import` uses this
//! to refuse hostile tars before they are stored.

use super::compress::HashWriter;
use super::entries::{for_each_entry, Kind, Limits, TarEntry};
use super::entry_path::{self, classify};
use super::pipe::{with_decoded, StreamState};
use super::{LayerError, TarSummary, ValidateOptions};
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::rc::Rc;

/// Checks every entry of a (gzip / zstd / plain) tar for escapes and limits.
pub fn validate_tar<R: Read + Send>(
    reader: R,
    opts: &ValidateOptions,
) -> Result<TarSummary, LayerError> {
    let mut hasher = HashWriter::new(io::sink());
    let summary = scan(reader, opts, &mut hasher)?;
    let (_, diff_id, tar_size) = hasher.finish();
    Ok(TarSummary {
        diff_id,
        tar_size,
        ..summary
    })
}

/// Reads the decompressed tar, copying every byte of it to `out` while
/// checking each entry. Fails on the first unsafe entry.
pub(crate) fn scan<R: Read + Send>(
    reader: R,
    opts: &ValidateOptions,
    out: &mut dyn Write,
) -> Result<TarSummary, LayerError> {
    let state = Rc::new(StreamState::default());
    let limits = Limits::new(&opts.limits, opts.allow_devices);
    let mut checker = Checker::default();
    with_decoded(reader, Rc::clone(&state), |stream| {
        let tee = Tee { inner: stream, out };
        let ((entries, content_bytes), mut tee) =
            for_each_entry(tee, &state, &limits, |e, _| checker.check(&e))?;
        // Copy the rest (end blocks and padding) so `out` gets the whole tar.
        state.allowance.set(super::entries::META_ALLOWANCE);
        io::copy(&mut tee, &mut io::sink())
            .map_err(|e| state.take_error().unwrap_or(LayerError::Io(e)))?;
        let summary = TarSummary {
            entries,
            content_bytes,
            ..Default::default()
        };
        Ok((summary, tee.inner))
    })
}

/// Passes reads through, copying what was read to `out`.
struct Tee<'w, R> {
    inner: R,
    out: &'w mut dyn Write,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

#[derive(Default)]
struct Checker {
    /// Paths that are symlinks as of the entries seen so far.
    symlinks: HashSet<Vec<u8>>,
}

impl Checker {
    fn check(&mut self, e: &TarEntry) -> Result<(), LayerError> {
        if e.path.is_root() {
            return Ok(());
        }
        classify(e.path.file_name(), &e.name)?;
        self.no_symlink_parent(&e.path.components, &e.name, "parent")?;
        if e.kind == Kind::HardLink {
            let raw = e.link.as_deref().unwrap_or_default();
            let shown = entry_path::display(raw);
            let src = entry_path::normalize(raw, &e.name).map_err(|err| match err {
                LayerError::Unsafe { reason, .. } => LayerError::unsafe_entry(
                    &e.name,
                    format!("hardlink target {shown:?}: {reason}"),
                ),
                other => other,
            })?;
            if src.is_root() {
                return Err(LayerError::unsafe_entry(
                    &e.name,
                    "hardlink to the root directory",
                ));
            }
            self.no_symlink_parent(&src.components, &e.name, "hardlink target's parent")?;
        }
        let key = e.path.key();
        if e.kind == Kind::Symlink {
            self.symlinks.insert(key);
        } else if !self.symlinks.is_empty() {
            self.symlinks.remove(&key);
        }
        Ok(())
    }

    /// Refuses a path whose parent directories include a symlink created by
    /// an earlier entry (writing through it could leave the root).
    fn no_symlink_parent(
        &self,
        comps: &[std::ffi::OsString],
        entry: &str,
        what: &str,
    ) -> Result<(), LayerError> {
        if self.symlinks.is_empty() {
            return Ok(());
        }
        for i in 1..comps.len() {
            let prefix = entry_path::join(&comps[..i]);
            if self.symlinks.contains(&prefix) {
                return Err(LayerError::unsafe_entry(
                    entry,
                    format!(
                        "{what} {:?} is a symlink; refusing to write through it",
                        entry_path::display(&prefix)
                    ),
                ));
            }
        }
        Ok(())
    }
}
