//! Image names: entries of `content/index.json` carrying the
//! `org.opencontainers.image.ref.name` annotation with the full reference
//! (`docker.io/library/busybox:latest`). Updates hold the index lock and
//! rewrite the file whole through a temp file and a rename.

use crate::blobs::{temp_path, write_file_atomic};
use crate::error::io_err;
use crate::{Result, Store, StoreError};
use hoist_oci::oci_spec::image::{Descriptor, ImageIndex};
use hoist_oci::{Digest, Reference};
use std::collections::HashMap;

pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// A name in the store and the manifest (or index) it points at.
#[derive(Debug, Clone)]
pub struct NamedImage {
    /// The full reference, e.g. `docker.io/library/busybox:latest`; empty for
    /// an image found by digest or ID with no name of its own.
    pub name: String,
    pub descriptor: Descriptor,
}

impl NamedImage {
    pub fn digest(&self) -> Digest {
        Digest::try_from(self.descriptor.digest()).expect("index holds valid digests")
    }
}

impl Store {
    /// Reads index.json. A file that does not parse, or names a bad digest,
    /// is `IndexCorrupt` (its message points at `hoist system check --repair`).
    pub fn read_index(&self) -> Result<ImageIndex> {
        let path = self.index_path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            // Open only leaves it missing when a previous copy can restore it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::IndexCorrupt {
                    path,
                    reason: "it is missing".into(),
                })
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        parse_index(&bytes).map_err(|reason| StoreError::IndexCorrupt { path, reason })
    }

    /// Every named image, in index order.
    pub fn names(&self) -> Result<Vec<NamedImage>> {
        Ok(self
            .read_index()?
            .manifests()
            .iter()
            .filter_map(|d| {
                let name = d.annotations().as_ref()?.get(REF_NAME_ANNOTATION)?;
                Some(NamedImage {
                    name: name.clone(),
                    descriptor: d.clone(),
                })
            })
            .collect())
    }

    /// Points `name` at `descriptor`, replacing what it named before.
    /// Returns the full name it was stored under.
    pub fn set_name(&self, name: &str, descriptor: Descriptor) -> Result<String> {
        let full = Reference::parse(name)?;
        if full.digest().is_some() {
            return Err(hoist_oci::OciError::InvalidReference {
                input: name.to_string(),
                reason: "a name for an image cannot hold a digest; use NAME:TAG".into(),
            }
            .into());
        }
        let full = full.to_string();
        let mut entry = descriptor;
        let mut ann: HashMap<String, String> = entry.annotations().clone().unwrap_or_default();
        ann.insert(REF_NAME_ANNOTATION.to_string(), full.clone());
        entry.set_annotations(Some(ann));
        self.update_index(|manifests| {
            manifests.retain(|d| ref_name(d) != Some(full.as_str()));
            manifests.push(entry);
            Ok(())
        })?;
        Ok(full)
    }

    /// Removes a name; returns what it pointed at.
    pub fn remove_name(&self, name: &str) -> Result<NamedImage> {
        let found = self.resolve_name(name)?;
        self.update_index(|manifests| {
            manifests.retain(|d| ref_name(d) != Some(found.name.as_str()));
            Ok(())
        })?;
        Ok(found)
    }

    /// Finds an image by name (short or full), by digest, or by a prefix of
    /// its ID (manifest or config digest hex), like docker does.
    pub fn resolve(&self, input: &str) -> Result<NamedImage> {
        if let Ok(found) = self.resolve_name(input) {
            return Ok(found);
        }
        let names = self.names()?;
        let hex = input.strip_prefix("sha256:").unwrap_or(input);
        let looks_like_id = hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if let Ok(d) = input.parse::<Digest>() {
            if let Some(n) = names.iter().find(|n| n.digest() == d) {
                return Ok(n.clone());
            }
            if self.has_blob(&d) {
                return self.unnamed(&d);
            }
        } else if looks_like_id {
            let hex = hex.to_ascii_lowercase();
            let mut hits: Vec<&NamedImage> = Vec::new();
            for n in &names {
                let by_manifest = n.digest().hex().starts_with(&hex);
                let by_config = self
                    .config_digest_of(&n.descriptor)
                    .is_some_and(|c| c.hex().starts_with(&hex));
                if (by_manifest || by_config) && !hits.iter().any(|h| h.digest() == n.digest()) {
                    hits.push(n);
                }
            }
            match hits.len() {
                0 => {}
                1 => return Ok(hits[0].clone()),
                _ => return Err(StoreError::Ambiguous(input.to_string())),
            }
        }
        Err(StoreError::ImageNotFound(input.to_string()))
    }

    fn resolve_name(&self, input: &str) -> Result<NamedImage> {
        let full = Reference::parse(input)?.to_string();
        self.names()?
            .into_iter()
            .find(|n| n.name == full)
            .ok_or_else(|| StoreError::ImageNotFound(input.to_string()))
    }

    /// A descriptor for a manifest blob that has no name.
    fn unnamed(&self, d: &Digest) -> Result<NamedImage> {
        let bytes = self.read_blob(d)?;
        let (media_type, _) = hoist_oci::parse_manifest(None, &bytes)?;
        let desc = Descriptor::new(media_type.as_str().into(), bytes.len() as u64, d);
        Ok(NamedImage {
            name: String::new(),
            descriptor: desc,
        })
    }

    fn config_digest_of(&self, desc: &Descriptor) -> Option<Digest> {
        let d = Digest::try_from(desc.digest()).ok()?;
        let bytes = self.read_blob(&d).ok()?;
        match hoist_oci::parse_manifest(Some(desc.media_type().as_ref()), &bytes)
            .ok()?
            .1
        {
            hoist_oci::AnyManifest::Manifest(m) => Digest::try_from(m.config().digest()).ok(),
            hoist_oci::AnyManifest::Index(_) => None,
        }
    }

    /// Reads, changes and rewrites index.json under the lock.
    pub(crate) fn update_index<T>(
        &self,
        change: impl FnOnce(&mut Vec<Descriptor>) -> Result<T>,
    ) -> Result<T> {
        let _lock = self.lock_index()?;
        let mut index = self.read_index()?;
        let mut manifests = index.manifests().clone();
        let out = change(&mut manifests)?;
        index.set_manifests(manifests);
        let bytes = serde_json::to_vec(&index).expect("an index serializes");
        self.keep_previous_index()?;
        write_file_atomic(self, &self.index_path(), &bytes)?;
        Ok(out)
    }

    /// Keeps the current (just parsed, so valid) index.json as
    /// `index.json.prev` before it is replaced: a hard link to the old file,
    /// so it costs no copy and no fsync; a copy where links do not work.
    fn keep_previous_index(&self) -> Result<()> {
        let (index, prev) = (self.index_path(), self.index_prev_path());
        let tmp = temp_path(self, "index-prev");
        let linked = std::fs::hard_link(&index, &tmp)
            .and_then(|()| std::fs::rename(&tmp, &prev))
            .is_ok();
        if !linked {
            let _ = std::fs::remove_file(&tmp);
            let bytes = std::fs::read(&index).map_err(io_err(&index))?;
            write_file_atomic(self, &prev, &bytes)?;
        }
        Ok(())
    }

    /// Replaces a corrupt index.json with `index.json.prev` after checking
    /// that the copy parses. Holds the index lock.
    pub fn restore_previous_index(&self) -> Result<()> {
        let _lock = self.lock_index()?;
        let prev = self.index_prev_path();
        let bytes = match std::fs::read(&prev) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Corrupt {
                    what: prev.display().to_string(),
                    reason: "there is no previous copy of the index to restore".into(),
                })
            }
            Err(e) => return Err(io_err(&prev)(e)),
        };
        parse_index(&bytes).map_err(|reason| StoreError::Corrupt {
            what: prev.display().to_string(),
            reason,
        })?;
        write_file_atomic(self, &self.index_path(), &bytes)
    }
}

/// Parses an index and checks what every reader relies on: each entry's
/// digest is a valid digest.
pub(crate) fn parse_index(bytes: &[u8]) -> std::result::Result<ImageIndex, String> {
    let index: ImageIndex = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    for d in index.manifests() {
        Digest::try_from(d.digest()).map_err(|e| format!("entry {}: {e}", d.digest()))?;
    }
    Ok(index)
}

fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations()
        .as_ref()?
        .get(REF_NAME_ANNOTATION)
        .map(String::as_str)
}
