//! The CLI around the server: the example config, `hoist registry gc`,
//! SIGTERM, JSON request logs and metrics.

use super::http::{push_blob, request};
use super::Server;
use crate::common::{hoist_out, repo_dir};
use hoist_testkit::wait_until;
use std::time::Duration;

#[test]
fn example_config_starts_and_answers_probes() {
    let config = repo_dir().join("examples/registry/config.toml");
    let server = Server::start(&["--config", config.to_str().unwrap()]);
    for path in ["/healthz", "/readyz", "/v2/"] {
        let r = request(server.port, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let r = request(server.port, "GET", "/v2/", &[], b"");
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
}

#[test]
fn bad_config_is_one_clear_error() {
    let root = hoist_testkit::TempRoot::new();
    let config = root.join("bad.toml");
    std::fs::write(&config, "adr = \"127.0.0.1:1\"\n").unwrap();
    let out = hoist_out(
        root.path(),
        &["registry", "serve", "--config", config.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("adr") && err.lines().count() == 1, "{err}");
}

#[test]
fn sigterm_stops_gracefully_with_json_logs_and_metrics() {
    let server = Server::start(&["--log-level", "info", "--log-format", "json"]);
    push_blob(server.port, "logs/app", b"metric me");
    let metrics = request(server.port, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("hoist_registry_uploads_completed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"route="upload",method="POST",status="201""#),
        "{metrics}"
    );
    let mut peer = server.peer;
    peer.guard.signal(libc::SIGTERM);
    wait_until(
        "the server to exit on SIGTERM",
        Duration::from_secs(20),
        || peer.guard.exited(),
    );
    let status = peer.guard.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(&server.log).unwrap();
    let request_line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["route"] == "upload")
        .unwrap_or_else(|| panic!("no JSON request log line in:\n{log}"));
    assert_eq!(request_line["fields"]["status"], 201);
}

#[test]
fn gc_command_removes_what_deleted_manifests_left() {
    let server = Server::start(&[]);
    let port = server.port;
    let config = push_blob(port, "gc/app", b"{}");
    let layer = push_blob(port, "gc/app", b"layer only the deleted manifest uses");
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":36}}]}}"#
    );
    let r = request(
        port,
        "PUT",
        "/v2/gc/app/manifests/v1",
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        manifest.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let digest = r.header("docker-content-digest").unwrap().to_string();
    assert_eq!(
        request(
            port,
            "DELETE",
            &format!("/v2/gc/app/manifests/{digest}"),
            &[],
            b""
        )
        .status,
        202
    );

    let storage = server.root.join("registry");
    let args = [
        "registry",
        "gc",
        "--storage-root",
        storage.to_str().unwrap(),
        "--grace-seconds",
        "0",
    ];
    let dry = hoist_out(server.root.path(), &[&args[..], &["--dry-run"]].concat());
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success());
    assert!(
        text.contains(&format!("would remove blob {layer}")),
        "{text}"
    );
    assert_eq!(
        request(port, "GET", &format!("/v2/gc/app/blobs/{layer}"), &[], b"").status,
        200
    );

    let out = hoist_out(server.root.path(), &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains(&format!("removed blob {layer}")), "{text}");
    assert!(text.contains("removed 3 blobs"), "{text}");
    assert_eq!(
        request(port, "GET", &format!("/v2/gc/app/blobs/{layer}"), &[], b"").status,
        404
    );
}
