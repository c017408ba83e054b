//! Upload files on the filesystem driver: one file per upload that PATCHes
//! append to, a note beside it, and an exclusive `flock` on the data file
//! for as long as a request holds it, so two requests (in this process or
//! another one sharing the root) never write one upload at once.
//!
//! Nothing here is synced: the data is synced once, when the finished upload
//! is persisted into place (`FsDriver::persist`). A killed process loses
//! nothing the kernel accepted; a power loss may leave the note ahead of the
//! data, which storage detects and answers by restarting the upload.

use super::{Appender, ByteStream, DriverError, DriverResult};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// Bytes gathered from the body before one write: few syscalls, and the
/// write of one batch overlaps receiving (and hashing) the next.
const BATCH: usize = 1 << 20;

pub(super) struct FsAppender {
    file: Arc<File>,
    data_key: String,
    note_path: PathBuf,
    note_key: String,
    tmp_dir: PathBuf,
}

/// Opens (creating) `data` and locks it, or reports it busy.
pub(super) async fn open(
    data: PathBuf,
    data_key: &str,
    note_path: PathBuf,
    note_key: &str,
    tmp_dir: PathBuf,
) -> DriverResult<Option<Box<dyn Appender>>> {
    let key = data_key.to_string();
    let opened = tokio::task::spawn_blocking(move || -> std::io::Result<Option<File>> {
        if let Some(parent) = data.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&data)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    })
    .await
    .map_err(|e| DriverError::io(&key, std::io::Error::other(e)))?
    .map_err(|e| DriverError::io(&key, e))?;
    Ok(opened.map(|file| -> Box<dyn Appender> {
        Box::new(FsAppender {
            file: Arc::new(file),
            data_key: key,
            note_path,
            note_key: note_key.to_string(),
            tmp_dir,
        })
    }))
}

impl FsAppender {
    async fn blocking<T: Send + 'static>(
        &self,
        key: &str,
        f: impl FnOnce(&File) -> std::io::Result<T> + Send + 'static,
    ) -> DriverResult<T> {
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || f(&file))
            .await
            .map_err(|e| DriverError::io(key, std::io::Error::other(e)))?
            .map_err(|e| DriverError::io(key, e))
    }
}

#[async_trait]
impl Appender for FsAppender {
    async fn note(&mut self) -> DriverResult<Option<Bytes>> {
        match tokio::fs::read(&self.note_path).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(DriverError::io(&self.note_key, e)),
        }
    }

    async fn set_note(&mut self, note: Bytes) -> DriverResult<()> {
        // Temp file then rename: atomic for readers and for a killed
        // process; deliberately not synced (see the module comment).
        let tmp = self.tmp_dir.join(hex::encode(rand::random::<[u8; 12]>()));
        let dest = self.note_path.clone();
        let key = self.note_key.clone();
        tokio::task::spawn_blocking(move || {
            let result = std::fs::write(&tmp, &note).and_then(|()| std::fs::rename(&tmp, &dest));
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        })
        .await
        .map_err(|e| DriverError::io(&key, std::io::Error::other(e)))?
        .map_err(|e| DriverError::io(&key, e))
    }

    async fn data_len(&mut self) -> DriverResult<u64> {
        let key = self.data_key.clone();
        self.blocking(&key, |f| f.metadata().map(|m| m.len())).await
    }

    async fn append(
        &mut self,
        at: u64,
        mut body: ByteStream,
        observe: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> Result<u64, (u64, DriverError)> {
        let key = self.data_key.clone();
        self.blocking(&key, move |f| f.set_len(at))
            .await
            .map_err(|e| (0, e))?;
        let mut written = 0u64;
        let mut pending: Option<tokio::task::JoinHandle<std::io::Result<usize>>> = None;
        let mut batch: Vec<Bytes> = Vec::new();
        let mut batch_len = 0usize;
        let mut failure = None;
        loop {
            let next = body.next().await;
            let ended = match next {
                Some(Ok(chunk)) => {
                    observe(&chunk);
                    batch_len += chunk.len();
                    batch.push(chunk);
                    false
                }
                Some(Err(e)) => {
                    // The body's own error (client gone, size cap) goes
                    // back as it came, so storage can tell it from a disk
                    // fault.
                    failure = Some(DriverError::Io {
                        path: key.clone(),
                        source: e,
                    });
                    true
                }
                None => true,
            };
            if batch_len >= BATCH || (ended && batch_len > 0) {
                if let Some(previous) = pending.take() {
                    match join(previous, &key).await {
                        Ok(n) => written += n as u64,
                        Err(e) => return Err((written, e)),
                    }
                }
                let pieces = std::mem::take(&mut batch);
                batch_len = 0;
                let file = self.file.clone();
                let pos = at + written;
                pending = Some(tokio::task::spawn_blocking(move || {
                    write_pieces(&file, pos, &pieces)
                }));
            }
            if ended {
                break;
            }
        }
        if let Some(previous) = pending.take() {
            match join(previous, &key).await {
                Ok(n) => written += n as u64,
                Err(e) => return Err((written, e)),
            }
        }
        match failure {
            Some(e) => Err((written, e)),
            None => Ok(written),
        }
    }
}

async fn join(
    task: tokio::task::JoinHandle<std::io::Result<usize>>,
    key: &str,
) -> DriverResult<usize> {
    task.await
        .map_err(|e| DriverError::io(key, std::io::Error::other(e)))?
        .map_err(|e| DriverError::io(key, e))
}

/// Writes the pieces one after another from `pos`; returns the byte count.
fn write_pieces(file: &File, mut pos: u64, pieces: &[Bytes]) -> std::io::Result<usize> {
    let mut total = 0;
    for piece in pieces {
        file.write_all_at(piece, pos)?;
        pos += piece.len() as u64;
        total += piece.len();
    }
    Ok(total)
}
