//! Deployments beyond the built-in issuer and push/pull: skopeo logging in
//! and pushing through an external token server that issues RS256 tokens
//! (testdata/registry/token-server.py, docker's token protocol over HTTP),
//! and `hoist registry scrub` finding, quarantining and healing a blob
//! corrupted on disk under a running server.

use super::layout;
use super::skopeo::{skopeo, skopeo_ok};
use super::Server;
use crate::common::{hoist, repo_dir};
use hoist_testkit::{free_port, require_program, Peer, TempRoot};
use std::process::Command;

#[test]
fn skopeo_through_an_external_rs256_token_server() {
    require_program!("skopeo");
    require_program!("python3");
    require_program!("openssl");
    let tmp = TempRoot::new();
    let (key, cert) = (tmp.join("tokens.key"), tmp.join("tokens.crt"));
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "2",
        ])
        .args(["-subj", "/CN=token-signer", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );

    let token_port = free_port();
    let mut cmd = Command::new("python3");
    cmd.arg(repo_dir().join("testdata/registry/token-server.py"))
        .args(["--port", &token_port.to_string(), "--issuer", "test-issuer"])
        .arg("--key")
        .arg(&key)
        .args([
            "--user",
            "carol:carol-pw:pull,push",
            "--user",
            "dave:dave-pw:pull",
        ]);
    let _tokens = Peer::start(&mut cmd, token_port, &tmp.join("token-server.log"));

    let config = tmp.join("registry.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[auth]
mode = "token"
service = "registry.test"
[auth.token]
realm = "http://127.0.0.1:{token_port}/token"
issuer = "test-issuer"
rootcertbundle = "tokens.crt"
"#
        ),
    )
    .unwrap();
    let server = Server::start(&["--config", config.to_str().unwrap()]);
    let host = server.host();
    let src = tmp.join("src");
    layout::single(&src, "v1", &[8192]);
    let image = format!("oci:{}:v1", src.display());
    let dest = format!("docker://{host}/ext/app:v1");
    let login = |user: &str, pw: &str| {
        skopeo(
            tmp.path(),
            &["login", "--tls-verify=false", "-u", user, "-p", pw, &host],
        )
    };

    let out = skopeo(
        tmp.path(),
        &["copy", "--dest-tls-verify=false", &image, &dest],
    );
    assert!(!out.status.success(), "anonymous push succeeded");
    let out = login("carol", "wrong");
    assert!(
        !out.status.success(),
        "login with a wrong password succeeded"
    );

    // dave's tokens carry pull only: the registry refuses his push.
    assert!(login("dave", "dave-pw").status.success());
    let out = skopeo(
        tmp.path(),
        &["copy", "--dest-tls-verify=false", &image, &dest],
    );
    assert!(!out.status.success(), "a pull-only token pushed");
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("denied") || err.contains("unauthorized") || err.contains("insufficient"),
        "{err}"
    );

    assert!(login("carol", "carol-pw").status.success());
    skopeo_ok(
        tmp.path(),
        &["copy", "--dest-tls-verify=false", &image, &dest],
    );
    assert!(login("dave", "dave-pw").status.success());
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
    assert_eq!(layout::blob_names(&back), layout::blob_names(&src));
    // The token server really was asked (the registry issued nothing itself).
    let log = std::fs::read_to_string(tmp.join("token-server.log")).unwrap();
    assert!(log.contains("GET /token?"), "{log}");
}

#[test]
fn scrub_cli_reports_quarantines_and_a_repush_heals() {
    require_program!("skopeo");
    let server = Server::start(&[]);
    let tmp = TempRoot::new();
    let src = tmp.join("src");
    layout::single(&src, "v1", &[64 * 1024]);
    let image = format!("oci:{}:v1", src.display());
    let dest = format!("docker://{}/scrub/app:v1", server.host());
    skopeo_ok(
        tmp.path(),
        &["copy", "--dest-tls-verify=false", &image, &dest],
    );
    let storage = server.root.join("registry");
    let scrub = |extra: &[&str]| {
        hoist(server.root.path())
            .args(["registry", "scrub", "--storage-root"])
            .arg(&storage)
            .args(extra)
            .output()
            .unwrap()
    };
    let clean = scrub(&[]);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");

    // Corrupt the largest blob (the layer) on disk.
    let mut blobs: Vec<(u64, std::path::PathBuf)> = walk(&storage.join("blobs"))
        .into_iter()
        .map(|p| (std::fs::metadata(&p).unwrap().len(), p))
        .collect();
    blobs.sort();
    let (_, layer) = blobs.last().unwrap().clone();
    let hex = layer
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&layer, &bytes).unwrap();

    let out = scrub(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(text.matches("MISMATCH").count(), 1, "{text}");
    assert!(text.contains(&layer.display().to_string()), "{text}");
    assert!(text.contains(&format!("expected sha256:{hex}")), "{text}");

    let out = scrub(&["--quarantine", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let moved = report["mismatches"][0]["quarantined_to"].as_str().unwrap();
    assert_eq!(
        std::fs::read(moved).unwrap(),
        bytes,
        "quarantine keeps the bytes"
    );
    assert!(!layer.exists());

    // A pull now fails cleanly (no corrupt bytes); a push heals.
    let back = tmp.join("back");
    let out = skopeo(
        tmp.path(),
        &[
            "copy",
            "--src-tls-verify=false",
            &dest,
            &format!("oci:{}:v1", back.display()),
        ],
    );
    assert!(!out.status.success(), "pulled a quarantined blob");
    skopeo_ok(
        tmp.path(),
        &["copy", "--dest-tls-verify=false", &image, &dest],
    );
    assert_eq!(scrub(&[]).status.code(), Some(0));
    let back2 = tmp.join("back2");
    skopeo_ok(
        tmp.path(),
        &[
            "copy",
            "--src-tls-verify=false",
            &dest,
            &format!("oci:{}:v1", back2.display()),
        ],
    );
}

/// Every `data` file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.file_name().is_some_and(|n| n == "data") {
            out.push(path);
        }
    }
    out
}
