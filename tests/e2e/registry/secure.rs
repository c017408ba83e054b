//! Auth and TLS with real clients: `skopeo login` through the token flow, a
//! pull-only user refused a push, and HTTPS with a self-signed certificate.

use super::layout;
use super::skopeo::{skopeo, skopeo_ok};
use super::Server;
use hoist_testkit::{require_program, TempRoot};
use std::process::Command;

/// A config with alice (push/pull everywhere) and bob (pull only) in an
/// htpasswd file made by Apache's `htpasswd -B`.
fn auth_config(dir: &std::path::Path) -> std::path::PathBuf {
    let htpasswd = dir.join("htpasswd");
    for (i, (user, pw)) in [("alice", "alice-pw"), ("bob", "bob-pw")]
        .iter()
        .enumerate()
    {
        let mut cmd = Command::new("htpasswd");
        cmd.arg("-bB").arg("-C").arg("5");
        if i == 0 {
            cmd.arg("-c");
        }
        let st = cmd
            .arg(&htpasswd)
            .arg(user)
            .arg(pw)
            .status()
            .expect("run htpasswd");
        assert!(st.success());
    }
    let config = dir.join("registry.toml");
    std::fs::write(
        &config,
        r#"
[auth]
mode = "token"
htpasswd = "htpasswd"
[[auth.access]]
subjects = ["alice"]
repositories = ["**"]
actions = ["pull", "push", "delete"]
[[auth.access]]
subjects = ["bob"]
repositories = ["**"]
actions = ["pull"]
"#,
    )
    .unwrap();
    config
}

#[test]
fn skopeo_login_and_copy_through_the_token_flow() {
    require_program!("skopeo");
    require_program!("htpasswd");
    let tmp = TempRoot::new();
    let config = auth_config(tmp.path());
    let server = Server::start(&["--config", config.to_str().unwrap()]);
    let host = server.host();
    let src = tmp.join("src");
    layout::single(&src, "v1", &[8192]);
    let image = format!("oci:{}:v1", src.display());
    let dest = format!("docker://{host}/secure/app:v1");

    // Without credentials: refused.
    let out = skopeo(
        tmp.path(),
        &["copy", "--dest-tls-verify=false", &image, &dest],
    );
    assert!(!out.status.success());

    let bad = skopeo(
        tmp.path(),
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "-p",
            "wrong",
            &host,
        ],
    );
    assert!(
        !bad.status.success(),
        "login with a wrong password succeeded"
    );

    // bob logs in but may only pull: his push is denied.
    skopeo_ok(
        tmp.path(),
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "bob",
            "-p",
            "bob-pw",
            &host,
        ],
    );
    let out = skopeo(
        tmp.path(),
        &["copy", "--dest-tls-verify=false", &image, &dest],
    );
    assert!(!out.status.success(), "bob pushed");
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("denied") || err.contains("unauthorized"),
        "{err}"
    );

    skopeo_ok(
        tmp.path(),
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "-p",
            "alice-pw",
            &host,
        ],
    );
    skopeo_ok(
        tmp.path(),
        &["copy", "--dest-tls-verify=false", &image, &dest],
    );

    // bob can pull what alice pushed.
    skopeo_ok(
        tmp.path(),
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "bob",
            "-p",
            "bob-pw",
            &host,
        ],
    );
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
}

#[test]
fn https_with_a_self_signed_certificate() {
    require_program!("skopeo");
    require_program!("openssl");
    let tmp = TempRoot::new();
    let certs = tmp.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let (cert, key) = (certs.join("ca.crt"), tmp.join("registry.key"));
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let server = Server::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let src = tmp.join("src");
    layout::single(&src, "v1", &[4096]);
    let dest = format!("docker://{}/tls/app:v1", server.host());
    let cert_dir = format!("--dest-cert-dir={}", certs.display());
    // Verification on, trusting only our CA.
    skopeo_ok(
        tmp.path(),
        &[
            "copy",
            &cert_dir,
            &format!("oci:{}:v1", src.display()),
            &dest,
        ],
    );
    let raw = skopeo_ok(
        tmp.path(),
        &[
            "inspect",
            &format!("--cert-dir={}", certs.display()),
            "--raw",
            &dest,
        ],
    );
    assert!(raw.contains("schemaVersion"));
    // Without the CA the certificate is rejected.
    let out = skopeo(tmp.path(), &["inspect", "--raw", &dest]);
    assert!(!out.status.success());
}
