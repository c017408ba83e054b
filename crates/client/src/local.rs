//! The client's view of the local store: digests as the registry spells
//! them (validated strings) on one side, `hoist_store` on the other. Every
//! blob goes through the store's writer, which hashes while writing and only
//! renames a verified blob into place, so nothing is ever half-stored.

use crate::error::{ClientError, Result};
use hoist_oci::oci_spec::image::{Descriptor, MediaType};
use hoist_oci::Digest;
use hoist_store::{BlobWriter, Store, StoreError};
use std::io::Write;
use std::path::Path;

#[derive(Clone)]
pub struct Local {
    pub store: Store,
}

/// Why finishing a blob failed.
pub enum FinishError {
    /// The content hashes to `actual`, not the digest asked for.
    Mismatch {
        actual: String,
    },
    Other(Box<ClientError>),
}

/// A blob being downloaded.
pub struct LocalWriter {
    inner: BlobWriter,
}

impl LocalWriter {
    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(bytes)
    }

    /// The digest of what was written, as the store's writer hashed it
    /// (the download asks before publishing instead of hashing again);
    /// nothing can be written after.
    pub fn digest(&mut self) -> Digest {
        self.inner.digest()
    }

    /// Verifies the content is `digest` and publishes it.
    pub fn finish(self, digest: &str) -> Result<(), FinishError> {
        let expected = parse_digest(digest).map_err(|e| FinishError::Other(Box::new(e)))?;
        match self.inner.finish(Some(&expected)) {
            Ok(_) => Ok(()),
            Err(StoreError::DigestMismatch { actual, .. }) => Err(FinishError::Mismatch { actual }),
            Err(e) => Err(FinishError::Other(Box::new(ClientError::store(e)))),
        }
    }
}

/// A name in the store and what it points at.
#[derive(Debug, Clone)]
pub struct LocalImage {
    pub name: String,
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Local {
    pub fn open(root: &Path) -> Result<Local> {
        Ok(Local {
            store: Store::open(root).map_err(ClientError::store)?,
        })
    }

    pub fn root(&self) -> &Path {
        self.store.root()
    }

    pub fn has_blob(&self, digest: &str) -> Result<bool> {
        Ok(self.store.has_blob(&parse_digest(digest)?))
    }

    /// A writer hashing with the algorithm of `digest`.
    pub fn blob_writer_for(&self, digest: &str) -> Result<LocalWriter> {
        let d = parse_digest(digest)?;
        let inner = self
            .store
            .blob_writer_with(d.algorithm())
            .map_err(ClientError::store)?;
        Ok(LocalWriter { inner })
    }

    pub fn open_blob(&self, digest: &str) -> Result<std::fs::File> {
        self.store
            .open_blob(&parse_digest(digest)?)
            .map_err(ClientError::store)
    }

    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        self.store
            .read_blob(&parse_digest(digest)?)
            .map_err(ClientError::store)
    }

    /// Stores manifest bytes exactly as received; they must hash to `digest`.
    pub fn store_manifest(&self, bytes: &[u8], digest: &str) -> Result<()> {
        let d = parse_digest(digest)?;
        self.store
            .write_blob_from(bytes, Some(&d))
            .map_err(ClientError::store)?;
        Ok(())
    }

    /// Names the manifest `digest` as `name` (a full reference).
    pub fn set_name(
        &self,
        name: &str,
        media_type: &str,
        digest: &str,
        size: u64,
    ) -> Result<String> {
        let d = parse_digest(digest)?;
        let desc = Descriptor::new(MediaType::from(media_type), size, &d);
        self.store.set_name(name, desc).map_err(ClientError::store)
    }

    /// Finds a local image by name, digest or ID.
    pub fn resolve(&self, name: &str) -> Result<LocalImage> {
        let found = self
            .store
            .resolve(name)
            .map_err(|e| ClientError::LocalImage {
                name: name.to_string(),
                detail: e.to_string(),
            })?;
        Ok(LocalImage {
            name: found.name.clone(),
            media_type: found.descriptor.media_type().to_string(),
            digest: found.digest().to_string(),
            size: found.descriptor.size(),
        })
    }
}

fn parse_digest(d: &str) -> Result<Digest> {
    d.parse::<Digest>()
        .map_err(|e| ClientError::Store(format!("invalid digest {d:?}: {e}")))
}
