//! Retention: per-repository policies (`[[retention.policies]]`) that say
//! which tags and untagged manifests go, planned first (the dry-run report
//! is exactly the plan) and then applied; GC then frees the blobs nothing
//! references any more. `run.rs` puts retention and GC under the storage's
//! GC lease; `schedule.rs` runs that inside the server.
//!
//! "Most recent" is by the tag link's mtime in the store: the time the tag
//! was last pushed (or moved), on the store's clock. Untagged manifests age
//! by their revision link's mtime (last PUT of that manifest).

pub mod config;
pub mod lease;
pub mod run;
pub mod schedule;
pub mod touch;

use crate::digests::Digest;
use crate::error::Result;
use crate::gc;
use crate::storage::{paths, ManifestRef, Storage};
use config::RetentionConfig;
use std::time::SystemTime;

/// A tag the policy deletes.
#[derive(Debug, Clone)]
pub struct PlannedTag {
    pub repo: String,
    pub tag: String,
    pub digest: Digest,
    /// The tag link's mtime when planned; a tag pushed again since is kept.
    pub pushed: SystemTime,
}

/// An untagged manifest the policy deletes.
#[derive(Debug, Clone)]
pub struct PlannedManifest {
    pub repo: String,
    pub digest: Digest,
    /// The revision link's mtime when planned.
    pub pushed: SystemTime,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub tags: Vec<PlannedTag>,
    pub manifests: Vec<PlannedManifest>,
}

/// What applying a plan did; entries changed since planning are skipped.
#[derive(Debug, Default)]
pub struct Applied {
    pub tags_deleted: usize,
    pub manifests_deleted: usize,
    /// Pushed again (or already gone) between the plan and its application.
    pub skipped: usize,
}

/// Works out what the policies delete now, touching nothing.
pub async fn plan(storage: &Storage, config: &RetentionConfig) -> Result<Plan> {
    let mut out = Plan::default();
    if config.policies.is_empty() {
        return Ok(out);
    }
    let now = gc::store_now(storage, "_tmp/retention-clock").await?;
    for repo in storage.catalog().await? {
        let Some(policy) = config.policy_for(&repo) else {
            continue;
        };
        // (pushed, tag, digest), newest first; ties by name for a stable order.
        let mut tags = Vec::new();
        for tag in storage.tags(&repo).await.unwrap_or_default() {
            let Some(meta) = storage.driver().stat(&paths::tag_link(&repo, &tag)).await? else {
                continue;
            };
            let Ok(digest) = storage.resolve(&repo, &ManifestRef::Tag(tag.clone())).await else {
                continue;
            };
            tags.push((meta.modified, tag, digest));
        }
        tags.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        let mut kept = Vec::new();
        for (rank, (pushed, tag, digest)) in tags.into_iter().enumerate() {
            let keep = !policy.prunes_tags()
                || policy.keep_last.is_some_and(|n| rank < n)
                || policy.keeps_by_name(&tag);
            if keep {
                kept.push(digest);
            } else {
                out.tags.push(PlannedTag {
                    repo: repo.clone(),
                    tag,
                    digest,
                    pushed,
                });
            }
        }
        let Some(max_age) = policy.untagged_older_than else {
            continue;
        };
        let revisions = gc::revisions(storage, &repo).await?;
        let live = gc::reachable_from(storage, &repo, kept, &revisions).await?;
        for digest in revisions {
            if live.contains(&digest.to_string()) {
                continue;
            }
            let link = paths::revision_link(&repo, &digest);
            let Some(meta) = storage.driver().stat(&link).await? else {
                continue;
            };
            let age = now.duration_since(meta.modified).unwrap_or_default();
            if age >= max_age {
                out.manifests.push(PlannedManifest {
                    repo: repo.clone(),
                    digest,
                    pushed: meta.modified,
                });
            }
        }
    }
    Ok(out)
}

/// Deletes what `plan` listed, re-checking each entry right before: a tag
/// pushed again since the plan, or a manifest PUT again or reachable from a
/// tag now, stays. `may_delete` is asked before every deletion (the lease).
pub async fn apply(
    storage: &Storage,
    plan: &Plan,
    may_delete: &(dyn Fn() -> Result<()> + Sync),
) -> Result<Applied> {
    let mut done = Applied::default();
    for t in &plan.tags {
        let link = paths::tag_link(&t.repo, &t.tag);
        let unchanged = storage
            .driver()
            .stat(&link)
            .await?
            .is_some_and(|m| m.modified == t.pushed);
        let same = storage
            .resolve(&t.repo, &ManifestRef::Tag(t.tag.clone()))
            .await
            .is_ok_and(|d| d == t.digest);
        if !(unchanged && same) {
            done.skipped += 1;
            continue;
        }
        may_delete()?;
        storage
            .delete_manifest(&t.repo, &ManifestRef::Tag(t.tag.clone()))
            .await?;
        done.tags_deleted += 1;
    }
    // Reachability is re-computed per repository from its tags as they are
    // now (after the tag deletions), once, before its manifests go.
    let mut repo_live: Option<(String, std::collections::BTreeSet<String>)> = None;
    for m in &plan.manifests {
        if repo_live.as_ref().is_none_or(|(r, _)| r != &m.repo) {
            let revisions = gc::revisions(storage, &m.repo).await?;
            let roots = gc::tagged(storage, &m.repo).await;
            let live = gc::reachable_from(storage, &m.repo, roots, &revisions).await?;
            repo_live = Some((m.repo.clone(), live));
        }
        let (_, live) = repo_live.as_ref().expect("set above");
        let unchanged = storage
            .driver()
            .stat(&paths::revision_link(&m.repo, &m.digest))
            .await?
            .is_some_and(|meta| meta.modified == m.pushed);
        if !unchanged || live.contains(&m.digest.to_string()) {
            done.skipped += 1;
            continue;
        }
        may_delete()?;
        storage
            .delete_manifest(&m.repo, &ManifestRef::Digest(m.digest.clone()))
            .await?;
        done.manifests_deleted += 1;
    }
    Ok(done)
}

#[cfg(test)]
mod tests;
