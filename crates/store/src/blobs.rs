//! Blobs: content-addressed files under `content/blobs/<alg>/<hex>`.
//! A write streams into `tmp/`, hashing as it goes; only after the digest is
//! verified and the data fsynced is it renamed into place, so a blob is never
//! visible half-written, and a crash leaves at most a stray temp file.

use crate::error::io_err;
use crate::{Result, Store, StoreError};
use hoist_oci::{Algorithm, Digest, Hasher};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// A blob being written. Implements `io::Write`; `finish` verifies and
/// publishes it; dropping it unfinished deletes the temp file.
pub struct BlobWriter {
    store: Store,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
    hasher: Option<Hasher>,
    /// Set when hashing ended ([`BlobWriter::digest`]); no writes after.
    digest: Option<Digest>,
    size: u64,
    /// Bytes handed to the kernel's writeback so far (see `write`).
    kicked: u64,
}

/// Writeback of a blob's file is started after every this many bytes that
/// left the buffer: the disk writes while the rest arrives, so the fsync in
/// `finish` waits for the last few MiB instead of the whole blob (a pull of
/// 4 x 128 MiB otherwise dirtied 512 MiB of page cache, below the kernel's
/// background threshold, and wrote all of it only at the end). Smaller blobs
/// never reach it and are left to that fsync alone.
const WRITEBACK_STEP: u64 = 8 << 20;

/// Writes at least this large skip the writer's buffer (see `write`).
const DIRECT_WRITE: usize = 64 << 10;

impl Store {
    /// Starts writing a sha256 blob.
    pub fn blob_writer(&self) -> Result<BlobWriter> {
        self.blob_writer_with(Algorithm::Sha256)
    }

    /// Starts writing a blob hashed with `algorithm`.
    pub fn blob_writer_with(&self, algorithm: Algorithm) -> Result<BlobWriter> {
        let tmp = temp_path(self, "blob");
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        Ok(BlobWriter {
            store: self.clone(),
            tmp,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            hasher: Some(Hasher::new(algorithm)),
            digest: None,
            size: 0,
            kicked: 0,
        })
    }

