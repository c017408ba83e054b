//! `hoist registry serve|gc|retention|scrub`: config file + flags -> the registry crate.

use crate::cli::registry::{
    ConfigArgs, GcArgs, RegistryAction, RegistryCommand, RetentionArgs, ScrubArgs, ServeArgs,
};
use crate::cli::GlobalArgs;
use anyhow::Context;
use hoist_registry::Config;
use std::path::PathBuf;
use std::time::Duration;

pub fn run(cmd: RegistryCommand, global: &GlobalArgs) -> anyhow::Result<i32> {
    let RegistryCommand::Registry { command } = cmd;
    // `serve` runs its first worker on this thread and starts the others
    // itself, each on a runtime of its own (registry's workers.rs).
    let mut builder = match &command {
        RegistryAction::Serve(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = builder
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match command {
        RegistryAction::Serve(args) => runtime.block_on(serve(args, global)),
        RegistryAction::Gc(args) => runtime.block_on(gc(args, global)),
        RegistryAction::Retention(args) => runtime.block_on(retention(args, global)),
        RegistryAction::Scrub(args) => runtime.block_on(scrub(args, global)),
    }
}

/// The config file (if any) with the shared flags applied.
fn base_config(args: &ConfigArgs, global: &GlobalArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(root) = &args.storage_root {
        config.root = Some(root.clone());
    }
    if config.root.is_none() {
        // The default storage lives in hoist's root: make that root private (0700, as
        // every store open does) before the registry creates anything inside it.
        let root = hoist_root(global);
        hoist_store::Store::open(&root)?;
        config.root = Some(root.join("registry"));
    }
    args.s3.apply(&mut config.storage.s3);
    Ok(config)
}

/// hoist's own root: --root / HOIST_ROOT, else /var/lib/hoist for root,
/// else $XDG_DATA_HOME/hoist.
fn hoist_root(global: &GlobalArgs) -> PathBuf {
    if let Some(root) = &global.root {
        return root.clone();
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/hoist");
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("hoist")
}

fn serve_config(args: &ServeArgs, global: &GlobalArgs) -> anyhow::Result<Config> {
    let mut c = base_config(&args.config, global)?;
    macro_rules! set {
        ($field:expr, $flag:expr) => {
            if let Some(v) = $flag.clone() {
                $field = v;
            }
        };
    }
    set!(c.addr, args.addr);
    set!(c.workers, args.workers);
    set!(c.delete_enabled, args.delete_enabled);
    set!(c.max_manifest_bytes, args.max_manifest_bytes);
    set!(c.max_upload_bytes, args.max_upload_bytes);
    set!(c.auth.anonymous_pull, args.anonymous_pull);
    set!(c.auth.service, args.service);
    set!(c.auth.token_ttl_seconds, args.token_ttl_seconds);
    if let Some(mode) = &args.auth_mode {
        c.auth.mode = mode.parse().map_err(anyhow::Error::msg)?;
    }
    if args.tls_cert.is_some() {
        c.tls.cert = args.tls_cert.clone();
    }
    if args.tls_key.is_some() {
        c.tls.key = args.tls_key.clone();
    }
    if args.htpasswd.is_some() {
        c.auth.htpasswd = args.htpasswd.clone();
    }
    if args.realm.is_some() {
        c.auth.realm = args.realm.clone();
    }
    if args.token_secret_file.is_some() {
        c.auth.token_secret_file = args.token_secret_file.clone();
    }
    Ok(c)
}

async fn serve(args: ServeArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let config = serve_config(&args, global)?;
    let running = hoist_registry::start(&config).await?;
    let scheme = if config.tls.cert.is_some() {
        "https"
    } else {
        "http"
    };
    eprintln!(
        "hoist registry listening on {scheme}://{} (storage {}, auth {:?}, {} workers)",
        running.addr,
        match &config.storage.s3 {
            Some(s3) => format!("s3://{}/{}", s3.bucket, s3.prefix),
            None => config
                .root
                .as_ref()
                .expect("root is set")
                .display()
                .to_string(),
        },
        config.auth.mode,
        running.workers
    );
    running.shutdown_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    });
    running.wait().await.context("serving")?;
    eprintln!("hoist registry stopped");
    Ok(0)
}

/// `hoist registry scrub`: exit 1 when any blob does not match its digest.
async fn scrub(args: ScrubArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let config = base_config(&args.config, global)?;
    let app = hoist_registry::build(&config)?;
    let mut report = hoist_registry::scrub::run(&app.storage, args.quarantine).await?;
    // Keys become file paths for the filesystem driver, s3:// URLs for S3.
    let place = |key: &str| match (&config.storage.s3, &config.root) {
        (Some(s3), _) => {
            let prefix = s3.prefix.trim_matches('/');
            let sep = if prefix.is_empty() { "" } else { "/" };
            format!("s3://{}/{prefix}{sep}{key}", s3.bucket)
        }
        (None, Some(root)) => root.join(key).display().to_string(),
        (None, None) => key.to_string(),
    };
    for m in &mut report.mismatches {
        m.path = place(&m.path);
        m.quarantined_to = m.quarantined_to.as_deref().map(place);
    }
    if args.json {
        let bad: Vec<_> = report
            .mismatches
            .iter()
            .map(|m| {
                serde_json::json!({
                    "path": m.path,
                    "expected": m.expected.to_string(),
                    "actual": m.actual.to_string(),
                    "size": m.size,
                    "manifest_of": m.manifest_of,
                    "quarantined_to": m.quarantined_to,
                })
            })
            .collect();
        let json = serde_json::json!({
            "blobs_checked": report.blobs_checked,
            "bytes_checked": report.bytes_checked,
            "mismatches": bad,
        });
        println!("{json}");
    } else {
        for m in &report.mismatches {
            let kind = if m.manifest_of.is_empty() {
                "blob".to_string()
            } else {
                format!("manifest of {}", m.manifest_of.join(", "))
            };
            println!(
                "MISMATCH {} ({kind}): expected {}, actual {}",
                m.path, m.expected, m.actual
            );
            if let Some(to) = &m.quarantined_to {
                println!("  quarantined to {to}");
            }
        }
        println!(
            "checked {} blobs ({} bytes): {} corrupt",
            report.blobs_checked,
            report.bytes_checked,
            report.mismatches.len()
        );
    }
    Ok(if report.mismatches.is_empty() { 0 } else { 1 })
}

async fn gc(args: GcArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let mut config = base_config(&args.config, global)?;
    if let Some(v) = args.delete_untagged {
        config.gc.delete_untagged = v;
    }
    if let Some(v) = args.grace_seconds {
        config.gc.grace_seconds = v;
    }
    if let Some(v) = args.upload_max_age_seconds {
        config.gc.upload_max_age_seconds = v;
    }
    let app = hoist_registry::build(&config)?;
    // Under the storage's GC lease, like the servers' scheduled runs, and
    // without the retention policies (`hoist registry retention` applies them).
    let no_policies = Default::default();
    let report = collect(&app.storage, &no_policies, &config, args.dry_run)
        .await?
        .gc;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    if args.json {
        let json = serde_json::json!({
            "dry_run": args.dry_run,
            "blobs": report.blobs_removed.iter().map(|(d, s)| serde_json::json!({"digest": d.to_string(), "size": s})).collect::<Vec<_>>(),
            "manifests": report.manifests_removed.iter().map(|(r, d)| serde_json::json!({"repository": r, "digest": d.to_string()})).collect::<Vec<_>>(),
            "uploads": report.uploads_removed.iter().map(|(r, id)| serde_json::json!({"repository": r, "id": id})).collect::<Vec<_>>(),
            "bytes_freed": report.bytes_freed,
        });
        println!("{json}");
        return Ok(0);
    }
    for (repo, digest) in &report.manifests_removed {
        println!("{verb} manifest {repo}@{digest}");
    }
    for (digest, size) in &report.blobs_removed {
        println!("{verb} blob {digest} ({size} bytes)");
    }
    for (repo, id) in &report.uploads_removed {
        println!("{verb} upload {repo}/{id}");
    }
    println!(
        "{verb} {} blobs, {} manifests, {} uploads; {} bytes freed",
        report.blobs_removed.len(),
        report.manifests_removed.len(),
        report.uploads_removed.len(),
        report.bytes_freed
    );
    Ok(0)
}

/// One collection (retention `policies`, then GC) with the config's GC
/// settings, or an error naming the collector that holds the lease.
async fn collect(
    storage: &hoist_registry::storage::Storage,
    policies: &hoist_registry::retention::config::RetentionConfig,
    config: &Config,
    dry_run: bool,
) -> anyhow::Result<hoist_registry::retention::run::Collected> {
    use hoist_registry::retention::{lease, run};
    let opts = run::CollectOptions {
        dry_run,
        sweep: true,
        gc: hoist_registry::gc::GcOptions {
            delete_untagged: config.gc.delete_untagged,
            grace: Duration::from_secs(config.gc.grace_seconds),
            upload_max_age: Duration::from_secs(config.gc.upload_max_age_seconds),
            ..Default::default()
        },
        lease_ttl: Duration::from_secs(config.gc.lease_seconds),
        owner: lease::owner_id(),
    };
    match run::collect(storage, policies, opts).await? {
        run::Outcome::Done(c) => Ok(c),
        run::Outcome::Busy(holder) => anyhow::bail!(
            "another collector holds the storage's GC lease ({holder}); \
             try again when its run is over"
        ),
    }
}

/// `hoist registry retention`: the policies' deletions (or, with
/// --dry-run, the list of them), then the blobs GC frees.
async fn retention(args: RetentionArgs, global: &GlobalArgs) -> anyhow::Result<i32> {
    let mut config = base_config(&args.config, global)?;
    if let Some(v) = args.grace_seconds {
        config.gc.grace_seconds = v;
    }
    if config.retention.policies.is_empty() {
        anyhow::bail!(
            "no [[retention.policies]] in the configuration: give --config FILE with at \
             least one policy (see examples/registry/config.toml)"
        );
    }
    let app = hoist_registry::build(&config)?;
    let c = collect(&app.storage, &config.retention, &config, args.dry_run).await?;
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let when = |t: std::time::SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    if args.json {
        let json = serde_json::json!({
            "dry_run": args.dry_run,
            "tags": c.plan.tags.iter().map(|t| serde_json::json!({
                "repository": t.repo, "tag": t.tag, "digest": t.digest.to_string(),
                "pushed": when(t.pushed)})).collect::<Vec<_>>(),
            "manifests": c.plan.manifests.iter().map(|m| serde_json::json!({
                "repository": m.repo, "digest": m.digest.to_string(),
                "pushed": when(m.pushed)})).collect::<Vec<_>>(),
            "blobs": c.gc.blobs_removed.iter().map(|(d, s)| serde_json::json!({
                "digest": d.to_string(), "size": s})).collect::<Vec<_>>(),
            "skipped": c.applied.skipped,
            "bytes_freed": c.gc.bytes_freed,
        });
        println!("{json}");
        return Ok(0);
    }
    for t in &c.plan.tags {
        println!(
            "{verb} tag {}:{} ({}, pushed {})",
            t.repo,
            t.tag,
            t.digest,
            when(t.pushed)
        );
    }
    for m in &c.plan.manifests {
        println!(
            "{verb} manifest {}@{} (untagged, pushed {})",
            m.repo,
            m.digest,
            when(m.pushed)
        );
    }
    for (digest, size) in &c.gc.blobs_removed {
        println!("{verb} blob {digest} ({size} bytes)");
    }
    if c.applied.skipped > 0 {
        println!(
            "kept {} pushed again since they were planned",
            c.applied.skipped
        );
    }
    println!(
        "{verb} {} tags, {} manifests, {} blobs; {} bytes freed",
        if args.dry_run {
            c.plan.tags.len()
        } else {
            c.applied.tags_deleted
        },
        if args.dry_run {
            c.plan.manifests.len()
        } else {
            c.applied.manifests_deleted
        },
        c.gc.blobs_removed.len(),
        c.gc.bytes_freed
    );
    Ok(0)
}
