//! Retention policies and the online GC (`[gc] interval`, `[[retention.policies]]`)
//! against real `hoist registry serve` processes on loopback: the dry-run
//! report (CLI, and a server scheduled with `dry_run = true`) lists exactly
//! what the policies say; the real run removes it and frees the blob files;
//! two servers on one storage collect on a schedule while skopeo pushes
//! through both, and every image pushed meanwhile pulls whole afterwards; a
//! client that HEADs an old unreferenced blob and PUTs its manifest only
//! after a GC round still finds the blob.
//!
//! Ages are set on the storage's files (mtimes), the times retention and GC
//! read, so the tests need not wait hours.

use super::http::{push_blob, random_bytes, request, sha256};
use super::layout::{self, OCI_MANIFEST};
use super::skopeo::skopeo_ok;
use crate::common::{hoist, hoist_out};
use hoist_testkit::{require_program, wait_until, Peer, TempRoot};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

const HOUR: Duration = Duration::from_secs(3600);

/// What one pushed image is made of.
pub(super) struct Image {
    pub repo: String,
    pub manifest: String,
    pub blobs: Vec<String>,
}

/// Pushes a config and a layer (plus `extra` stored blobs, HEADed first as
/// clients do) and a manifest naming them, by tag or (untagged) by digest.
pub(super) fn push_image(
    port: u16,
    repo: &str,
    tag: Option<&str>,
    extra: &[(String, usize)],
) -> Image {
    let config = format!(r#"{{"os":"linux","n":"{}"}}"#, sha256(&random_bytes(8))).into_bytes();
    let layer = random_bytes(4096);
    let config_digest = push_blob(port, repo, &config);
    let layer_digest = push_blob(port, repo, &layer);
    let mut layers = vec![
        json!({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                 "digest": layer_digest, "size": layer.len()}),
    ];
    let mut blobs = vec![config_digest.clone(), layer_digest];
    for (digest, size) in extra {
        let head = request(
            port,
            "HEAD",
            &format!("/v2/{repo}/blobs/{digest}"),
            &[],
            b"",
        );
        assert_eq!(head.status, 200, "HEAD {digest} in {repo}");
        layers.push(
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                           "digest": digest, "size": size}),
        );
        blobs.push(digest.clone());
    }
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config.len()},
        "layers": layers,
    })
    .to_string();
    let digest = sha256(manifest.as_bytes());
    let reference = tag.map(str::to_string).unwrap_or_else(|| digest.clone());
    let r = put_manifest(port, repo, &reference, &manifest);
    assert_eq!(r.status, 201, "manifest {repo}:{reference}: {}", r.text());
    Image {
        repo: repo.into(),
        manifest: digest,
        blobs,
    }
}

fn put_manifest(port: u16, repo: &str, reference: &str, body: &str) -> super::http::Reply {
    request(
        port,
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", OCI_MANIFEST)],
        body.as_bytes(),
    )
}

fn blob_file(storage: &Path, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    storage.join(format!("blobs/sha256/{}/{hex}/data", &hex[..2]))
}

fn set_age(path: &Path, age: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

/// Makes every file under `dir` `age` old.
fn age_all(dir: &Path, age: Duration) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            age_all(&path, age);
        } else {
            set_age(&path, age);
        }
    }
}

fn tag_link(storage: &Path, repo: &str, tag: &str) -> PathBuf {
    storage.join(format!("repositories/{repo}/_manifests/tags/{tag}/link"))
}

/// `hoist registry serve` over an existing storage directory with a config.
fn serve(root: &TempRoot, storage: &Path, config: &Path) -> (Peer, u16, PathBuf) {
    let port = hoist_testkit::free_port();
    let log = root.join(format!("server-{port}.log"));
    let mut cmd = hoist(root.path());
    cmd.args(["registry", "serve", "--log-level", "info"])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .arg("--storage-root")
        .arg(storage)
        .arg("--config")
        .arg(config);
    (Peer::start(&mut cmd, port, &log), port, log)
}

