//! The byte store under the registry: an object-store shaped trait (whole
//! objects by key, ranged reads, listing by prefix), so the filesystem driver
//! here and an S3-compatible one can stand behind the same storage code.
//!
//! Keys are '/'-separated relative paths built by `storage::paths`; a driver
//! never interprets them. Every write is atomic: a reader sees the old object,
//! the new one, or nothing — never a partial object.

mod fs;
mod fs_append;
pub mod s3;

pub use fs::FsDriver;
pub use s3::{S3Config, S3Driver};

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use std::pin::Pin;
use std::time::SystemTime;

/// A stream of body bytes, as the HTTP layer produces and consumes them.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// What a driver can fail with. `NotFound` is separate because storage turns
/// it into the spec's `*_UNKNOWN` errors.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{0}: no such object")]
    NotFound(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The backend did not answer (unreachable, timing out, refusing) after
    /// its retries; the API answers 503 so clients retry.
    #[error("{path}: storage unavailable: {message}")]
    Unavailable { path: String, message: String },
}

impl DriverError {
    pub fn io(path: &str, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            DriverError::NotFound(path.to_string())
        } else {
            DriverError::Io {
                path: path.to_string(),
                source,
            }
        }
    }
    /// The I/O error that ended a streamed body, if that was the cause
    /// (storage uses it to recognise its own size-limit marker).
    pub fn io_source(&self) -> Option<&std::io::Error> {
        match self {
            DriverError::Io { source, .. } => Some(source),
            DriverError::NotFound(_) | DriverError::Unavailable { .. } => None,
        }
    }
}

pub type DriverResult<T> = Result<T, DriverError>;

/// Size and modification time of one object.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub size: u64,
    pub modified: SystemTime,
}

