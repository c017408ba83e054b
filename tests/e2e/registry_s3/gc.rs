//! GC with replicas still serving: `hoist registry gc` with replica A's
//! config runs again and again while replica B takes pushes. The grace
//! period's clock (a marker object's mtime) and the mark's inputs (tags,
//! revisions, links) are all read from the bucket, so the collector needs no
//! word from B: everything referenced or young survives, and only the old
//! unreferenced blob goes.

use super::{bucket_name, replica, s3_command};
use crate::registry::http::{push_blob, random_bytes, request, sha256};
use crate::registry::layout::OCI_MANIFEST;
use hoist_testkit::{shared_moto, wait_until, TempRoot};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Blobs younger than this (by the store's clock) are kept. Pushes here take
/// milliseconds from first blob to manifest, far less than this.
const GRACE_SECONDS: &str = "3";

/// What one image push left: (repository, tag, manifest digest, blobs).
struct Pushed {
    repo: String,
    tag: String,
    manifest: String,
    blobs: Vec<(String, Vec<u8>)>,
}

/// Pushes a config and a layer, then a manifest naming them, under `tag`.
fn push_image(port: u16, repo: &str, tag: &str) -> Pushed {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","tag":"{tag}"}}"#).into_bytes();
    let layer = random_bytes(16 * 1024);
    let config_digest = push_blob(port, repo, &config);
    let layer_digest = push_blob(port, repo, &layer);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer.len()}],
    })
    .to_string();
    let r = request(
        port,
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Content-Type", OCI_MANIFEST)],
        manifest.as_bytes(),
    );
    assert_eq!(r.status, 201, "manifest {repo}:{tag}: {}", r.text());
    Pushed {
        repo: repo.to_string(),
        tag: tag.to_string(),
        manifest: sha256(manifest.as_bytes()),
        blobs: vec![(config_digest, config), (layer_digest, layer)],
    }
}

#[test]
fn gc_on_one_replica_while_another_takes_pushes() {
    let Some(moto) = shared_moto("registry_s3::gc_on_one_replica_while_another_takes_pushes")
    else {
        return;
    };
    let bucket = bucket_name("gc");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let a = replica(&tmp, moto.port, &bucket);
    let b = replica(&tmp, moto.port, &bucket);

    let kept = push_image(b.port, "gc/kept", "v1");
    let orphan = push_blob(b.port, "gc/orphan", &random_bytes(8 * 1024));
    // An open upload session with one chunk: young, so GC must leave it.
    let session = request(b.port, "POST", "/v2/gc/open/blobs/uploads/", &[], b"");
    assert_eq!(session.status, 202, "{}", session.text());
    let open_data = random_bytes(40 * 1024);
    let r = request(
        b.port,
        "PATCH",
        session.header("location").unwrap(),
        &[("Content-Range", &format!("0-{}", open_data.len() - 1))],
        &open_data,
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let location = r.header("location").unwrap().to_string();

    let collect = |removed: &mut BTreeSet<String>| {
        let out = s3_command(&tmp, moto.port, &bucket, "gc")
            .args(["--grace-seconds", GRACE_SECONDS, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gc: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        for blob in report["blobs"].as_array().unwrap() {
            removed.insert(blob["digest"].as_str().unwrap().to_string());
        }
        assert!(
            report["uploads"].as_array().unwrap().is_empty(),
            "GC removed a live upload session: {report}"
        );
    };

    // B pushes without pause while GC runs on A's config until the orphan,
    // once older than the grace period, is gone.
    let stop = AtomicBool::new(false);
    let mut removed = BTreeSet::new();
    let pushed: Vec<Pushed> = std::thread::scope(|s| {
        let pusher = s.spawn(|| {
            let mut pushed = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let i = pushed.len();
                pushed.push(push_image(
                    b.port,
                    &format!("gc/busy{}", i % 3),
                    &format!("t{i}"),
                ));
            }
            pushed
        });
        let mut runs = 0;
        wait_until(
            "a GC run removes the old orphan blob",
            Duration::from_secs(60),
            || {
                runs += 1;
                collect(&mut removed);
                removed.contains(&orphan)
            },
        );
        // One more run with pushes still landing, then stop them.
        collect(&mut removed);
        stop.store(true, Ordering::Relaxed);
        assert!(runs >= 1);
        pusher.join().unwrap()
    });
    assert!(!pushed.is_empty(), "no push landed while GC ran");

    // A young orphan (pushed just now) survives a run too.
    let young = push_blob(b.port, "gc/orphan", &random_bytes(8 * 1024));
    collect(&mut removed);
    assert!(
        !removed.contains(&young),
        "GC removed a blob younger than the grace period"
    );

    for image in std::iter::once(&kept).chain(&pushed) {
        let r = request(
            a.port,
            "GET",
            &format!("/v2/{}/manifests/{}", image.repo, image.tag),
            &[("Accept", OCI_MANIFEST)],
            b"",
        );
        assert_eq!(
            r.status,
            200,
            "{}:{} after GC: {}",
            image.repo,
            image.tag,
            r.text()
        );
        assert_eq!(sha256(&r.body), image.manifest);
        for (digest, data) in &image.blobs {
            assert!(
                !removed.contains(digest),
                "GC removed referenced blob {digest}"
            );
            let r = request(
                a.port,
                "GET",
                &format!("/v2/{}/blobs/{digest}", image.repo),
                &[],
                b"",
            );
            assert!(
                r.status == 200 && &r.body == data,
                "{digest} not intact after GC"
            );
        }
    }
    let r = request(
        a.port,
        "GET",
        &format!("/v2/gc/orphan/blobs/{orphan}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 404, "the collected orphan is still served");

    // The open session survived and completes through A.
    let r = request(a.port, "GET", &location, &[], b"");
    assert_eq!(r.status, 204, "{}", r.text());
    let sep = if location.contains('?') { '&' } else { '?' };
    let digest = sha256(&open_data);
    let r = request(
        a.port,
        "PUT",
        &format!("{location}{sep}digest={digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // An abandoned session goes once it is older than gc.upload_max_age
    // (0 here) by the store's clock, whose mtimes have whole seconds.
    let r = request(b.port, "POST", "/v2/gc/abandoned/blobs/uploads/", &[], b"");
    assert_eq!(r.status, 202, "{}", r.text());
    let abandoned = r.header("location").unwrap().to_string();
    let id = abandoned
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    wait_until(
        "GC purges the abandoned session",
        Duration::from_secs(30),
        || {
            let out = s3_command(&tmp, moto.port, &bucket, "gc")
                .args(["--upload-max-age-seconds", "0", "--json"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "gc: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            report["uploads"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["id"] == id.as_str())
        },
    );
    assert_eq!(request(a.port, "GET", &abandoned, &[], b"").status, 404);
}
