//! The upload path (registry/src/storage/upload_file.rs): chunks appended to
//! one file with the hash state recorded beside it. A registry SIGKILLed in
//! the middle of a chunked upload, or between the last PATCH and the PUT,
//! comes back with the session at its last acknowledged byte, and hoist's
//! client resumes there; a wrong digest leaves nothing; two PATCHes at one
//! offset: one lands, the other gets 416.

use super::http::{random_bytes, request, sha256};
use crate::common::hoist;
use hoist_oci::oci_spec::image::{Descriptor, MediaType};
use hoist_store::Store;
use hoist_testkit::{wait_until, Peer, TempRoot};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `hoist registry serve` over `dir/registry` on `port` (fixed, so a
/// client retrying against it finds the restarted server).
pub(super) fn serve(dir: &TempRoot, port: u16) -> Peer {
    let mut cmd = hoist(&dir.join("root"));
    cmd.args(["registry", "serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--storage-root")
        .arg(dir.join("registry"));
    Peer::start(&mut cmd, port, &dir.join(format!("serve-{port}.log")))
}

/// Files under `dir`, recursively (empty when it does not exist).
pub(super) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The size of the one upload file being appended to, if any.
fn upload_file_size(registry: &Path) -> u64 {
    files_under(&registry.join("repositories"))
        .iter()
        .filter(|p| p.ends_with("data") && p.to_string_lossy().contains("/_uploads/"))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

pub(super) fn metric(port: u16, name: &str) -> u64 {
    let text = request(port, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
}

/// A local image of one layer of `layer` (random bytes: the push does not
/// look inside layers) named `name` in the store at `root`.
fn local_image(root: &Path, name: &str, layer: &[u8]) -> (String, String) {
    let store = Store::open(root).unwrap();
    let layer_digest = store.write_blob(layer).unwrap();
    let config = br#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = store.write_blob(config).unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let digest = store.write_blob(manifest.as_bytes()).unwrap();
    let desc = Descriptor::new(MediaType::ImageManifest, manifest.len() as u64, &digest);
    store.set_name(name, desc).unwrap();
    (digest.to_string(), layer_digest.to_string())
}

#[test]
fn client_resumes_at_the_acknowledged_offset_after_sigkill_mid_upload() {
    let dir = TempRoot::new();
    let port = hoist_testkit::free_port();
    let mut server = serve(&dir, port);
    let src = TempRoot::new();
    let layer = random_bytes(96 << 20);
    let name = format!("127.0.0.1:{port}/kill/app:1");
    let (_, layer_digest) = local_image(src.path(), &name, &layer);
    let mut push = hoist(src.path())
        .args([
            "push",
            "--tls-verify=false",
            "--progress",
            "plain",
            "--chunk-size",
            "4M",
            &name,
        ])
        .env("HOIST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let registry = dir.join("registry");
    wait_until(
        "a third of the layer on the registry",
        Duration::from_secs(60),
        || upload_file_size(&registry) >= 32 << 20,
    );
    server.guard.kill();
    let server = serve(&dir, port);
    let mut stderr = String::new();
    let status = push.wait().unwrap();
    push.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "push failed:\n{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");
    // The restarted registry got only what the first had not acknowledged.
    let received = metric(server.port, "hoist_registry_bytes_received_total");
    assert!(
        received < (layer.len() as u64) * 3 / 4,
        "{received} bytes sent again of a {}-byte layer:\n{stderr}",
        layer.len()
    );
    let r = request(
        port,
        "GET",
        &format!("/v2/kill/app/blobs/{layer_digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), layer.len());
    assert_eq!(sha256(&r.body), layer_digest);
}

#[test]
fn sigkill_mid_patch_and_before_put_loses_nothing_acknowledged() {
    let dir = TempRoot::new();
    let port = hoist_testkit::free_port();
    let mut server = serve(&dir, port);
    let data = random_bytes(3 << 20);
    let digest = sha256(&data);
    let r = request(port, "POST", "/v2/crash/up/blobs/uploads/", &[], b"");
    assert_eq!(r.status, 202);
    let location = r.header("location").unwrap().to_string();
    let r = request(
        port,
        "PATCH",
        &location,
        &[("Content-Range", &format!("0-{}", (1 << 20) - 1))],
        &data[..1 << 20],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    // The second chunk is half sent when the registry dies.
    let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        half,
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Range: {}-{}\r\nContent-Length: {}\r\n\r\n",
        1 << 20,
        data.len() - 1,
        data.len() - (1 << 20)
    )
    .unwrap();
    half.write_all(&data[1 << 20..(2 << 20) + 4096]).unwrap();
    half.flush().unwrap();
    let registry = dir.join("registry");
    wait_until(
        "the half chunk reaching the upload file",
        Duration::from_secs(20),
        || upload_file_size(&registry) > 1 << 20,
    );
    server.guard.kill();
    drop(half);
    let mut server = serve(&dir, port);

    let r = request(port, "GET", &location, &[], b"");
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("range"),
        Some(format!("0-{}", (1 << 20) - 1).as_str()),
        "the session resumes after the last acknowledged chunk"
    );
    let r = request(
        port,
        "PATCH",
        &location,
        &[("Content-Range", &format!("{}-{}", 1 << 20, data.len() - 1))],
        &data[1 << 20..],
    );
    assert_eq!(r.status, 202, "{}", r.text());

    // Killed between the last PATCH and the PUT.
    server.guard.kill();
    let _server = serve(&dir, port);
    let r = request(port, "GET", &location, &[], b"");
    assert_eq!(
        r.header("range"),
        Some(format!("0-{}", data.len() - 1).as_str())
    );
    let r = request(
        port,
        "PUT",
        &format!("{location}?digest={digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = request(
        port,
        "GET",
        &format!("/v2/crash/up/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(sha256(&r.body), digest, "the blob is whole");
    assert!(
        files_under(&registry.join("repositories/crash/up/_uploads")).is_empty(),
        "the finished session is gone"
    );
}

#[test]
fn a_wrong_digest_leaves_nothing_and_racing_patches_get_416() {
    let dir = TempRoot::new();
    let port = hoist_testkit::free_port();
    let _server = serve(&dir, port);
    let registry = dir.join("registry");
    let data = random_bytes(3 << 20);
    let digest = sha256(&data);
    let wrong = sha256(b"something else");

    // Chunked, then a PUT naming another digest.
    let r = request(port, "POST", "/v2/wrong/app/blobs/uploads/", &[], b"");
    let location = r.header("location").unwrap().to_string();
    let r = request(port, "PATCH", &location, &[], &data);
    assert_eq!(r.status, 202);
    let r = request(port, "PUT", &format!("{location}?digest={wrong}"), &[], b"");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("DIGEST_INVALID"), "{}", r.text());
    // Monolithic with a wrong digest.
    let r = request(
        port,
        "POST",
        &format!("/v2/wrong/app/blobs/uploads/?digest={wrong}"),
        &[],
        &data,
    );
    assert_eq!(r.status, 400);
    for d in [&digest, &wrong] {
        let r = request(port, "HEAD", &format!("/v2/wrong/app/blobs/{d}"), &[], b"");
        assert_eq!(r.status, 404, "{d} is visible");
    }
    assert!(files_under(&registry.join("blobs")).is_empty());
    assert!(files_under(&registry.join("repositories/wrong/app/_uploads")).is_empty());
    let scratch: Vec<_> = files_under(&registry.join("_tmp"))
        .into_iter()
        .filter(|p| !p.ends_with(".ready"))
        .collect();
    assert!(scratch.is_empty(), "left behind: {scratch:?}");

    // Two PATCHes at offset 0 of one session: the first holds the upload
    // while its body arrives; the second is refused with where to resume.
    let r = request(port, "POST", "/v2/race/app/blobs/uploads/", &[], b"");
    let location = r.header("location").unwrap().to_string();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Range: 0-{}\r\nContent-Length: {}\r\n\r\n",
        data.len() - 1,
        data.len()
    );
    let mut first = TcpStream::connect(("127.0.0.1", port)).unwrap();
    first.write_all(head.as_bytes()).unwrap();
    first.write_all(&data[..2 << 20]).unwrap();
    wait_until("the first PATCH writing", Duration::from_secs(20), || {
        upload_file_size(&registry) >= 1 << 20
    });
    let r = request(
        port,
        "PATCH",
        &location,
        &[("Content-Range", &format!("0-{}", data.len() - 1))],
        &data,
    );
    assert_eq!(r.status, 416, "{}", r.text());
    assert!(r.header("range").is_some());
    first.write_all(&data[2 << 20..]).unwrap();
    let mut answer = String::new();
    first.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    // The same offset again, now that the first landed: 416 again.
    let r = request(
        port,
        "PATCH",
        &location,
        &[("Content-Range", &format!("0-{}", data.len() - 1))],
        &data,
    );
    assert_eq!(r.status, 416, "{}", r.text());
    assert_eq!(
        r.header("range"),
        Some(format!("0-{}", data.len() - 1).as_str())
    );
    let r = request(
        port,
        "PUT",
        &format!("{location}?digest={digest}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = request(
        port,
        "GET",
        &format!("/v2/race/app/blobs/{digest}"),
        &[],
        b"",
    );
    assert_eq!(sha256(&r.body), digest);
}
