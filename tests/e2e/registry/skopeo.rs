//! skopeo against `hoist registry serve`: push and pull round trips in OCI
//! and Docker v2s2 formats, an image index with `--all`, inspect, list-tags,
//! delete.

use super::layout;
use super::Server;
use hoist_testkit::{require_program, TempRoot};
use std::path::Path;
use std::process::{Command, Output};

/// Runs skopeo with an isolated auth file and no signature policy; returns
/// its output without judging it.
pub fn skopeo(tmp: &Path, args: &[&str]) -> Output {
    Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .env("REGISTRY_AUTH_FILE", tmp.join("auth.json"))
        .output()
        .expect("run skopeo")
}

pub fn skopeo_ok(tmp: &Path, args: &[&str]) -> String {
    let out = skopeo(tmp, args);
    assert!(
        out.status.success(),
        "skopeo {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn skopeo_push_pull_inspect_list_delete_oci_and_v2s2() {
    require_program!("skopeo");
    let server = Server::start(&[]);
    let tmp = TempRoot::new();
    let src = tmp.join("src");
    let digest = layout::single(&src, "v1", &[64 * 1024, 200 * 1024]);
    let host = server.host();
    let dest = format!("docker://{host}/e2e/app:v1");
    skopeo_ok(
        tmp.path(),
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:v1", src.display()),
            &dest,
        ],
    );

    // The manifest is served byte for byte: same digest.
    let raw = skopeo_ok(
        tmp.path(),
        &["inspect", "--tls-verify=false", "--raw", &dest],
    );
    assert_eq!(super::http::sha256(raw.as_bytes()), digest);
    let info: serde_json::Value = serde_json::from_str(&skopeo_ok(
        tmp.path(),
        &["inspect", "--tls-verify=false", &dest],
    ))
    .unwrap();
    assert_eq!(info["Digest"], digest.as_str());
    assert_eq!(info["Architecture"], "amd64");

    // Pull back into a fresh layout: every blob identical.
    let back = tmp.join("back");
    skopeo_ok(
        tmp.path(),
        &[
            "copy",
            "--src-tls-verify=false",
            &dest,
            &format!("oci:{}:v1", back.display()),
        ],
    );
    assert_eq!(layout::blob_names(&src), layout::blob_names(&back));

    // Docker v2s2: skopeo converts; the registry keeps and serves the v2s2 type.
    let v2 = format!("docker://{host}/e2e/app:v2s2");
    skopeo_ok(
        tmp.path(),
        &[
            "copy",
            "--dest-tls-verify=false",
            "--format",
            "v2s2",
            &format!("oci:{}:v1", src.display()),
            &v2,
        ],
    );
    let raw: serde_json::Value = serde_json::from_str(&skopeo_ok(
        tmp.path(),
        &["inspect", "--tls-verify=false", "--raw", &v2],
    ))
    .unwrap();
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let back2 = tmp.join("back2");
    skopeo_ok(
        tmp.path(),
        &[
            "copy",
            "--src-tls-verify=false",
            &v2,
            &format!("oci:{}:v2", back2.display()),
        ],
    );

    let tags: serde_json::Value = serde_json::from_str(&skopeo_ok(
        tmp.path(),
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{host}/e2e/app"),
        ],
    ))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["v1", "v2s2"]));

    skopeo_ok(tmp.path(), &["delete", "--tls-verify=false", &dest]);
    let gone = skopeo(
        tmp.path(),
        &["inspect", "--tls-verify=false", "--raw", &dest],
    );
    assert!(!gone.status.success(), "v1 still inspectable after delete");
    // Deleting by digest removed the manifest, not the other tag's.
    skopeo_ok(tmp.path(), &["inspect", "--tls-verify=false", "--raw", &v2]);
}

#[test]
fn skopeo_copy_all_of_a_multi_arch_index() {
    require_program!("skopeo");
    let server = Server::start(&[]);
    let tmp = TempRoot::new();
    let src = tmp.join("src");
    let index_digest = layout::multi_arch(&src, "multi");
    let dest = format!("docker://{}/e2e/multi:latest", server.host());
    skopeo_ok(
        tmp.path(),
        &[
            "copy",
            "--all",
            "--dest-tls-verify=false",
            &format!("oci:{}:multi", src.display()),
            &dest,
        ],
    );
    let raw = skopeo_ok(
        tmp.path(),
        &["inspect", "--tls-verify=false", "--raw", &dest],
    );
    assert_eq!(super::http::sha256(raw.as_bytes()), index_digest);
    let index: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);

    let back = tmp.join("back");
    skopeo_ok(
        tmp.path(),
        &[
            "copy",
            "--all",
            "--src-tls-verify=false",
            &dest,
            &format!("oci:{}:multi", back.display()),
        ],
    );
    assert_eq!(layout::blob_names(&src), layout::blob_names(&back));
    // A single platform resolves through the index.
    let arm: serde_json::Value = serde_json::from_str(&skopeo_ok(
        tmp.path(),
        &[
            "inspect",
            "--tls-verify=false",
            "--override-arch",
            "arm64",
            &dest,
        ],
    ))
    .unwrap();
    assert_eq!(arm["Architecture"], "arm64");
}
