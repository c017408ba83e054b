//! `hoist registry serve` as a pull-through cache (`[proxy]`) in front of
//! Debian's docker-registry (CNCF distribution) on loopback: skopeo and
//! hoist pull through it, concurrent cold pulls fetch each blob upstream
//! once, warm pulls send nothing upstream (counted in distribution's access
//! log), cached images pull with upstream stopped, and a tag moved upstream
//! is seen once its TTL is over.

use super::http;
use super::layout;
use super::skopeo::{skopeo, skopeo_ok};
use super::Server;
use crate::common;
use hoist_testkit::{free_port, require_program, wait_until, Peer, TempRoot};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Debian's docker-registry on a loopback port with its access log on.
pub(super) struct Distribution {
    pub(super) peer: Peer,
    dir: TempRoot,
}

impl Distribution {
    pub(super) fn start() -> Distribution {
        let dir = TempRoot::new();
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let peer = Peer::start(
            Command::new("docker-registry")
                .arg("serve")
                .arg(dir.join("config.yml")),
            port,
            &dir.join("registry.log"),
        );
        Distribution { peer, dir }
    }

    pub(super) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.peer.port)
    }

    /// Access-log lines of requests whose target starts with `prefix`
    /// (`"GET /v2/e2e/app/blobs/sha256:…`).
    fn requests(&self, method: &str, prefix: &str) -> usize {
        let needle = format!("\"{method} {prefix}");
        std::fs::read_to_string(self.dir.join("registry.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&needle))
            .count()
    }

    /// Every request for a repository, any method.
    fn repo_requests(&self, repo: &str) -> usize {
        ["GET", "HEAD"]
            .iter()
            .map(|m| self.requests(m, &format!("/v2/{repo}/")))
            .sum()
    }

    /// Pushes an OCI layout's `tag` with skopeo as `repo:tag`.
    pub(super) fn push(&self, tmp: &Path, layout: &Path, tag: &str, repo: &str) {
        skopeo_ok(
            tmp,
            &[
                "copy",
                "--dest-tls-verify=false",
                &format!("oci:{}:{tag}", layout.display()),
                &format!("docker://{}/{repo}:{tag}", self.host()),
            ],
        );
    }
}

/// hoist's registry proxying every repository to `upstream`.
pub(super) fn proxy_server(upstream: &str, ttl_seconds: u64) -> Server {
    let root = TempRoot::new();
    let config = root.join("proxy.toml");
    std::fs::write(
        &config,
        format!("[proxy]\nurl = \"http://{upstream}\"\ntag_ttl_seconds = {ttl_seconds}\n"),
    )
    .unwrap();
    let config = config.display().to_string();
    Server::start_in(root, &["--config", &config])
}

/// A proxy metric's value from /metrics.
fn metric(server: &Server, name: &str) -> u64 {
    let reply = http::request(server.port, "GET", "/metrics", &[], b"");
    reply
        .text()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

/// The manifest digest `repo:tag` has through `host`.
fn digest_via(tmp: &Path, host: &str, repo: &str, tag: &str) -> Option<String> {
    let out = skopeo(
        tmp,
        &[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{host}/{repo}:{tag}"),
        ],
    );
    out.status.success().then(|| http::sha256(&out.stdout))
}

pub(super) fn copy_out(
    tmp: &Path,
    host: &str,
    reference: &str,
    dest: &Path,
) -> std::process::Output {
    skopeo(
        tmp,
        &[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{host}/{reference}"),
            &format!("oci:{}:v1", dest.display()),
        ],
    )
}

fn hoist_pull(root: &Path, reference: &str) -> std::process::Output {
    common::hoist(root)
        .env("DOCKER_CONFIG", root.join("docker-config"))
        .env_remove("REGISTRY_AUTH_FILE")
        .args(["pull", "--tls-verify=false", reference])
        .output()
        .expect("run hoist pull")
}

#[test]
fn pull_through_distribution_once_per_blob_then_local_even_with_upstream_down() {
    require_program!("skopeo");
    require_program!("docker-registry");
    let tmp = TempRoot::new();
    let mut upstream = Distribution::start();
    let src = tmp.join("src");
    let manifest = layout::single(&src, "v1", &[300 * 1024, 2 * 1024 * 1024]);
    upstream.push(tmp.path(), &src, "v1", "e2e/app");
    let blobs = layout::blob_names(&src);
    let mirror = proxy_server(&upstream.host(), 3600);
    let host = mirror.host();

    // 20 cold pulls at once, all through the mirror.
    let outs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (tmp, host) = (tmp.path(), &host);
                s.spawn(move || copy_out(tmp, host, "e2e/app:v1", &tmp.join(format!("cold-{i}"))))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, out) in outs.iter().enumerate() {
        assert!(
            out.status.success(),
            "cold pull {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(layout::blob_names(&tmp.join(format!("cold-{i}"))), blobs);
    }
    // Upstream saw one GET per blob (the manifest is one of the blobs here)
    // and one GET of the tag.
    for blob in &blobs {
        let hex = blob.as_str();
        if format!("sha256:{hex}") == manifest {
            continue;
        }
        assert_eq!(
            upstream.requests("GET", &format!("/v2/e2e/app/blobs/sha256:{hex} ")),
            1,
            "blob {hex} fetched more than once:\n{}",
            std::fs::read_to_string(upstream.dir.join("registry.log")).unwrap()
        );
    }
    assert_eq!(upstream.requests("GET", "/v2/e2e/app/manifests/v1 "), 1);
    // Misses: the tag and every non-manifest blob, once each.
    assert_eq!(
        metric(&mirror, "hoist_registry_proxy_misses_total"),
        blobs.len() as u64
    );
    let fetched = metric(&mirror, "hoist_registry_proxy_upstream_bytes_total");
    let stored: u64 = blobs
        .iter()
        .map(|b| {
            std::fs::metadata(src.join("blobs/sha256").join(b))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(fetched, stored, "upstream bytes are the blobs' sizes");

    // Warm: hoist and skopeo pull without a single request upstream.
    let before = upstream.repo_requests("e2e/app");
    let hoist_root = TempRoot::new();
    let out = hoist_pull(hoist_root.path(), &format!("{host}/e2e/app:v1"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&manifest),
        "hoist pulled another digest: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = copy_out(tmp.path(), &host, "e2e/app:v1", &tmp.join("warm"));
    assert!(out.status.success());
    assert_eq!(
        upstream.repo_requests("e2e/app"),
        before,
        "a warm pull went upstream"
    );
    assert!(metric(&mirror, "hoist_registry_proxy_hits_total") > 0);

    // Upstream stopped: cached images still pull; uncached ones are 503.
    upstream.peer.guard.kill();
    let out = copy_out(
        tmp.path(),
        &host,
        &format!("e2e/app@{manifest}"),
        &tmp.join("down"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = TempRoot::new();
    let out = hoist_pull(again.path(), &format!("{host}/e2e/app:v1"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let missing = http::request(mirror.port, "GET", "/v2/e2e/other/manifests/v1", &[], b"");
    assert_eq!(missing.status, 503, "{}", missing.text());
    assert!(missing.text().contains("UNAVAILABLE"), "{}", missing.text());
}

#[test]
fn pull_through_sees_a_moved_tag_after_its_ttl_and_serves_stale_when_upstream_is_down() {
    require_program!("skopeo");
    require_program!("docker-registry");
    let tmp = TempRoot::new();
    let mut upstream = Distribution::start();
    let (one, two) = (tmp.join("one"), tmp.join("two"));
    let first = layout::single(&one, "latest", &[4096]);
    let second = layout::single(&two, "latest", &[8192]);
    upstream.push(tmp.path(), &one, "latest", "e2e/moving");
    let mirror = proxy_server(&upstream.host(), 1);
    let host = mirror.host();
    assert_eq!(
        digest_via(tmp.path(), &host, "e2e/moving", "latest"),
        Some(first.clone())
    );

    upstream.push(tmp.path(), &two, "latest", "e2e/moving");
    let mut seen = Vec::new();
    wait_until(
        "the mirror serves the moved tag",
        Duration::from_secs(30),
        || {
            let d = digest_via(tmp.path(), &host, "e2e/moving", "latest").expect("pull through");
            seen.push(d.clone());
            d == second
        },
    );
    assert!(seen.iter().all(|d| *d == first || *d == second), "{seen:?}");
    // The moved tag's new layer came through too.
    let out = copy_out(tmp.path(), &host, "e2e/moving:latest", &tmp.join("moved"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        layout::blob_names(&tmp.join("moved")),
        layout::blob_names(&two)
    );

    // With upstream gone and the TTL over, the cached tag is still served
    // (the mirror says so in its log).
    upstream.peer.guard.kill();
    wait_until(
        "a revalidation with upstream down",
        Duration::from_secs(30),
        || {
            assert_eq!(
                digest_via(tmp.path(), &host, "e2e/moving", "latest"),
                Some(second.clone())
            );
            std::fs::read_to_string(&mirror.log)
                .unwrap_or_default()
                .contains("serving the cached manifest")
        },
    );
}
