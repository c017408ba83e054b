//! Retention and GC inside the server, every `[gc] interval`: each replica
//! runs the loop, and the storage's GC lease lets one of them collect per
//! round (the others count a skipped run). The report goes to the log, one
//! line per deleted (or, with `dry_run`, deletable) tag, manifest and blob,
//! and to the `hoist_registry_gc_*` metrics.

use super::lease;
use super::run::{collect, CollectOptions, Collected, Outcome};
use crate::api::App;
use crate::gc::GcOptions;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// GC and retention counters for /metrics.
#[derive(Default)]
pub struct GcCounters {
    pub runs_ok: AtomicU64,
    pub runs_failed: AtomicU64,
    /// Rounds another collector held the lease for.
    pub runs_skipped: AtomicU64,
    pub tags_deleted: AtomicU64,
    pub manifests_deleted: AtomicU64,
    pub blobs_deleted: AtomicU64,
    pub bytes_freed: AtomicU64,
    pub last_duration_ms: AtomicU64,
    /// The last dry run's report: what would go.
    pub dry_run_tags: AtomicU64,
    pub dry_run_manifests: AtomicU64,
    pub dry_run_blobs: AtomicU64,
    pub dry_run_bytes: AtomicU64,
}

impl GcCounters {
    pub fn record(&self, c: &Collected) {
        let set = |a: &AtomicU64, v: u64| a.store(v, Ordering::Relaxed);
        let add = |a: &AtomicU64, v: u64| {
            a.fetch_add(v, Ordering::Relaxed);
        };
        add(&self.runs_ok, 1);
        set(&self.last_duration_ms, c.duration.as_millis() as u64);
        let blobs = c.gc.blobs_removed.len() as u64;
        let manifests = (c.gc.manifests_removed.len() + c.plan.manifests.len()) as u64;
        if c.dry_run {
            set(&self.dry_run_tags, c.plan.tags.len() as u64);
            set(&self.dry_run_manifests, manifests);
            set(&self.dry_run_blobs, blobs);
            set(&self.dry_run_bytes, c.gc.bytes_freed);
        } else {
            add(&self.tags_deleted, c.applied.tags_deleted as u64);
            add(
                &self.manifests_deleted,
                (c.applied.manifests_deleted + c.gc.manifests_removed.len()) as u64,
            );
            add(&self.blobs_deleted, blobs);
            add(&self.bytes_freed, c.gc.bytes_freed);
        }
    }

    pub fn render(&self, out: &mut String) {
        let families: [(&str, &str, &str, &AtomicU64); 12] = [
            (
                "runs_total{result=\"ok\"}",
                "counter",
                "Scheduled collections by result.",
                &self.runs_ok,
            ),
            ("runs_total{result=\"failed\"}", "", "", &self.runs_failed),
            ("runs_total{result=\"skipped\"}", "", "", &self.runs_skipped),
            (
                "deleted_tags_total",
                "counter",
                "Tags retention deleted.",
                &self.tags_deleted,
            ),
            (
                "deleted_manifests_total",
                "counter",
                "Manifests retention and GC deleted.",
                &self.manifests_deleted,
            ),
            (
                "deleted_blobs_total",
                "counter",
                "Blobs GC deleted.",
                &self.blobs_deleted,
            ),
            (
                "freed_bytes_total",
                "counter",
                "Bytes of blobs GC deleted.",
                &self.bytes_freed,
            ),
            (
                "last_duration_milliseconds",
                "gauge",
                "How long the last collection took.",
                &self.last_duration_ms,
            ),
            (
                "dry_run_tags",
                "gauge",
                "Tags the last dry run would delete.",
                &self.dry_run_tags,
            ),
            (
                "dry_run_manifests",
                "gauge",
                "Manifests the last dry run would delete.",
                &self.dry_run_manifests,
            ),
            (
                "dry_run_blobs",
                "gauge",
                "Blobs the last dry run would delete.",
                &self.dry_run_blobs,
            ),
            (
                "dry_run_bytes",
                "gauge",
                "Bytes the last dry run would free.",
                &self.dry_run_bytes,
            ),
        ];
        for (name, kind, help, value) in families {
            let full = format!("hoist_registry_gc_{name}");
            if !kind.is_empty() {
                let family = full.split('{').next().unwrap_or(&full);
                let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} {kind}");
            }
            let _ = writeln!(out, "{full} {}", value.load(Ordering::Relaxed));
        }
    }
}

/// Starts the loop when `[gc] interval` is set; the first round comes one
/// interval after the start.
pub fn spawn(app: Arc<App>) -> Option<tokio::task::JoinHandle<()>> {
    let interval = app.config.gc.interval?;
    let owner = lease::owner_id();
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run_once(&app, &owner).await;
        }
    }))
}

async fn run_once(app: &App, owner: &str) {
    let gc = &app.config.gc;
    let opts = CollectOptions {
        dry_run: gc.dry_run,
        sweep: true,
        gc: GcOptions {
            delete_untagged: gc.delete_untagged,
            grace: Duration::from_secs(gc.grace_seconds),
            upload_max_age: Duration::from_secs(gc.upload_max_age_seconds),
            ..Default::default()
        },
        lease_ttl: Duration::from_secs(gc.lease_seconds),
        owner: owner.to_string(),
    };
    let counters = &app.metrics.gc;
    match collect(&app.storage, &app.config.retention, opts).await {
        Ok(Outcome::Done(c)) => {
            counters.record(&c);
            log_report(&c);
        }
        Ok(Outcome::Busy(holder)) => {
            counters.runs_skipped.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%holder, "GC skipped: another collector holds the lease");
        }
        Err(e) => {
            counters.runs_failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "scheduled GC failed");
        }
    }
}

fn log_report(c: &Collected) {
    let verb = if c.dry_run { "would delete" } else { "deleted" };
    for t in &c.plan.tags {
        tracing::info!(dry_run = c.dry_run, "GC {verb} tag {}:{}", t.repo, t.tag);
    }
    for m in &c.plan.manifests {
        tracing::info!(
            dry_run = c.dry_run,
            "GC {verb} manifest {}@{}",
            m.repo,
            m.digest
        );
    }
    for (repo, digest) in &c.gc.manifests_removed {
        tracing::info!(dry_run = c.dry_run, "GC {verb} manifest {repo}@{digest}");
    }
    for (digest, size) in &c.gc.blobs_removed {
        tracing::info!(
            dry_run = c.dry_run,
            "GC {verb} blob {digest} ({size} bytes)"
        );
    }
    tracing::info!(
        dry_run = c.dry_run,
        tags = c.plan.tags.len(),
        manifests = c.plan.manifests.len() + c.gc.manifests_removed.len(),
        blobs = c.gc.blobs_removed.len(),
        bytes = c.gc.bytes_freed,
        skipped = c.applied.skipped,
        millis = c.duration.as_millis() as u64,
        "GC round finished"
    );
}