#[async_trait]
pub trait Driver: Send + Sync + 'static {
    /// Stores a small object whole, atomically, replacing any old one.
    async fn put(&self, key: &str, data: Bytes) -> DriverResult<()>;
    /// Streams an object into place atomically; returns its size. On error
    /// nothing is left at `key` (the old object, if any, stays).
    async fn put_stream(&self, key: &str, body: ByteStream) -> DriverResult<u64>;
    /// Reads a small object whole.
    async fn get(&self, key: &str) -> DriverResult<Bytes>;
    /// Streams an object, or the byte range `start..end` of it.
    async fn get_range(&self, key: &str, range: Option<(u64, u64)>) -> DriverResult<ByteStream>;
    /// Size and mtime, or `None` when there is no such object.
    async fn stat(&self, key: &str) -> DriverResult<Option<Meta>>;
    /// Names directly under `prefix` (objects and deeper prefixes), sorted;
    /// empty when the prefix does not exist.
    async fn list(&self, prefix: &str) -> DriverResult<Vec<String>>;
    /// Removes an object or everything under a prefix; missing is not an error.
    async fn delete(&self, key: &str) -> DriverResult<()>;
    /// Moves an object to a new key atomically (a copy then delete on object
    /// stores); replaces what was at `to`.
    async fn rename(&self, from: &str, to: &str) -> DriverResult<()>;
    /// Whether the backend is reachable and writable (for /readyz).
    async fn ready(&self) -> DriverResult<()>;
    /// Checked once before the server listens: the backend exists and the
    /// configured credentials may read and write it. The error names what
    /// failed. Nothing to check by default (the filesystem driver creates
    /// its root when it opens).
    async fn check(&self) -> DriverResult<()> {
        Ok(())
    }
    /// A URL a client may GET the object from directly, when the driver is
    /// set up to redirect blob downloads (S3 `redirect = true`).
    async fn presign_get(&self, _key: &str) -> DriverResult<Option<String>> {
        Ok(None)
    }
    /// Whether `open_append` works here (the filesystem driver); without
    /// it, storage keeps one object per upload chunk.
    fn can_append(&self) -> bool {
        false
    }
    /// Opens an upload file that grows by appending, with a small note kept
    /// beside it (how far the appends got, the hash state), exclusively:
    /// `None` while another request holds it.
    async fn open_append(
        &self,
        data_key: &str,
        _note_key: &str,
    ) -> DriverResult<Option<Box<dyn Appender>>> {
        Err(DriverError::Unavailable {
            path: data_key.to_string(),
            message: "this storage driver cannot append".into(),
        })
    }
    /// Moves a finished upload file into place durably: its data is synced
    /// once, then it is renamed (a copy then delete on object stores).
    async fn persist(&self, from: &str, to: &str) -> DriverResult<()> {
        self.rename(from, to).await
    }
    /// Part size and parts in flight when the driver can assemble an object
    /// from separately uploaded parts (S3 multipart uploads); `None` when it
    /// cannot. Every part but the last must be at least `MIN_PART_SIZE`.
    fn multipart_geometry(&self) -> Option<(usize, usize)> {
        None
    }
    /// Starts a multipart upload that will become `key`; returns its id.
    async fn create_multipart(&self, key: &str) -> DriverResult<String> {
        Err(no_multipart(key))
    }
    /// Uploads part `index` (0-based; a later upload of the same index
    /// replaces it); returns the part's ETag.
    async fn put_part(
        &self,
        key: &str,
        _upload: &str,
        _index: usize,
        _data: Bytes,
    ) -> DriverResult<String> {
        Err(no_multipart(key))
    }
    /// Makes parts 0..etags.len() the object at `key`. The store refuses
    /// when a part's ETag is not the one given (it was replaced since).
    async fn complete_multipart(
        &self,
        key: &str,
        _upload: &str,
        _etags: Vec<String>,
    ) -> DriverResult<()> {
        Err(no_multipart(key))
    }
    /// Discards a multipart upload and its parts.
    async fn abort_multipart(&self, key: &str, _upload: &str) -> DriverResult<()> {
        Err(no_multipart(key))
    }
    /// Stores a small object only when nothing is at `key` yet (S3's
    /// `If-None-Match: *`): `false` when another writer was first.
    async fn put_if_absent(&self, key: &str, _data: Bytes) -> DriverResult<bool> {
        Err(no_multipart(key))
    }
    /// An object's identity (inode, change time, size) from one local
    /// `stat`, without awaiting anything: a cheap check that a cached read
    /// is still current. `None` when the driver cannot tell that cheaply
    /// (object stores); `Some(None)` when the object is absent.
    fn stamp(&self, _key: &str) -> Option<Option<Stamp>> {
        None
    }
}

/// S3's smallest part (all but the last part of a multipart upload).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

fn no_multipart(key: &str) -> DriverError {
    DriverError::Unavailable {
        path: key.to_string(),
        message: "this storage driver has no multipart uploads".into(),
    }
}

/// What `stamp` reports: equal stamps mean the object was not replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub inode: u64,
    pub ctime_nanos: i128,
    pub size: u64,
}

/// An upload file held exclusively (released when dropped).
#[async_trait]
pub trait Appender: Send {
    /// The note last recorded, if any.
    async fn note(&mut self) -> DriverResult<Option<Bytes>>;
    /// Replaces the note atomically for a crashing process (a reader sees
    /// the old note or the new one). Not synced: after a power loss the
    /// note may be older than the data, or the data shorter than the note
    /// says; storage checks the one against the other.
    async fn set_note(&mut self, note: Bytes) -> DriverResult<()>;
    /// The data's length now.
    async fn data_len(&mut self) -> DriverResult<u64>;
    /// Writes `body` from byte `at` on, cutting off whatever an interrupted
    /// append left past `at` first, and hands each piece to `observe`
    /// before it is written. Returns the bytes written; on error, the
    /// bytes written before it (the caller decides whether they count).
    async fn append(
        &mut self,
        at: u64,
        body: ByteStream,
        observe: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> Result<u64, (u64, DriverError)>;
}
