//! Checking a tar without extracting it: the same name, link, device and
//! limit rules as unpacking, with symlinks tracked in memory (the tar is
//! judged as if extracted into an empty directory). `hoist import` uses this
//! to refuse hostile tars before they are stored.

use super::compress::{sniff, Detected, HashWriter};
use super::entries::{for_each_entry, Kind, Limits, TarEntry};
use super::entry_path::{self, classify};
use super::pipe::{with_decoded, StreamState};
use super::{LayerError, TarSummary, ValidateOptions};
use hoist_oci::{Algorithm, Digest};
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

/// [`validate_tar`] for a blob whose digest the caller computes anyway
/// while it feeds the bytes (a download hashes what it stores): when the
/// stream is an uncompressed tar and `blob_digest` is sha256, the diff ID is
/// that digest — the tar is the blob — and the bytes are not hashed a
/// second time. The summary's `diff_id` is then `blob_digest` as given, so it
/// holds only once the caller has checked that the bytes hash to it; a
/// caller that cannot must use [`validate_tar`]. A compressed stream is
/// hashed after decompression as before.
pub fn validate_blob_tar<R: Read + Send>(
    reader: R,
    opts: &ValidateOptions,
    blob_digest: &Digest,
) -> Result<TarSummary, LayerError> {
    let (kind, reader) = sniff(reader)?;
    if kind != Detected::Plain || blob_digest.algorithm() != Algorithm::Sha256 {
        return validate_tar(reader, opts);
    }
    let mut counted = Counter(0);
    let summary = scan(reader, opts, &mut counted)?;
    Ok(TarSummary {
        diff_id: blob_digest.to_string(),
        tar_size: counted.0,
        ..summary
    })
}

/// Counts the bytes written to it (the tar's size, without hashing it).
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_oci::Hasher;
    use std::io::Write;

    fn tar_with(name: &str) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // set_path refuses `..`; write the raw name like a hostile tool would.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, &b"abc"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn a_plain_blobs_diff_id_is_its_digest_without_hashing_it_again() {
        let tar = tar_with("ok");
        let digest = Digest::sha256_of(&tar);
        let opts = ValidateOptions::default();
        let hashed = validate_tar(tar.as_slice(), &opts).unwrap();
        let known = validate_blob_tar(tar.as_slice(), &opts, &digest).unwrap();
        assert_eq!(hashed.diff_id, digest.to_string(), "the tar is the blob");
        assert_eq!(known.diff_id, hashed.diff_id);
        assert_eq!(known.tar_size, tar.len() as u64);
        assert_eq!(known.entries, hashed.entries);
        // The given digest is taken as the caller's word (it verifies it):
        // that is what makes the second hash unneeded.
        let other = Digest::sha256_of(b"other");
        let taken = validate_blob_tar(tar.as_slice(), &opts, &other).unwrap();
        assert_eq!(taken.diff_id, other.to_string());
    }

    #[test]
    fn compressed_and_sha512_blobs_are_still_hashed_and_hostile_ones_refused() {
        let tar = tar_with("ok");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let opts = ValidateOptions::default();
        let summary = validate_blob_tar(gz.as_slice(), &opts, &Digest::sha256_of(&gz)).unwrap();
        assert_eq!(summary.diff_id, Digest::sha256_of(&tar).to_string());

        let mut h = Hasher::new(Algorithm::Sha512);
        h.update(&tar);
        let sha512 = h.finish();
        let summary = validate_blob_tar(tar.as_slice(), &opts, &sha512).unwrap();
        assert_eq!(summary.diff_id, Digest::sha256_of(&tar).to_string());

        let hostile = tar_with("../escape");
        let err =
            validate_blob_tar(hostile.as_slice(), &opts, &Digest::sha256_of(&hostile)).unwrap_err();
        assert!(err.to_string().contains("../escape"), "{err}");
    }
}
