//! One collection: retention's plan, then (unless a dry run) its deletions
//! and GC's sweep, all under the storage's GC lease so that replicas and the
//! CLI never collect at once. A dry run takes no lease (it deletes nothing)
//! and reports the plan plus the blobs GC would free once it is applied.

use super::config::RetentionConfig;
use super::lease::{self, Acquired};
use super::{Applied, Plan};
use crate::error::Result;
use crate::gc::{self, GcOptions, GcReport};
use crate::storage::Storage;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct CollectOptions {
    pub dry_run: bool,
    /// Run GC's sweep after retention (the scheduled runs and `registry gc`).
    pub sweep: bool,
    pub gc: GcOptions,
    pub lease_ttl: Duration,
    /// Who holds the lease while this runs (`lease::owner_id`).
    pub owner: String,
}

#[derive(Debug, Default)]
pub struct Collected {
    pub dry_run: bool,
    pub plan: Plan,
    pub applied: Applied,
    pub gc: GcReport,
    pub duration: Duration,
}

pub enum Outcome {
    Done(Collected),
    /// Another collector holds the lease (its owner id).
    Busy(String),
}

pub async fn collect(
    storage: &Storage,
    retention: &RetentionConfig,
    opts: CollectOptions,
) -> Result<Outcome> {
    let started = Instant::now();
    let mut gc_opts = opts.gc.clone();
    gc_opts.dry_run = opts.dry_run;
    let lease = if opts.dry_run {
        None
    } else {
        let driver = Arc::clone(storage.driver());
        match lease::acquire(driver, &opts.owner, opts.lease_ttl).await? {
            Acquired::Held(lease) => Some(lease),
            Acquired::Busy(holder) => return Ok(Outcome::Busy(holder)),
        }
    };
    let result = async {
        let plan = super::plan(storage, retention).await?;
        let mut done = Collected {
            dry_run: opts.dry_run,
            ..Default::default()
        };
        if opts.dry_run {
            gc_opts.assume_deleted = plan
                .manifests
                .iter()
                .map(|m| format!("{}@{}", m.repo, m.digest))
                .collect();
            gc_opts.assume_untagged = plan
                .tags
                .iter()
                .map(|t| format!("{}:{}", t.repo, t.tag))
                .collect();
        } else {
            let check = lease.as_ref().map(|l| l.check());
            let may_delete = || match &check {
                Some(c) => c.ensure(),
                None => Ok(()),
            };
            done.applied = super::apply(storage, &plan, &may_delete).await?;
            gc_opts.lease = check.clone();
        }
        if opts.sweep {
            done.gc = gc::run(storage, gc_opts).await?;
        }
        done.plan = plan;
        done.duration = started.elapsed();
        Ok(done)
    }
    .await;
    if let Some(lease) = lease {
        if let Err(e) = lease.release().await {
            // It expires by itself; the next collector waits for that.
            tracing::warn!(error = %e, "could not release the GC lease");
        }
    }
    result.map(Outcome::Done)
}
