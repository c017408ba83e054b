//! One downloading blob's own thread: it writes the bytes to the store's
//! blob writer (which hashes them) and, for a layer, checks them as a tar
//! with `hoist_store::layer::validate_blob_tar`, exactly as `hoist import`
//! does, during the download and without a second pass over the blob.
//!
//! Why a thread per blob: the download's async task only moves `Bytes` from
//! the connection into a bounded channel, so 4 blobs are hashed, written and
//! checked on 4 threads side by side (as 4 parallel `curl`s run in 4
//! processes), not one after another on the task that polls all downloads.
//! The thread writes each chunk as it takes it, before the checker reads it,
//! and keeps writing after the checker stopped reading (the tar ended, or it
//! was refused), so the writer always has every byte the download received.

use crate::local::LocalWriter;
use bytes::Bytes;
use hoist_oci::Digest;
use hoist_store::layer::{validate_blob_tar, LayerError, TarSummary, ValidateOptions};
use std::io::{self, Read};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

/// Chunks queued between the download and the thread (network chunks are
/// small; this bounds memory to a few MiB while letting both run).
const QUEUE: usize = 64;

/// The checker's verdict on a layer.
pub type Verdict = Result<TarSummary, LayerError>;

/// A running blob thread.
pub struct BlobThread {
    tx: Option<mpsc::Sender<Bytes>>,
    /// The checker's verdict, as soon as it has one (layers only).
    verdict: Option<oneshot::Receiver<Verdict>>,
    /// The writer back, or why writing failed, once the input ended.
    done: Option<oneshot::Receiver<io::Result<LocalWriter>>>,
    thread: Option<JoinHandle<()>>,
}

/// The thread stopped taking bytes: writing failed ([`BlobThread::finish`]
/// says why).
#[derive(Debug)]
pub struct Stopped;

impl BlobThread {
    /// Starts the thread writing into `writer`; with `check`, it also checks
    /// the bytes as the layer tar of the blob `digest` (the summary's diff
    /// ID is `digest` when the layer is uncompressed: the caller must verify
    /// the blob before trusting it, as the download does).
    pub fn start(
        writer: LocalWriter,
        check: Option<(ValidateOptions, Digest)>,
    ) -> io::Result<BlobThread> {
        let (tx, rx) = mpsc::channel::<Bytes>(QUEUE);
        let (verdict_tx, verdict_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let has_check = check.is_some();
        let thread = std::thread::Builder::new()
            .name("blob-write".into())
            .spawn(move || {
                let mut input = WritingReader {
                    rx,
                    chunk: Bytes::new(),
                    writer,
                    failed: None,
                };
                if let Some((opts, digest)) = check {
                    let verdict = validate_blob_tar(&mut input, &opts, &digest);
                    let _ = verdict_tx.send(verdict);
                }
                // The rest, which the checker did not read (or all of it).
                while input.failed.is_none() {
                    match input.rx.blocking_recv() {
                        Some(chunk) => input.write(&chunk),
                        None => break,
                    }
                }
                let _ = done_tx.send(match input.failed {
                    Some(e) => Err(e),
                    None => Ok(input.writer),
                });
            })?;
        Ok(BlobThread {
            tx: Some(tx),
            verdict: has_check.then_some(verdict_rx),
            done: Some(done_rx),
            thread: Some(thread),
        })
    }

    /// Passes the next downloaded bytes on. Err when the thread stopped
    /// taking them (writing failed).
    pub async fn feed(&mut self, bytes: Bytes) -> Result<(), Stopped> {
        let tx = self.tx.as_ref().ok_or(Stopped)?;
        tx.send(bytes).await.map_err(|_| Stopped)
    }

    /// The checker's verdict if it already has one (taken once): a refused
    /// layer is known before the download ends.
    pub fn early_verdict(&mut self) -> Option<Verdict> {
        let verdict = self.verdict.as_mut()?.try_recv().ok()?;
        self.verdict = None;
        Some(verdict)
    }

    /// Ends the input and waits for the writer (every byte fed written) and,
    /// for a layer whose verdict was not taken yet, the verdict.
    pub async fn finish(mut self) -> io::Result<(LocalWriter, Option<Verdict>)> {
        self.tx = None; // closes the channel: end of input
        let done = self.done.take().expect("finish runs once");
        let writer = match done.await {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::other("the blob thread ended without a result")),
        };
        let verdict = match self.verdict.take() {
            Some(rx) => Some(rx.await.unwrap_or_else(|_| {
                Err(LayerError::Io(io::Error::other(
                    "the layer checker ended without a verdict",
                )))
            })),
            None => None,
        };
        Ok((writer, verdict))
    }
}

impl Drop for BlobThread {
    /// Ends the thread and waits for it, so an abandoned blob's temp file is
    /// gone (its writer dropped) before the caller goes on or the process
    /// exits; the thread only has to notice the closed channel.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The download's chunks as a `Read` for the checker, each written to the
/// blob as it is taken from the channel.
struct WritingReader {
    rx: mpsc::Receiver<Bytes>,
    chunk: Bytes,
    writer: LocalWriter,
    /// The first write error; no byte is passed on after it.
    failed: Option<io::Error>,
}

impl WritingReader {
    fn write(&mut self, chunk: &[u8]) {
        if let Err(e) = self.writer.write_all(chunk) {
            self.failed = Some(e);
        }
    }
}

impl Read for WritingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.failed.is_some() {
                return Err(io::Error::other("writing the blob failed"));
            }
            match self.rx.blocking_recv() {
                Some(chunk) => {
                    self.write(&chunk);
                    self.chunk = chunk;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::Local;

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

    /// Feeds `bytes` in small pieces; the verdict and what the writer got.
    async fn run(local: &Local, bytes: &[u8]) -> (Verdict, Digest) {
        let digest = Digest::sha256_of(bytes);
        let writer = local.blob_writer_for(&digest.to_string()).unwrap();
        let opts = ValidateOptions::default();
        let mut t = BlobThread::start(writer, Some((opts, digest))).unwrap();
        for piece in bytes.chunks(700) {
            t.feed(Bytes::copy_from_slice(piece)).await.unwrap();
        }
        let (mut writer, verdict) = t.finish().await.unwrap();
        (verdict.unwrap(), writer.digest())
    }

    #[tokio::test]
    async fn writes_every_byte_and_checks_the_tar() {
        let dir = tempfile::tempdir().unwrap();
        let local = Local::open(dir.path()).unwrap();
        // Trailing bytes after the tar's end blocks: the checker stops
        // reading before them, the writer still gets them.
        let mut good = tar_with("ok");
        good.extend_from_slice(&[0u8; 5000]);
        let (verdict, written) = run(&local, &good).await;
        assert_eq!(verdict.unwrap().entries, 1);
        assert_eq!(written, Digest::sha256_of(&good));

        let hostile = tar_with("../escape");
        let (verdict, written) = run(&local, &hostile).await;
        let err = verdict.unwrap_err();
        assert!(
            err.to_string().contains("unsafe tar entry \"../escape\""),
            "{err}"
        );
        assert_eq!(written, Digest::sha256_of(&hostile));
    }

    #[tokio::test]
    async fn a_dropped_thread_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let local = Local::open(dir.path()).unwrap();
        let bytes = tar_with("ok");
        let writer = local
            .blob_writer_for(&Digest::sha256_of(&bytes).to_string())
            .unwrap();
        let mut t = BlobThread::start(writer, None).unwrap();
        t.feed(Bytes::from(bytes)).await.unwrap();
        drop(t);
        let tmp = local.store.tmp_dir();
        assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    }
}
