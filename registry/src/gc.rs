//! Garbage collection: mark every blob a live manifest references, sweep the
//! rest. Safe while the server takes pushes: anything written after the GC's
//! start (minus the grace period) is kept, as is any blob a repository linked
//! after that point — a push in flight has linked its layers before it puts
//! the manifest that will reference them.
//!
//! A client that only HEADs a stored blob (and so skips its upload) refreshes
//! the blob's link when it does (`retention::touch`), which makes the blob
//! young again for the grace period. The last check and the deletion are
//! closed against a manifest PUT by ordering: the sweep hides the blob's data
//! (a rename) before it reads the links a last time, the PUT refreshes the
//! link before it looks for the data, so one of the two always sees the
//! other; a PUT that loses fails with MANIFEST_BLOB_UNKNOWN and the client
//! pushes the blob again. ARCHITECTURE.md ("Retention and online GC") walks
//! the races.
//!
//! With `lease` set (the server's scheduled runs, the CLI), every deletion
//! first checks that this process still holds the storage's GC lease, so
//! two replicas never sweep at once.

use crate::digests::{self, Digest};
use crate::error::Result;
use crate::media;
use crate::retention::lease::LeaseCheck;
use crate::storage::{paths, ManifestRef, Storage};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

/// Where a sweep parks a blob's data while it makes sure nothing references
/// it (beside `data`, so a listing of the blobs never shows it).
pub const HIDDEN_SUFFIX: &str = ".gc-hidden";

#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Report what would go; delete nothing.
    pub dry_run: bool,
    /// Also remove manifests that no tag (directly or through an index or
    /// as a referrer) reaches.
    pub delete_untagged: bool,
    /// Keep anything younger than the GC's start minus this.
    pub grace: Duration,
    /// Upload sessions older than this are abandoned.
    pub upload_max_age: Duration,
    /// The GC lease this collection runs under: no deletion once it lapsed.
    pub lease: Option<LeaseCheck>,
    /// Manifests (`repo@digest`) to treat as already deleted: a dry run
    /// after a retention plan then lists the blobs the plan would free.
    pub assume_deleted: HashSet<String>,
    /// Tags (`repo:tag`) to treat as already deleted: with `delete_untagged`
    /// the manifests only they reach are then collected too, as the real
    /// run (plan applied, then GC) collects them.
    pub assume_untagged: HashSet<String>,
}

#[derive(Debug, Default)]
pub struct GcReport {
    pub blobs_removed: Vec<(Digest, u64)>,
    pub manifests_removed: Vec<(String, Digest)>,
    pub uploads_removed: Vec<(String, String)>,
    pub bytes_freed: u64,
}

pub struct Gc<'a> {
    storage: &'a Storage,
    opts: GcOptions,
    /// The GC's start by the store's clock.
    now: SystemTime,
    cutoff: SystemTime,
    marked: HashSet<String>,
    report: GcReport,
}

/// Runs a whole collection.
pub async fn run(storage: &Storage, opts: GcOptions) -> Result<GcReport> {
    let mut gc = Gc::new(storage, opts).await?;
    gc.mark().await?;
    gc.sweep().await
}

