//! Garbage collection: mark every blob reachable from index.json (and from
//! extra roots such as the images of live containers), sweep the rest, and
//! clear stale temp files. Blobs written after the sweep began are kept, so a
//! concurrent pull or build never loses content it just wrote.

use crate::{Result, Store};
use hoist_oci::{parse_manifest, AnyManifest, Digest};
use std::collections::HashSet;
use std::time::{Duration, SystemTime};

/// What a GC run removed.
#[derive(Debug, Default, Clone)]
pub struct GcReport {
    pub blobs_removed: usize,
    pub bytes_freed: u64,
}

/// Temp files older than this belong to a crashed writer.
const STALE_TEMP: Duration = Duration::from_secs(24 * 3600);

impl Store {
    /// Removes unreferenced blobs. `extra_roots` are manifest digests that must
    /// survive even without a name (containers' images).
    pub fn gc(&self, extra_roots: &[Digest]) -> Result<GcReport> {
        let started = SystemTime::now();
        let live = self.mark(extra_roots)?;
        let mut report = GcReport::default();
        for blob in self.all_blobs()? {
            if live.contains(&blob) {
                continue;
            }
            let path = self.blob_path(&blob);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.modified().is_ok_and(|m| m >= started) {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                report.blobs_removed += 1;
                report.bytes_freed += meta.len();
            }
        }
        self.clear_stale_temps(started, &mut report);
        Ok(report)
    }

    /// Every blob reachable from the index and `extra_roots`.
    fn mark(&self, extra_roots: &[Digest]) -> Result<HashSet<Digest>> {
        let mut live = HashSet::new();
        let mut todo: Vec<Digest> = extra_roots.to_vec();
        for d in self.read_index()?.manifests() {
            todo.push(Digest::try_from(d.digest())?);
        }
        while let Some(d) = todo.pop() {
            if !live.insert(d.clone()) {
                continue;
            }
            // Only manifests and indexes reference further blobs.
            let Ok(bytes) = self.read_blob(&d) else {
                continue;
            };
            match parse_manifest(None, &bytes) {
                Ok((_, AnyManifest::Manifest(m))) => {
                    todo.push(Digest::try_from(m.config().digest())?);
                    for l in m.layers() {
                        todo.push(Digest::try_from(l.digest())?);
                    }
                }
                Ok((_, AnyManifest::Index(i))) => {
                    for m in i.manifests() {
                        todo.push(Digest::try_from(m.digest())?);
                    }
                }
                Err(_) => {}
            }
        }
        Ok(live)
    }

    fn clear_stale_temps(&self, now: SystemTime, report: &mut GcReport) {
        let Ok(entries) = std::fs::read_dir(self.tmp_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            let stale = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > STALE_TEMP);
            if stale && meta.is_file() && std::fs::remove_file(e.path()).is_ok() {
                report.bytes_freed += meta.len();
            }
        }
    }
}