    /// Writes `bytes` as a sha256 blob and returns its digest.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let mut w = self.blob_writer()?;
        w.write_all(bytes).map_err(io_err(&w.tmp))?;
        Ok(w.finish(None)?.0)
    }

    /// Streams `reader` into a blob, verifying `expected` when given
    /// (its algorithm is used for hashing).
    pub fn write_blob_from(
        &self,
        mut reader: impl Read,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64)> {
        let alg = expected.map_or(Algorithm::Sha256, |d| d.algorithm());
        if let Some(d) = expected {
            if self.has_blob(d) {
                // Same content twice is a no-op; drain so callers see the stream consumed.
                std::io::copy(&mut reader, &mut std::io::sink()).map_err(io_err(Path::new("-")))?;
                return Ok((d.clone(), self.blob_size(d)?));
            }
        }
        let mut w = self.blob_writer_with(alg)?;
        std::io::copy(&mut reader, &mut w).map_err(io_err(&w.tmp.clone()))?;
        w.finish(expected)
    }

    /// Whether the blob is present.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// The blob's size in bytes.
    pub fn blob_size(&self, digest: &Digest) -> Result<u64> {
        let p = self.blob_path(digest);
        match std::fs::metadata(&p) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::BlobNotFound(digest.to_string()))
            }
            Err(e) => Err(StoreError::Io { path: p, source: e }),
        }
    }

    /// Opens the blob for reading.
    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let p = self.blob_path(digest);
        File::open(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::BlobNotFound(digest.to_string()),
            _ => StoreError::Io { path: p, source: e },
        })
    }

    /// Reads a whole (small) blob, verifying its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let p = self.blob_path(digest);
        self.open_blob(digest)?
            .read_to_end(&mut bytes)
            .map_err(io_err(&p))?;
        let actual = digest.of_same_kind(&bytes);
        if &actual != digest {
            return Err(StoreError::Corrupt {
                what: format!("blob {digest}"),
                reason: format!(
                    "its content hashes to {actual}; run `hoist system check --repair`, then pull the image again"
                ),
            });
        }
        Ok(bytes)
    }

    /// Every blob digest present in the store.
    pub fn all_blobs(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in ["sha256", "sha512"] {
            let dir = self.content_dir().join("blobs").join(alg);
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(StoreError::Io {
                        path: dir,
                        source: e,
                    })
                }
            };
            for entry in entries {
                let entry = entry.map_err(io_err(&dir))?;
                let name = entry.file_name();
                if let Ok(d) = format!("{alg}:{}", name.to_string_lossy()).parse::<Digest>() {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digest of everything written, computed by this writer as the
    /// bytes went in; it ends the writing (a later write fails). For a
    /// caller that must know the digest before it decides to publish (a
    /// download reporting damage in transit before judging a layer): it
    /// asks here instead of hashing every byte a second time, and what
    /// `finish` verifies is still this writer's own hash.
    pub fn digest(&mut self) -> Digest {
        if let Some(hasher) = self.hasher.take() {
            self.digest = Some(hasher.finish());
        }
        self.digest
            .clone()
            .expect("a writer hashes until its digest is taken")
    }

    /// Verifies the content against `expected` (when given), makes it durable,
    /// and publishes it. Returns the digest and size.
    pub fn finish(mut self, expected: Option<&Digest>) -> Result<(Digest, u64)> {
        let digest = self.digest();
        let file = self.file.take().expect("finish called once");
        let file = file.into_inner().map_err(|e| StoreError::Io {
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
        if let Some(exp) = expected {
            if exp != &digest {
                return Err(StoreError::DigestMismatch {
                    expected: exp.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        let target = self.store.blob_path(&digest);
        if target.is_file() {
            return Ok((digest, self.size)); // Drop removes our temp copy.
        }
        file.sync_all().map_err(io_err(&self.tmp))?;
        drop(file);
        std::fs::rename(&self.tmp, &target).map_err(io_err(&target))?;
        sync_dir(target.parent().unwrap())?;
        Ok((digest, self.size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some(hasher) = self.hasher.as_mut() else {
            return Err(std::io::Error::other(
                "blob writer: write after its digest was taken",
            ));
        };
        let file = self.file.as_mut().expect("write after finish");
        // A large write goes to the file as it is (after what is buffered):
        // copying it into the buffer first cost a memcpy of every byte of a
        // pull, whose network chunks are mostly 64 KiB and more.
        let n = if buf.len() >= DIRECT_WRITE {
            file.flush()?;
            file.get_mut().write(buf)?
        } else {
            file.write(buf)?
        };
        hasher.update(&buf[..n]);
        self.size += n as u64;
        let flushed = self.size - file.buffer().len() as u64;
        if flushed - self.kicked >= WRITEBACK_STEP {
            // Errors are left to the fsync in `finish`, which reports them.
            let _ = crate::layer::start_writeback(
                file.get_ref().as_fd(),
                self.kicked,
                flushed - self.kicked,
            );
            self.kicked = flushed;
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().expect("flush after finish").flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// A unique path in the store's tmp dir.
pub(crate) fn temp_path(store: &Store, kind: &str) -> PathBuf {
    let n: u64 = rand::random();
    store
        .tmp_dir()
        .join(format!("{kind}-{}-{n:016x}", std::process::id()))
}

/// Writes a small file atomically: temp file, fsync, rename, fsync dir.
pub(crate) fn write_file_atomic(store: &Store, path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(store, "file");
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::Io {
            path: path.to_path_buf(),
            source: e,
        });
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_verifies_and_dedups() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = store.write_blob(b"hello").unwrap();
        assert_eq!(d, Digest::sha256_of(b"hello"));
        assert_eq!(store.read_blob(&d).unwrap(), b"hello");
        assert_eq!(store.write_blob(b"hello").unwrap(), d);
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn mismatched_digest_publishes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let wrong = Digest::sha256_of(b"other");
        let err = store
            .write_blob_from(&b"hello"[..], Some(&wrong))
            .unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        assert!(!store.has_blob(&Digest::sha256_of(b"hello")));
        assert!(!store.has_blob(&wrong));
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn unfinished_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut w = store.blob_writer().unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert!(store.all_blobs().unwrap().is_empty());
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn large_writes_between_small_ones_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let big: Vec<u8> = (0..DIRECT_WRITE * 2).map(|i| (i % 251) as u8).collect();
        let mut w = store.blob_writer().unwrap();
        w.write_all(b"head").unwrap(); // buffered
        w.write_all(&big).unwrap(); // direct, after the buffered bytes
        w.write_all(b"tail").unwrap();
        let (d, size) = w.finish(None).unwrap();
        let expected = [&b"head"[..], &big, b"tail"].concat();
        assert_eq!(size, expected.len() as u64);
        assert_eq!(store.read_blob(&d).unwrap(), expected);
    }

    #[test]
    fn the_digest_is_the_writers_own_and_ends_the_writing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut w = store.blob_writer().unwrap();
        w.write_all(b"hello").unwrap();
        let d = w.digest();
        assert_eq!(d, Digest::sha256_of(b"hello"));
        assert_eq!(w.digest(), d, "asking again gives the same digest");
        let late = w.write_all(b" more").unwrap_err();
        assert!(late.to_string().contains("after its digest"), "{late}");
        // A mismatch is still refused after the digest was taken.
        let wrong = Digest::sha256_of(b"other");
        let err = w.finish(Some(&wrong)).unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        assert!(store.all_blobs().unwrap().is_empty());
        // And a match publishes exactly the bytes written before it.
        let mut w = store.blob_writer().unwrap();
        w.write_all(b"hello").unwrap();
        w.digest();
        assert_eq!(w.finish(Some(&d)).unwrap(), (d.clone(), 5));
        assert_eq!(store.read_blob(&d).unwrap(), b"hello");
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn sha512_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut h = Hasher::new(Algorithm::Sha512);
        h.update(b"x");
        let d = h.finish();
        store.write_blob_from(&b"x"[..], Some(&d)).unwrap();
        assert!(store.has_blob(&d));
        assert!(store.all_blobs().unwrap().contains(&d));
    }
}
