//! Progress events. The library never prints: push and pull report what they
//! do through a callback, and the CLI draws bars or plain lines from them.

use std::sync::Arc;

/// What a blob is, for labelling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    Layer,
    Config,
    Manifest,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// The manifest was read: this many blobs of this many bytes to consider.
    Plan { blobs: usize, bytes: u64 },
    /// A blob transfer starts.
    BlobStart {
        digest: String,
        size: u64,
        kind: BlobKind,
    },
    /// `bytes` more bytes of the blob went over the wire.
    BlobBytes { digest: String, bytes: u64 },
    /// The connection dropped at `offset`; the transfer goes on from there.
    BlobResume { digest: String, offset: u64 },
    /// A blob needed no transfer (`how`: "exists", "mounted from REPO").
    BlobSkipped {
        digest: String,
        size: u64,
        how: String,
    },
    /// A blob is complete (and verified).
    BlobDone { digest: String, size: u64 },
    /// The manifest was stored or pushed: the image's digest.
    Finished { digest: String },
}

/// Receives events; called from several tasks at once.
pub type Sink = Arc<dyn Fn(Event) + Send + Sync>;

/// A sink that ignores everything.
pub fn discard() -> Sink {
    Arc::new(|_| {})
}
