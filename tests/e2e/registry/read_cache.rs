//! The manifest read cache (registry/src/storage/read_cache.rs): a tag moved
//! by a push is served at once by the replica that took the push and by
//! another process on the same storage root (revalidated by the tag link's
//! change time); across S3 replicas within the stated bound (1 s); and the
//! cache's memory stays under its bound however many manifests are read.

use super::http::{push_blob, request, sha256};
use super::uploads::{metric, serve};
use crate::registry_s3::{bucket_name, replica};
use hoist_testkit::{shared_moto, wait_until_ok, TempRoot};
use std::time::{Duration, Instant};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// An image manifest over `config` with `pad` bytes of annotation (so
/// distinct manifests are easy to make and as big as wanted).
fn manifest(config: &str, config_len: usize, note: &str, pad: usize) -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_len}}},"layers":[],"annotations":{{"note":"{note}","pad":"{}"}}}}"#,
        "x".repeat(pad)
    )
    .into_bytes()
}

fn put(port: u16, repo: &str, reference: &str, body: &[u8]) {
    let r = request(
        port,
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", MANIFEST)],
        body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

/// The digest the registry serves for `repo:tag`, and the body's digest.
fn served(port: u16, repo: &str, tag: &str) -> (String, String) {
    let r = request(
        port,
        "GET",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Accept", MANIFEST)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    (
        r.header("docker-content-digest").unwrap().to_string(),
        sha256(&r.body),
    )
}

#[test]
fn a_moved_tag_is_served_at_once_and_the_cache_stays_bounded() {
    let dir = TempRoot::new();
    let a = serve(&dir, hoist_testkit::free_port());
    // A second process on the same root, as after a restart or beside it.
    let b = serve(&dir, hoist_testkit::free_port());
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = push_blob(a.port, "cache/app", config);
    let m = |note: &str, pad: usize| manifest(&config_digest, config.len(), note, pad);

    let (one, two, three) = (m("one", 0), m("two", 0), m("three", 0));
    put(a.port, "cache/app", "latest", &one);
    for _ in 0..3 {
        assert_eq!(served(a.port, "cache/app", "latest").1, sha256(&one));
        assert_eq!(served(b.port, "cache/app", "latest").1, sha256(&one));
    }
    put(a.port, "cache/app", "latest", &two);
    let (digest, body) = served(a.port, "cache/app", "latest");
    assert_eq!(
        (digest.as_str(), body.as_str()),
        (&*sha256(&two), &*sha256(&two))
    );
    assert_eq!(served(b.port, "cache/app", "latest").1, sha256(&two));
    // Moved through the other process: seen at once here too.
    put(b.port, "cache/app", "latest", &three);
    assert_eq!(served(a.port, "cache/app", "latest").1, sha256(&three));
    // Deleted: gone at once.
    let r = request(
        b.port,
        "DELETE",
        &format!("/v2/cache/app/manifests/{}", sha256(&three)),
        &[],
        b"",
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let r = request(a.port, "GET", "/v2/cache/app/manifests/latest", &[], b"");
    assert_eq!(r.status, 404);

    // 48 manifests of 1 MiB, read twice each: more than the 32 MiB bound.
    let bound = 32u64 << 20;
    push_blob(a.port, "cache/big", config);
    let mut digests = Vec::new();
    for i in 0..48 {
        let body = m(&format!("big-{i}"), 1 << 20);
        let digest = sha256(&body);
        put(a.port, "cache/big", &digest, &body);
        digests.push(digest);
    }
    for _ in 0..2 {
        for d in &digests {
            let r = request(
                a.port,
                "GET",
                &format!("/v2/cache/big/manifests/{d}"),
                &[],
                b"",
            );
            assert_eq!(r.status, 200);
            assert_eq!(sha256(&r.body), *d);
        }
        let held = metric(a.port, "hoist_registry_cache_manifest_bytes");
        assert!(held <= bound, "the cache holds {held} bytes");
        assert!(held >= bound / 2, "the cache holds only {held} bytes");
    }
}

#[test]
fn a_tag_moved_through_one_s3_replica_is_served_by_another_within_the_bound() {
    let Some(moto) = shared_moto("registry::read_cache::s3_replicas") else {
        return;
    };
    let bucket = bucket_name("read-cache");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    let (a, b) = (
        replica(&tmp, moto.port, &bucket),
        replica(&tmp, moto.port, &bucket),
    );
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = push_blob(a.port, "s3cache/app", config);
    let one = manifest(&config_digest, config.len(), "one", 0);
    let two = manifest(&config_digest, config.len(), "two", 0);
    put(a.port, "s3cache/app", "latest", &one);
    assert_eq!(served(b.port, "s3cache/app", "latest").1, sha256(&one));
    assert_eq!(served(a.port, "s3cache/app", "latest").1, sha256(&one));
    put(a.port, "s3cache/app", "latest", &two);
    let moved = Instant::now();
    // The replica that took the push: at once.
    assert_eq!(served(a.port, "s3cache/app", "latest").1, sha256(&two));
    // The other: within the bound (1 s; the slack covers moto's latency).
    wait_until_ok(
        "replica B serving the moved tag",
        Duration::from_secs(5),
        || (served(b.port, "s3cache/app", "latest").1 == sha256(&two)).then_some(()),
    );
    let took = moved.elapsed();
    assert!(
        took <= Duration::from_millis(1500),
        "replica B served the old tag for {took:?}"
    );
}
