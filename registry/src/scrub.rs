//! Scrub: re-hash every stored blob (manifests are blobs too) and report the
//! ones whose bytes no longer match the digest they are stored under: bit
//! rot, a bad disk, a hand edit. With `quarantine`, a bad blob's data is
//! moved under `_quarantine/` (never deleted, so an operator can look at it)
//! and the registry then answers BLOB_UNKNOWN/MANIFEST_UNKNOWN for it rather
//! than serving corrupt bytes; pushing the content again heals it.
//!
//! It works through the driver, so the filesystem and S3 both scrub; blobs
//! stream through the hasher, so memory stays flat whatever their size.

use crate::digests::{self, Digest, StreamHasher};
use crate::driver::DriverError;
use crate::storage::{paths, Storage};
use futures::StreamExt;

/// Where quarantined data goes: `_quarantine/<alg>/<hex>-<unix seconds>`.
pub const QUARANTINE: &str = "_quarantine";

/// A blob whose content does not hash to its name.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// The key of its data in the store (a path under the root for the
    /// filesystem driver).
    pub path: String,
    pub expected: Digest,
    /// What the bytes hash to now.
    pub actual: Digest,
    pub size: u64,
    /// Repositories that hold it as a manifest (empty for layers/configs).
    pub manifest_of: Vec<String>,
    /// Where it was moved, with `quarantine`.
    pub quarantined_to: Option<String>,
}

#[derive(Debug, Default)]
pub struct ScrubReport {
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    pub mismatches: Vec<Mismatch>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    #[error("reading {path}: {source}")]
    Driver {
        path: String,
        #[source]
        source: DriverError,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("listing repositories: {0}")]
    Catalog(String),
}

fn driver_err(path: &str) -> impl FnOnce(DriverError) -> ScrubError + '_ {
    move |source| ScrubError::Driver {
        path: path.to_string(),
        source,
    }
}

/// Re-hashes every blob; moves bad ones aside when `quarantine`.
pub async fn run(storage: &Storage, quarantine: bool) -> Result<ScrubReport, ScrubError> {
    let driver = storage.driver().clone();
    let mut report = ScrubReport::default();
    let list = |key: String| {
        let driver = driver.clone();
        async move {
            let r = driver.list(&key).await;
            r.map_err(|source| ScrubError::Driver { path: key, source })
        }
    };
    for alg in list(paths::BLOBS.to_string()).await? {
        for prefix in list(format!("{}/{alg}", paths::BLOBS)).await? {
            for hex in list(format!("{}/{alg}/{prefix}", paths::BLOBS)).await? {
                // Names that are not digests are not blobs (nothing serves them).
                let Ok(expected) = digests::parse(&format!("{alg}:{hex}")) else {
                    continue;
                };
                let Ok(mut hasher) = StreamHasher::for_digest(&expected) else {
                    continue;
                };
                let key = paths::blob_data(&expected);
                let mut stream = match driver.get_range(&key, None).await {
                    Ok(s) => s,
                    // A directory without data: an interrupted write or GC.
                    Err(DriverError::NotFound(_)) => continue,
                    Err(e) => return Err(driver_err(&key)(e)),
                };
                let mut size = 0u64;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|source| ScrubError::Read {
                        path: key.clone(),
                        source,
                    })?;
                    size += chunk.len() as u64;
                    hasher.update(&chunk);
                }
                report.blobs_checked += 1;
                report.bytes_checked += size;
                let actual = hasher.finish();
                if actual == expected {
                    continue;
                }
                let manifest_of = manifest_holders(storage, &expected).await?;
                let quarantined_to = if quarantine {
                    let (alg, hex) = digests::parts(&expected);
                    let stamp = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs();
                    let to = format!("{QUARANTINE}/{alg}/{hex}-{stamp}");
                    driver.rename(&key, &to).await.map_err(driver_err(&key))?;
                    Some(to)
                } else {
                    None
                };
                report.mismatches.push(Mismatch {
                    path: key,
                    expected,
                    actual,
                    size,
                    manifest_of,
                    quarantined_to,
                });
            }
        }
    }
    Ok(report)
}

/// Repositories with a manifest revision link to `digest`.
async fn manifest_holders(storage: &Storage, digest: &Digest) -> Result<Vec<String>, ScrubError> {
    let repos = storage
        .catalog()
        .await
        .map_err(|e| ScrubError::Catalog(e.to_string()))?;
    let mut out = Vec::new();
    for repo in repos {
        let link = paths::revision_link(&repo, digest);
        if matches!(storage.driver().stat(&link).await, Ok(Some(_))) {
            out.push(repo);
        }
    }
    Ok(out)
}
