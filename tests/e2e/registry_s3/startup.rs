//! `hoist registry serve` on S3 at startup: a loopback endpoint works without
//! `--storage-s3-path-style` (an IP address or localhost has no subdomain
//! for a bucket), and a bucket that cannot be used — missing, or refused to
//! the credentials — ends the process with one error naming the bucket, the
//! endpoint and the failing call, before it reports listening.

use super::bucket_name;
use crate::common::hoist;
use crate::registry::http::{push_blob, random_bytes, request};
use hoist_testkit::{moto_server_path, shared_moto, wait_until, ChildGuard, Peer, TempRoot};
use std::process::Command;
use std::time::Duration;

/// `hoist registry serve` on `bucket` at `endpoint`, with no path-style flag.
fn serve_command(root: &TempRoot, endpoint: &str, bucket: &str, port: u16) -> Command {
    let mut cmd = hoist(root.path());
    cmd.args(["registry", "serve"])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .arg("--storage-root")
        .arg(root.join("unused"))
        .args(["--storage-s3-bucket", bucket])
        .args(["--storage-s3-endpoint", endpoint])
        .args(["--storage-s3-max-retries", "1"])
        .args(["--storage-s3-retry-timeout-seconds", "3"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    cmd
}

/// Runs `cmd`, which must exit on its own with a failure; returns its output.
fn fails_to_start(root: &TempRoot, mut cmd: Command) -> String {
    let log = root.join("serve.log");
    let out = std::fs::File::create(&log).unwrap();
    cmd.stdout(out.try_clone().unwrap()).stderr(out);
    let mut guard = ChildGuard::spawn(&mut cmd).expect("start hoist");
    wait_until(
        "`hoist registry serve` to exit",
        Duration::from_secs(60),
        || guard.exited(),
    );
    let status = guard.child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(!text.contains("listening"), "{text}");
    text
}

#[test]
fn loopback_endpoint_needs_no_path_style_flag() {
    let Some(moto) = shared_moto("registry_s3::loopback_endpoint_needs_no_path_style_flag") else {
        return;
    };
    let bucket = bucket_name("implied-path-style");
    moto.create_bucket(&bucket);
    let tmp = TempRoot::new();
    for host in ["127.0.0.1", "localhost"] {
        let endpoint = format!("http://{host}:{}", moto.port);
        let port = hoist_testkit::free_port();
        let mut cmd = serve_command(&tmp, &endpoint, &bucket, port);
        let peer = Peer::start(&mut cmd, port, &tmp.join(format!("serve-{host}.log")));
        assert_eq!(request(peer.port, "GET", "/readyz", &[], b"").status, 200);
        let data = random_bytes(100 * 1024);
        let digest = push_blob(peer.port, "implied/path", &data);
        let got = request(
            peer.port,
            "GET",
            &format!("/v2/implied/path/blobs/{digest}"),
            &[],
            b"",
        );
        assert_eq!(got.status, 200, "{endpoint}");
        assert_eq!(got.body, data, "{endpoint}");
    }
}

#[test]
fn missing_bucket_ends_serve_with_a_named_error() {
    let Some(moto) = shared_moto("registry_s3::missing_bucket_ends_serve_with_a_named_error")
    else {
        return;
    };
    let tmp = TempRoot::new();
    let bucket = bucket_name("never-created");
    let endpoint = moto.endpoint();
    let port = hoist_testkit::free_port();
    let text = fails_to_start(&tmp, serve_command(&tmp, &endpoint, &bucket, port));
    for part in [bucket.as_str(), endpoint.as_str(), "ListObjectsV2"] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
    assert_eq!(text.lines().count(), 1, "one error line: {text}");
}

/// moto checks credentials only when told to (INITIAL_NO_AUTH_ACTION_COUNT:
/// after that many requests, every request needs an access key its IAM
/// knows); the shared server accepts anything, so this test runs its own.
#[test]
fn refused_credentials_end_serve_with_a_named_error() {
    let Some(program) = moto_server_path() else {
        hoist_testkit::skip_or_fail(
            "registry_s3::refused_credentials_end_serve_with_a_named_error",
            "moto_server is not installed (run `bash testdata/moto.sh install`)",
        );
        return;
    };
    let tmp = TempRoot::new();
    let moto_port = hoist_testkit::free_port();
    let mut moto_cmd = Command::new(program);
    moto_cmd
        .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "1");
    let _moto = Peer::start(&mut moto_cmd, moto_port, &tmp.join("moto.log"));
    let bucket = bucket_name("refused-credentials");
    // The one request moto takes without credentials makes the bucket...
    assert_eq!(
        hoist_testkit::http_request(moto_port, "PUT", &format!("/{bucket}")),
        200
    );
    // ...and from now on it refuses requests without known credentials
    // (an unsigned one gets a 500 from moto, not a listing).
    assert_ne!(
        hoist_testkit::http_request(moto_port, "GET", &format!("/{bucket}")),
        200
    );
    let endpoint = format!("http://127.0.0.1:{moto_port}");
    let port = hoist_testkit::free_port();
    let text = fails_to_start(&tmp, serve_command(&tmp, &endpoint, &bucket, port));
    for part in [
        bucket.as_str(),
        endpoint.as_str(),
        "ListObjectsV2",
        "InvalidAccessKeyId",
    ] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
    assert_eq!(text.lines().count(), 1, "one error line: {text}");
}
