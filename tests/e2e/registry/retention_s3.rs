//! The scheduled GC on two replicas sharing one S3 bucket (moto on
//! 127.0.0.1): their GC lease is a ticket object created with
//! `If-None-Match: *`, so they take turns; retention and GC free an old
//! image's blobs while both replicas take pushes, and every image pushed
//! meanwhile pulls whole through the other replica.
//!
//! S3 objects cannot be made older, so this test uses a 2 s grace period and
//! pushes the old tags a second apart (the store's times have whole-second
//! resolution through HEAD).

use super::retention::{metric, pulls_whole, push_image, tags, Image, StopOnDrop};
use crate::registry_s3::{bucket_name, replica_with};
use hoist_testkit::{shared_moto, wait_until, TempRoot};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[test]
fn two_s3_replicas_collect_on_a_schedule_while_pushes_continue() {
    let Some(moto) = shared_moto(
        "registry::retention_s3::two_s3_replicas_collect_on_a_schedule_while_pushes_continue",
    ) else {
        return;
    };
    let bucket = bucket_name("retention");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let config = tmp.join("registry.toml");
    std::fs::write(
        &config,
        r#"
[gc]
interval = "1s"
grace_seconds = 2
lease_seconds = 20

[[retention.policies]]
repositories = ["old/app"]
keep_last = 1
untagged_older_than = "1s"
"#,
    )
    .unwrap();
    let extra = ["--config", config.to_str().unwrap()];
    let a = replica_with(&tmp, moto.port, &bucket, &extra);
    let b = replica_with(&tmp, moto.port, &bucket, &extra);

    let mut old: Vec<Image> = Vec::new();
    for tag in ["v1", "v2", "v3"] {
        if !old.is_empty() {
            // Distinct push times at the store's one-second resolution.
            std::thread::sleep(Duration::from_millis(1100));
        }
        old.push(push_image(a.port, "old/app", Some(tag), &[]));
    }
    let gone = |port: u16, image: &Image| {
        image.blobs.iter().all(|d| {
            let r = super::http::request(
                port,
                "HEAD",
                &format!("/v2/{}/blobs/{d}", image.repo),
                &[],
                b"",
            );
            r.status == 404
        })
    };
    let rounds = |port| metric(port, "hoist_registry_gc_runs_total{result=\"ok\"}");
    let freed_blobs = || {
        metric(a.port, "hoist_registry_gc_deleted_blobs_total")
            + metric(b.port, "hoist_registry_gc_deleted_blobs_total")
    };

    let stop = AtomicBool::new(false);
    let pushed: Vec<(Image, u16)> = std::thread::scope(|s| {
        let pusher = s.spawn(|| {
            let mut pushed = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let i = pushed.len();
                let port = if i % 2 == 0 { a.port } else { b.port };
                let image = push_image(port, "live/app", Some(&format!("t{i}")), &[]);
                pushed.push((image, port));
            }
            pushed
        });
        // A failed wait must still end the push loop, or the scope never returns.
        let _stop = StopOnDrop(&stop);
        wait_until(
            "scheduled rounds free the two older images' blobs",
            Duration::from_secs(40),
            // Not by HEADing the blobs: a HEAD refreshes a blob for the
            // grace period (that is what protects a client about to reuse it).
            || rounds(a.port) + rounds(b.port) >= 2 && freed_blobs() >= 6,
        );
        let seen = rounds(a.port) + rounds(b.port);
        wait_until("one more GC round", Duration::from_secs(20), || {
            rounds(a.port) + rounds(b.port) > seen
        });
        stop.store(true, Ordering::Relaxed);
        pusher.join().unwrap()
    });
    assert!(pushed.len() >= 2, "pushes landed while GC ran");
    // Exactly the two images' configs, layers and manifests went.
    assert_eq!(freed_blobs(), 6);
    for image in &old[..2] {
        assert!(gone(b.port, image), "{} still served", image.manifest);
    }
    assert_eq!(tags(a.port, "old/app"), ["v3"]);
    pulls_whole(b.port, &old[2]);
    for (image, pushed_to) in &pushed {
        let other = if *pushed_to == a.port { b.port } else { a.port };
        pulls_whole(other, image);
    }
    for port in [a.port, b.port] {
        assert_eq!(
            metric(port, "hoist_registry_gc_runs_total{result=\"failed\"}"),
            0
        );
    }
}