impl<'a> Gc<'a> {
    /// Starts a collection: the cutoff is now minus the grace period, "now"
    /// read from the store's own clock (the mtime of a marker it writes), so
    /// that it compares exactly with the times the store gives every object.
    pub async fn new(storage: &'a Storage, opts: GcOptions) -> Result<Gc<'a>> {
        let now = store_now(storage, "_tmp/gc-start").await?;
        let cutoff = now
            .checked_sub(opts.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(Gc {
            storage,
            opts,
            now,
            cutoff,
            marked: HashSet::new(),
            report: GcReport::default(),
        })
    }

    fn young(&self, modified: SystemTime) -> bool {
        modified >= self.cutoff
    }

    /// Refuses to delete once the lease this run holds has lapsed (another
    /// replica may be sweeping by now).
    fn may_delete(&self) -> Result<()> {
        match &self.opts.lease {
            Some(lease) => lease.ensure(),
            None => Ok(()),
        }
    }

    /// Marks every blob that a live manifest of any repository references.
    pub async fn mark(&mut self) -> Result<()> {
        for repo in self.storage.catalog().await? {
            let revisions = self.revisions(&repo).await?;
            let live = if self.opts.delete_untagged {
                self.reachable(&repo, &revisions).await?
            } else {
                revisions.iter().map(|d| d.to_string()).collect()
            };
            for digest in &revisions {
                if self
                    .opts
                    .assume_deleted
                    .contains(&format!("{repo}@{digest}"))
                {
                    continue;
                }
                if live.contains(&digest.to_string()) {
                    self.mark_manifest(digest).await?;
                    continue;
                }
                let link = paths::revision_link(&repo, digest);
                let young = match self.storage.driver().stat(&link).await? {
                    Some(m) => self.young(m.modified),
                    None => continue,
                };
                if young {
                    self.mark_manifest(digest).await?;
                } else {
                    if !self.opts.dry_run {
                        self.may_delete()?;
                        self.storage
                            .delete_manifest(&repo, &ManifestRef::Digest(digest.clone()))
                            .await?;
                    }
                    self.report
                        .manifests_removed
                        .push((repo.clone(), digest.clone()));
                }
            }
        }
        Ok(())
    }

    async fn revisions(&self, repo: &str) -> Result<Vec<Digest>> {
        revisions(self.storage, repo).await
    }

    /// Manifests reachable from tags: tagged ones, their index children, and
    /// referrers of anything reachable.
    async fn reachable(&self, repo: &str, revisions: &[Digest]) -> Result<BTreeSet<String>> {
        let roots = if self.opts.assume_untagged.is_empty() {
            tagged(self.storage, repo).await
        } else {
            let mut roots = Vec::new();
            for tag in self.storage.tags(repo).await.unwrap_or_default() {
                if self.opts.assume_untagged.contains(&format!("{repo}:{tag}")) {
                    continue;
                }
                if let Ok(d) = self.storage.resolve(repo, &ManifestRef::Tag(tag)).await {
                    roots.push(d);
                }
            }
            roots
        };
        reachable_from(self.storage, repo, roots, revisions).await
    }

    async fn mark_manifest(&mut self, digest: &Digest) -> Result<()> {
        self.marked.insert(digest.to_string());
        let Ok(body) = self.storage.blob_bytes(digest).await else {
            return Ok(());
        };
        let Ok(v) = serde_json::from_slice::<Value>(&body) else {
            return Ok(());
        };
        if v.get("mediaType")
            .and_then(Value::as_str)
            .is_some_and(media::is_index)
            || v.get("manifests").is_some()
        {
            // Children are revisions of their own and get marked as such.
            return Ok(());
        }
        let descriptors = v.get("config").into_iter().chain(
            v.get("layers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
        for d in descriptors {
            if let Some(s) = d.get("digest").and_then(Value::as_str) {
                self.marked.insert(s.to_string());
            }
        }
        Ok(())
    }

    /// Deletes unmarked blobs older than the cutoff, their links, and stale
    /// upload sessions.
    pub async fn sweep(mut self) -> Result<GcReport> {
        let driver = self.storage.driver().clone();
        let repos = self.storage.catalog().await?;
        for alg in driver.list(paths::BLOBS).await? {
            for prefix in driver.list(&format!("{}/{alg}", paths::BLOBS)).await? {
                for hex in driver
                    .list(&format!("{}/{alg}/{prefix}", paths::BLOBS))
                    .await?
                {
                    let Ok(digest) = digests::parse(&format!("{alg}:{hex}")) else {
                        continue;
                    };
                    if self.marked.contains(&digest.to_string()) {
                        continue;
                    }
                    let data = paths::blob_data(&digest);
                    let hidden = format!("{data}{HIDDEN_SUFFIX}");
                    let Some(meta) = driver.stat(&data).await? else {
                        // A sweep that stopped between hiding a blob and
                        // deleting it left its data here: a PUT that came
                        // meanwhile failed (it found no data), so nothing
                        // references it.
                        if !self.opts.dry_run && driver.stat(&hidden).await?.is_some() {
                            self.may_delete()?;
                            driver.delete(&hidden).await?;
                        }
                        continue;
                    };
                    if self.young(meta.modified) || self.recently_linked(&repos, &digest).await? {
                        continue;
                    }
                    if !self.opts.dry_run {
                        self.may_delete()?;
                        // Hide the data, THEN read the links again: a manifest
                        // PUT refreshes its blobs' links first and looks for
                        // the data after (`Storage::blob_stat_for_reference`),
                        // so a reference racing this sweep is seen here (the
                        // blob is put back) or fails there — never both missed.
                        if let Err(e) = driver.rename(&data, &hidden).await {
                            // Kept, not collected (S3 copies at most 5 GiB
                            // in one request): the next run tries again.
                            tracing::warn!(%digest, error = %e, "gc: could not set a blob aside; kept");
                            continue;
                        }
                        if self.recently_linked(&repos, &digest).await? {
                            driver.rename(&hidden, &data).await?;
                            continue;
                        }
                        for repo in &repos {
                            driver
                                .delete(&format!("{}/{alg}/{hex}", paths::layers_dir(repo)))
                                .await?;
                        }
                        driver
                            .delete(&format!("{}/{alg}/{prefix}/{hex}", paths::BLOBS))
                            .await?;
                    }
                    self.report.bytes_freed += meta.size;
                    self.report.blobs_removed.push((digest, meta.size));
                }
            }
        }
        let with_uploads = self.storage.repositories_with_uploads().await?;
        self.sweep_uploads(&with_uploads).await?;
        Ok(self.report)
    }

    /// Whether some repository linked the blob after the cutoff (a push in
    /// flight that reuses stored content).
    async fn recently_linked(&self, repos: &[String], digest: &Digest) -> Result<bool> {
        for repo in repos {
            if let Some(m) = self
                .storage
                .driver()
                .stat(&paths::layer_link(repo, digest))
                .await?
            {
                if self.young(m.modified) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    async fn sweep_uploads(&mut self, repos: &[String]) -> Result<()> {
        let driver = self.storage.driver().clone();
        // The store's clock, like the mtimes it is compared with (replicas'
        // and the store's clocks may disagree).
        let too_old = self
            .now
            .checked_sub(self.opts.upload_max_age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for repo in repos {
            for id in driver.list(&paths::uploads_dir(repo)).await? {
                if !paths::valid_upload_id(&id) {
                    continue;
                }
                let Some(info) = driver.stat(&paths::upload_info(repo, &id)).await? else {
                    continue;
                };
                // The newest chunk says when the session was last used.
                let mut last = info.modified;
                for name in driver.list(&paths::upload_dir(repo, &id)).await? {
                    if let Some(m) = driver
                        .stat(&format!("{}/{name}", paths::upload_dir(repo, &id)))
                        .await?
                    {
                        last = last.max(m.modified);
                    }
                }
                if last < too_old {
                    if !self.opts.dry_run {
                        self.may_delete()?;
                        self.storage.purge_upload(repo, &id).await?;
                    }
                    self.report.uploads_removed.push((repo.clone(), id));
                }
            }
        }
        Ok(())
    }
}

/// The store's clock: the mtime of a marker it writes at `key`, so that it
/// compares exactly with the times the store gives every object (replicas'
/// and the store's clocks may disagree).
pub async fn store_now(storage: &Storage, key: &str) -> Result<SystemTime> {
    storage
        .driver()
        .put(key, bytes::Bytes::from_static(b"now"))
        .await?;
    Ok(storage
        .driver()
        .stat(key)
        .await?
        .map(|m| m.modified)
        .unwrap_or_else(SystemTime::now))
}

/// The manifests `repo`'s tags name now.
pub async fn tagged(storage: &Storage, repo: &str) -> Vec<Digest> {
    let mut out = Vec::new();
    for tag in storage.tags(repo).await.unwrap_or_default() {
        if let Ok(d) = storage.resolve(repo, &ManifestRef::Tag(tag)).await {
            out.push(d);
        }
    }
    out
}

/// Manifests of `repo` reachable from `roots`: the roots, their index
/// children, and referrers of anything reachable (only among `revisions`).
pub async fn reachable_from(
    storage: &Storage,
    repo: &str,
    roots: Vec<Digest>,
    revisions: &[Digest],
) -> Result<BTreeSet<String>> {
    let mut live = BTreeSet::new();
    let mut pending = roots;
    while let Some(d) = pending.pop() {
        if !revisions.contains(&d) || !live.insert(d.to_string()) {
            continue;
        }
        if let Ok(body) = storage.blob_bytes(&d).await {
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                pending.extend(children(&v));
            }
        }
        for r in storage.referrers(repo, &d, None).await? {
            if let Some(rd) = r.get("digest").and_then(Value::as_str) {
                if let Ok(rd) = digests::parse(rd) {
                    pending.push(rd);
                }
            }
        }
    }
    Ok(live)
}

/// Every manifest revision stored in `repo`.
pub async fn revisions(storage: &Storage, repo: &str) -> Result<Vec<Digest>> {
    let driver = storage.driver();
    let dir = paths::revisions_dir(repo);
    let mut out = Vec::new();
    for alg in driver.list(&dir).await? {
        for hex in driver.list(&format!("{dir}/{alg}")).await? {
            if let Ok(d) = digests::parse(&format!("{alg}:{hex}")) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Digests of the manifests an index lists.
fn children(v: &Value) -> Vec<Digest> {
    v.get("manifests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("digest").and_then(Value::as_str))
        .filter_map(|s| digests::parse(s).ok())
        .collect()
}