/// A value of the server's /metrics (0 when absent).
pub(super) fn metric(port: u16, name: &str) -> u64 {
    let text = request(port, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

pub(super) fn tags(port: u16, repo: &str) -> Vec<String> {
    let r = request(port, "GET", &format!("/v2/{repo}/tags/list"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    let mut out: Vec<String> = v["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

/// The image's manifest and every blob, compared with their digests.
pub(super) fn pulls_whole(port: u16, image: &Image) {
    let r = request(
        port,
        "GET",
        &format!("/v2/{}/manifests/{}", image.repo, image.manifest),
        &[("Accept", OCI_MANIFEST)],
        b"",
    );
    assert_eq!(
        r.status,
        200,
        "{}@{}: {}",
        image.repo,
        image.manifest,
        r.text()
    );
    for digest in &image.blobs {
        let r = request(
            port,
            "GET",
            &format!("/v2/{}/blobs/{digest}", image.repo),
            &[],
            b"",
        );
        assert_eq!(r.status, 200, "blob {digest} of {}", image.repo);
        assert_eq!(&sha256(&r.body), digest);
    }
}

fn set(items: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    items.into_iter().collect()
}

#[test]
fn dry_run_lists_exactly_the_policy_and_the_real_run_removes_it() {
    let root = TempRoot::new();
    let storage = root.join("registry");
    let config = root.join("registry.toml");
    // A server that collects every second but only reports (dry_run).
    std::fs::write(
        &config,
        r#"
[gc]
interval = "1s"
dry_run = true
grace_seconds = 60

[[retention.policies]]
repositories = ["ret/app"]
keep_last = 2
keep_tags = ["release-*"]
untagged_older_than = "1h"

[[retention.policies]]
repositories = ["ret/untagged"]
untagged_older_than = "1d"
"#,
    )
    .unwrap();
    let (_peer, port, log) = serve(&root, &storage, &config);

    let mut images = Vec::new();
    for tag in ["v1", "v2", "v3", "v4", "v5", "v6", "release-1"] {
        images.push(push_image(port, "ret/app", Some(tag), &[]));
    }
    let old_untagged = push_image(port, "ret/untagged", None, &[]);
    let young_untagged = push_image(port, "ret/untagged", None, &[]);
    let unmanaged = push_image(port, "other/app", Some("x1"), &[]);
    // Everything two days old, then v1 (oldest) .. v6 (newest) an hour
    // apart, release-1 older than all; one untagged manifest young again.
    age_all(&storage.join("blobs"), 48 * HOUR);
    age_all(&storage.join("repositories"), 48 * HOUR);
    for (i, tag) in ["v1", "v2", "v3", "v4", "v5", "v6"].iter().enumerate() {
        set_age(&tag_link(&storage, "ret/app", tag), HOUR * (10 - i as u32));
    }
    set_age(&tag_link(&storage, "ret/app", "release-1"), 100 * HOUR);
    let young_link = storage.join(format!(
        "repositories/ret/untagged/_manifests/revisions/sha256/{}/link",
        young_untagged.manifest.trim_start_matches("sha256:")
    ));
    set_age(&young_link, Duration::from_secs(60));

    // What the policies say: v1..v4 go (only v5, v6 are the 2 newest and
    // release-1 matches), their manifests are then untagged and 48 h old,
    // and so is the old untagged one; GC frees all their blobs.
    let doomed: Vec<&Image> = images[..4].iter().chain([&old_untagged]).collect();
    let want_tags = set(["v1", "v2", "v3", "v4"].map(String::from));
    let want_manifests = set(doomed.iter().map(|i| i.manifest.clone()));
    let want_blobs = set(doomed
        .iter()
        .flat_map(|i| i.blobs.iter().cloned().chain([i.manifest.clone()])));

    let args = |dry: bool| {
        let mut a = vec!["registry", "retention", "--json", "--config"];
        a.push(config.to_str().unwrap());
        a.extend(["--storage-root", storage.to_str().unwrap()]);
        if dry {
            a.push("--dry-run");
        }
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let report = |dry: bool| -> Value {
        let a = args(dry);
        let out = hoist_out(
            root.path(),
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert!(
            out.status.success(),
            "retention: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let field = |r: &Value, list: &str, key: &str| {
        set(r[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[key].as_str().unwrap().to_string()))
    };

    let dry = report(true);
    assert_eq!(field(&dry, "tags", "tag"), want_tags, "{dry}");
    assert_eq!(field(&dry, "manifests", "digest"), want_manifests, "{dry}");
    assert_eq!(field(&dry, "blobs", "digest"), want_blobs, "{dry}");
    for digest in &want_blobs {
        assert!(
            blob_file(&storage, digest).exists(),
            "dry run deleted {digest}"
        );
    }

    // The server scheduled with dry_run says the same in its metrics and log.
    // (A round before the ages were set found the same tags but nothing old.)
    wait_until(
        "a scheduled dry run reports the policy",
        Duration::from_secs(20),
        || {
            metric(port, "hoist_registry_gc_dry_run_tags") == 4
                && metric(port, "hoist_registry_gc_dry_run_manifests") == 5
                && metric(port, "hoist_registry_gc_dry_run_blobs") == want_blobs.len() as u64
        },
    );
    let text = std::fs::read_to_string(&log).unwrap();
    for tag in &want_tags {
        assert!(
            text.contains(&format!("GC would delete tag ret/app:{tag}")),
            "{text}"
        );
    }
    assert_eq!(tags(port, "ret/app").len(), 7, "a dry run deleted tags");

    let real = report(false);
    assert_eq!(field(&real, "tags", "tag"), want_tags, "{real}");
    assert_eq!(
        field(&real, "manifests", "digest"),
        want_manifests,
        "{real}"
    );
    assert_eq!(field(&real, "blobs", "digest"), want_blobs, "{real}");
    for digest in &want_blobs {
        assert!(
            !blob_file(&storage, digest).exists(),
            "{digest} still stored"
        );
    }
    assert_eq!(tags(port, "ret/app"), ["release-1", "v5", "v6"]);
    for kept in images[4..].iter().chain([&young_untagged, &unmanaged]) {
        pulls_whole(port, kept);
    }
    // And the next dry run finds nothing left to do.
    let again = report(true);
    assert!(again["tags"].as_array().unwrap().is_empty(), "{again}");
    assert!(again["blobs"].as_array().unwrap().is_empty(), "{again}");
}

#[test]
fn scheduled_gc_on_two_servers_frees_blobs_while_pushes_continue() {
    require_program!("skopeo");
    let root = TempRoot::new();
    let storage = root.join("registry");
    let setup = root.join("setup.toml");
    std::fs::write(&setup, "").unwrap();
    let config = root.join("registry.toml");
    std::fs::write(
        &config,
        r#"
[gc]
interval = "2s"
grace_seconds = 30
lease_seconds = 20

[[retention.policies]]
repositories = ["old/app"]
keep_last = 1
untagged_older_than = "10m"
"#,
    )
    .unwrap();
    // Set up through a server that does not collect: three old images (the
    // two older go), and two old blobs nothing references, one of which a
    // client is about to reuse.
    let (mut setup_peer, port, _) = serve(&root, &storage, &setup);
    let old: Vec<Image> = ["v1", "v2", "v3"]
        .iter()
        .map(|t| push_image(port, "old/app", Some(t), &[]))
        .collect();
    let reused_data = random_bytes(2048);
    let reused = push_blob(port, "live/app", &reused_data);
    let orphan = push_blob(port, "live/app", &random_bytes(2048));
    setup_peer.guard.kill();
    age_all(&storage.join("blobs"), HOUR);
    age_all(&storage.join("repositories"), HOUR);
    for (i, t) in ["v1", "v2", "v3"].iter().enumerate() {
        set_age(&tag_link(&storage, "old/app", t), HOUR * (5 - i as u32));
    }
    // The first round comes an interval after a server starts; the client
    // HEADs the old blob (and so skips its upload) before it ...
    let (_a, port_a, _) = serve(&root, &storage, &config);
    let head = request(
        port_a,
        "HEAD",
        &format!("/v2/live/app/blobs/{reused}"),
        &[],
        b"",
    );
    assert_eq!(head.status, 200);
    let (_b, port_b, _) = serve(&root, &storage, &config);
    let rounds = |port| metric(port, "hoist_registry_gc_runs_total{result=\"ok\"}");

    let stop = AtomicBool::new(false);
    let tmp = TempRoot::new();
    let pushed: Vec<(String, u16)> = std::thread::scope(|s| {
        // skopeo pushes through both servers, without pause, all along.
        let pusher = s.spawn(|| {
            let mut pushed = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let i = pushed.len();
                let dir = tmp.join(format!("src{i}"));
                layout::single(&dir, "t", &[16 * 1024]);
                let port = if i % 2 == 0 { port_a } else { port_b };
                let dest = format!("docker://127.0.0.1:{port}/live/pushed:t{i}");
                skopeo_ok(
                    tmp.path(),
                    &[
                        "copy",
                        "--dest-tls-verify=false",
                        &format!("oci:{}:t", dir.display()),
                        &dest,
                    ],
                );
                pushed.push((format!("t{i}"), port));
            }
            pushed
        });
        // A failed wait must still end the push loop, or the scope never returns.
        let _stop = StopOnDrop(&stop);
        wait_until(
            "GC rounds free the old images' and the orphan's blobs",
            Duration::from_secs(40),
            || {
                rounds(port_a) + rounds(port_b) >= 2
                    && !blob_file(&storage, &orphan).exists()
                    && old[..2]
                        .iter()
                        .flat_map(|i| &i.blobs)
                        .all(|d| !blob_file(&storage, d).exists())
            },
        );
        // ... and PUTs the manifest naming it only after GC rounds ran: the
        // HEAD refreshed the blob, so the grace period covered it.
        let late = {
            let config = br#"{"os":"linux","late":true}"#;
            let config_digest = push_blob(port_a, "live/app", config);
            let manifest = json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config_digest, "size": config.len()},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": reused, "size": reused_data.len()}],
            })
            .to_string();
            let r = put_manifest(port_a, "live/app", "late", &manifest);
            assert_eq!(r.status, 201, "the HEADed blob was collected: {}", r.text());
            Image {
                repo: "live/app".into(),
                manifest: sha256(manifest.as_bytes()),
                blobs: vec![config_digest, reused.clone()],
            }
        };
        // One more round with pushes still landing, then stop them.
        let seen = rounds(port_a) + rounds(port_b);
        wait_until("one more GC round", Duration::from_secs(20), || {
            rounds(port_a) + rounds(port_b) > seen
        });
        stop.store(true, Ordering::Relaxed);
        pulls_whole(port_b, &late);
        pusher.join().unwrap()
    });
    assert!(pushed.len() >= 2, "pushes landed while GC ran: {pushed:?}");
    assert_eq!(tags(port_a, "old/app"), ["v3"]);
    pulls_whole(port_b, &old[2]);
    // Every image pushed during the rounds pulls whole, through the other
    // server, with skopeo checking every digest.
    for (tag, pushed_to) in &pushed {
        let other = if *pushed_to == port_a { port_b } else { port_a };
        let dir = tmp.join(format!("pulled-{tag}"));
        skopeo_ok(
            tmp.path(),
            &[
                "copy",
                "--src-tls-verify=false",
                &format!("docker://127.0.0.1:{other}/live/pushed:{tag}"),
                &format!("oci:{}:{tag}", dir.display()),
            ],
        );
    }
    for port in [port_a, port_b] {
        assert_eq!(
            metric(port, "hoist_registry_gc_runs_total{result=\"failed\"}"),
            0
        );
    }
}

/// Ends a push loop when dropped (also on a panic).
pub(super) struct StopOnDrop<'a>(pub &'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_held_lease_makes_the_cli_collectors_refuse_with_its_owner() {
    let root = TempRoot::new();
    let storage = root.join("registry");
    // Another collector's fresh ticket, as a replica mid-round leaves it.
    let lease = storage.join("_gc/lease");
    std::fs::create_dir_all(&lease).unwrap();
    std::fs::write(
        lease.join(format!("ticket-{:020}", 7)),
        r#"{"owner":"replica-b","released":false}"#,
    )
    .unwrap();
    let config = root.join("registry.toml");
    std::fs::write(
        &config,
        "[[retention.policies]]\nrepositories = [\"**\"]\nkeep_last = 1\n",
    )
    .unwrap();
    let storage_arg = storage.to_str().unwrap();
    for verb in ["gc", "retention"] {
        let out = hoist_out(
            root.path(),
            &[
                "registry",
                verb,
                "--storage-root",
                storage_arg,
                "--config",
                config.to_str().unwrap(),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{verb}: {err}");
        assert!(
            err.contains("GC lease") && err.contains("replica-b"),
            "{verb}: {err}"
        );
    }
    // A dry run deletes nothing, so it needs no lease.
    let out = hoist_out(
        root.path(),
        &[
            "registry",
            "retention",
            "--dry-run",
            "--storage-root",
            storage_arg,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Released, the next collector takes it.
    std::fs::write(
        lease.join(format!("ticket-{:020}", 7)),
        r#"{"owner":"replica-b","released":true}"#,
    )
    .unwrap();
    let out = hoist_out(
        root.path(),
        &["registry", "gc", "--storage-root", storage_arg],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lease.join(format!("ticket-{:020}", 8)).exists());
}
