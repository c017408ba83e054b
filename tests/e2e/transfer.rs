//! End-to-end tests: transfer (login, logout, push, pull) against real
//! registries on 127.0.0.1: Debian's docker-registry (CNCF distribution)
//! with htpasswd auth and TLS, skopeo as the other client, and a counting
//! proxy that drops or corrupts connections.

#[path = "transfer/credhelper.rs"]
mod credhelper;
#[path = "transfer/hoist_registry.rs"]
mod hoist_registry;
#[path = "transfer/hostile.rs"]
mod hostile;
#[path = "transfer/mirror.rs"]
mod mirror;
#[path = "transfer/peers.rs"]
mod peers;
#[path = "transfer/proxy.rs"]
mod proxy;

use crate::common;
use hoist_oci::Digest;
use hoist_store::Store;
use hoist_testkit::{free_port, TempRoot};
use peers::{make_image, make_index, DockerRegistry, PASS, USER};
use proxy::{Dir, Proxy};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A hoist command with its own credential files (never the user's).
fn hoist(root: &Path, auth_dir: &Path) -> Command {
    let mut c = common::hoist(root);
    c.env("DOCKER_CONFIG", auth_dir)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env(
            "HOIST_LOG",
            std::env::var("TEST_HOIST_LOG").unwrap_or("warn".into()),
        );
    c
}

fn run(root: &Path, auth: &Path, args: &[&str]) -> Output {
    hoist(root, auth).args(args).output().expect("run hoist")
}

fn ok(root: &Path, auth: &Path, args: &[&str]) -> (String, String) {
    let out = run(root, auth, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "hoist {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// The failing run's stderr (asserts it failed).
fn fails(root: &Path, auth: &Path, args: &[&str]) -> String {
    let out = run(root, auth, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "hoist {args:?} should fail; stderr:\n{stderr}"
    );
    assert_eq!(
        stderr
            .trim()
            .lines()
            .filter(|l| l.starts_with("Error:"))
            .count(),
        1,
        "{stderr}"
    );
    stderr
}

/// The digest on the last line of a push/pull's stdout.
fn digest_of(stdout: &str) -> String {
    let last = stdout.trim().lines().last().unwrap_or("");
    let d = last.split_whitespace().last().unwrap_or("").to_string();
    assert!(d.starts_with("sha256:"), "no digest in {stdout:?}");
    d
}

fn login(root: &Path, auth: &Path, host: &str, user: &str, pass: &str) -> Output {
    let mut child = hoist(root, auth)
        .args([
            "login",
            "--tls-verify=false",
            "-u",
            user,
            "--password-stdin",
            host,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{pass}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Nothing of a failed pull stays behind: no temp files, no name.
fn assert_nothing_half_stored(root: &Path, name: &str, blob: Option<&str>) {
    let tmp = root.join("tmp");
    if tmp.is_dir() {
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "temp files left: {left:?}");
    }
    let store = Store::open(root).unwrap();
    assert!(store.resolve(name).is_err(), "{name} was stored");
    if let Some(b) = blob {
        assert!(
            !store.has_blob(&b.parse::<Digest>().unwrap()),
            "blob {b} was stored"
        );
    }
}

#[test]
fn login_push_pull_logout_with_basic_auth() {
    let Some(reg) = DockerRegistry::start(true, false) else {
        return;
    };
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let name = format!("{}/team/app:v1", reg.host());
    let want = make_image(src.path(), &name, &[300_000, 5_000], 1);

    // Wrong password: refused, realm named, nothing saved.
    let out = login(src.path(), auth.path(), &reg.host(), USER, "wrong");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("unauthorized") && err.contains("test-realm"),
        "{err}"
    );
    assert!(!auth.join("config.json").exists());
    assert!(!err.contains("wrong"), "password echoed: {err}");

    // Push without credentials: 401 naming the realm and what to do.
    let err = fails(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    assert!(
        err.contains("unauthorized") && err.contains("hoist login"),
        "{err}"
    );

    let out = login(src.path(), auth.path(), &reg.host(), USER, PASS);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Login Succeeded"));
    let cfg = auth.join("config.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&cfg).unwrap().contains(&reg.host()));

    let (stdout, _) = ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", "--progress", "plain", &name],
    );
    assert_eq!(digest_of(&stdout), want);
    let (stdout, stderr) = ok(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", "--progress", "plain", &name],
    );
    assert_eq!(digest_of(&stdout), want);
    assert!(stderr.contains("Copying layer"), "{stderr}");
    // Byte for byte: the manifest and every blob are the same files.
    let a = Store::open(src.path()).unwrap();
    let b = Store::open(dst.path()).unwrap();
    for d in a.all_blobs().unwrap() {
        assert_eq!(a.read_blob(&d).unwrap(), b.read_blob(&d).unwrap(), "{d}");
    }
    assert_eq!(b.resolve(&name).unwrap().digest().to_string(), want);

    // A second pull finds everything present.
    let (_, stderr) = ok(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", "--progress", "plain", &name],
    );
    assert!(!stderr.contains("Copying"), "{stderr}");

    let (stdout, _) = ok(src.path(), auth.path(), &["logout", &reg.host()]);
    assert!(stdout.contains("Removed"), "{stdout}");
    assert!(!std::fs::read_to_string(&cfg).unwrap().contains(&reg.host()));
    fails(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &name],
    );
}

#[test]
fn credentials_from_containers_auth_json() {
    let Some(reg) = DockerRegistry::start(true, false) else {
        return;
    };
    let (src, auth) = (TempRoot::new(), TempRoot::new());
    let name = format!("{}/app:1", reg.host());
    let want = make_image(src.path(), &name, &[1000], 2);
    use base64_encode as b64;
    let file = auth.join("auth.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            reg.host(),
            b64(&format!("{USER}:{PASS}"))
        ),
    )
    .unwrap();
    let out = hoist(src.path(), &auth.join("docker"))
        .env("REGISTRY_AUTH_FILE", &file)
        .args(["push", "--tls-verify=false", "-q", &name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
}

/// Tiny base64 for the test's auth file (no extra dev-dependency).
fn base64_encode(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn second_push_sends_no_blob_bodies_and_other_repos_mount() {
    let Some(reg) = DockerRegistry::start(false, false) else {
        return;
    };
    let proxy = Proxy::start(reg.peer.port, None, None);
    let (src, auth) = (TempRoot::new(), TempRoot::new());
    let host = format!("127.0.0.1:{}", proxy.port);
    let name = format!("{host}/one:v1");
    let want = make_image(src.path(), &name, &[1 << 20, 1 << 20], 3);
    let (stdout, _) = ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    assert_eq!(digest_of(&stdout), want);
    let first = proxy.bytes(Dir::Up);
    assert!(first > 2 << 20, "first push sent only {first} bytes");

    let (stdout, stderr) = ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", "--progress", "plain", &name],
    );
    assert_eq!(digest_of(&stdout), want);
    let second = proxy.bytes(Dir::Up) - first;
    assert!(second < 32 << 10, "second push sent {second} bytes");
    assert!(stderr.contains("3 already there"), "{stderr}");

    // Another repository on the same registry: blobs are mounted, not sent.
    let before = proxy.bytes(Dir::Up);
    let other = format!("{host}/two:v1");
    let (stdout, stderr) = ok(
        src.path(),
        auth.path(),
        &[
            "push",
            "--tls-verify=false",
            "--progress",
            "plain",
            &name,
            &other,
        ],
    );
    assert_eq!(digest_of(&stdout), want);
    assert!(stderr.contains("3 mounted"), "{stderr}");
    assert!(proxy.bytes(Dir::Up) - before < 32 << 10);
}

#[test]
fn pull_resumes_after_a_dropped_connection() {
    let Some(reg) = DockerRegistry::start(false, false) else {
        return;
    };
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let layer = 4 << 20;
    let want = make_image(src.path(), &format!("{}/big:1", reg.host()), &[layer], 4);
    ok(
        src.path(),
        auth.path(),
        &[
            "push",
            "--tls-verify=false",
            &format!("{}/big:1", reg.host()),
        ],
    );

    let proxy = Proxy::start(reg.peer.port, Some((Dir::Down, 3 << 19)), None);
    let via = format!("127.0.0.1:{}/big:1", proxy.port);
    let (stdout, stderr) = ok(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", "--progress", "plain", &via],
    );
    assert_eq!(digest_of(&stdout), want);
    assert!(stderr.contains("resuming"), "{stderr}");
    let after = proxy.bytes_after_cut().expect("the proxy cut a connection");
    assert!(
        after < layer as u64,
        "resent {after} bytes of a {layer}-byte blob"
    );
    assert_eq!(
        Store::open(dst.path())
            .unwrap()
            .resolve(&via)
            .unwrap()
            .digest()
            .to_string(),
        want
    );
}

#[test]
fn push_completes_after_a_dropped_connection() {
    // distribution 2.8 cannot resume a session whose PATCH was cut (it
    // invalidates it), so hoist starts a new one: the push must still finish.
    let Some(reg) = DockerRegistry::start(false, false) else {
        return;
    };
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let proxy = Proxy::start(reg.peer.port, Some((Dir::Up, 3 << 19)), None);
    let name = format!("127.0.0.1:{}/big:1", proxy.port);
    let want = make_image(src.path(), &name, &[4 << 20], 5);
    let (stdout, stderr) = ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", "--progress", "plain", &name],
    );
    assert_eq!(digest_of(&stdout), want);
    assert!(stderr.contains("resuming"), "{stderr}");
    assert!(proxy.bytes_after_cut().is_some());
    let direct = format!("{}/big:1", reg.host());
    let (stdout, _) = ok(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &direct],
    );
    assert_eq!(digest_of(&stdout), want);
}

#[test]
fn corrupt_blob_is_refused_and_nothing_is_stored() {
    let Some(reg) = DockerRegistry::start(false, false) else {
        return;
    };
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let name = format!("{}/c:1", reg.host());
    make_image(src.path(), &name, &[2 << 20], 6);
    ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    let layer = {
        let s = Store::open(src.path()).unwrap();
        let img = s.resolve(&name).unwrap();
        let m: serde_json::Value =
            serde_json::from_slice(&s.read_blob(&img.digest()).unwrap()).unwrap();
        m["layers"][0]["digest"].as_str().unwrap().to_string()
    };
    let proxy = Proxy::start(reg.peer.port, None, Some(1 << 20));
    let via = format!("127.0.0.1:{}/c:1", proxy.port);
    let err = fails(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &via],
    );
    assert!(
        err.contains("digest mismatch") && err.contains(&layer),
        "{err}"
    );
    assert_nothing_half_stored(dst.path(), &via, Some(&layer));
}

#[test]
fn unreachable_registries_are_clear_errors() {
    let (root, auth) = (TempRoot::new(), TempRoot::new());
    let err = fails(
        root.path(),
        auth.path(),
        &["pull", "nonexistent.invalid:5000/x:1"],
    );
    assert!(
        err.contains("nonexistent.invalid:5000") && err.contains("does not resolve"),
        "{err}"
    );
    let port = free_port();
    let err = fails(
        root.path(),
        auth.path(),
        &[
            "pull",
            "--tls-verify=false",
            &format!("127.0.0.1:{port}/x:1"),
        ],
    );
    assert!(
        err.contains("connection refused") && err.contains(&port.to_string()),
        "{err}"
    );
    assert_nothing_half_stored(root.path(), &format!("127.0.0.1:{port}/x:1"), None);
}

#[test]
fn tls_registry_needs_its_ca_and_plain_http_needs_tls_verify_false() {
    let Some(tls) = DockerRegistry::start(false, true) else {
        return;
    };
    let (src, auth) = (TempRoot::new(), TempRoot::new());
    let name = format!("{}/secure:1", tls.host());
    let want = make_image(src.path(), &name, &[10_000], 7);
    let err = fails(src.path(), auth.path(), &["push", &name]);
    assert!(err.contains("TLS") && err.contains("--cert-dir"), "{err}");
    let ca = tls.cert_dir.as_ref().unwrap().to_str().unwrap();
    let (stdout, _) = ok(src.path(), auth.path(), &["push", "--cert-dir", ca, &name]);
    assert_eq!(digest_of(&stdout), want);
    let (stdout, _) = ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    assert_eq!(digest_of(&stdout), want);

    let Some(plain) = DockerRegistry::start(false, false) else {
        return;
    };
    let err = fails(
        src.path(),
        auth.path(),
        &["pull", &format!("{}/x:1", plain.host())],
    );
    assert!(
        err.contains("plain HTTP") && err.contains("--tls-verify=false"),
        "{err}"
    );
    let err = fails(
        src.path(),
        auth.path(),
        &[
            "pull",
            "--tls-verify=false",
            &format!("{}/nope:1", plain.host()),
        ],
    );
    assert!(err.contains("not found") && err.contains("nope"), "{err}");
}

fn skopeo(args: &[&str]) -> Output {
    // skopeo keeps a global blob-info cache under /var/lib/containers; every
    // test registry is on a fresh port, so stale entries never apply here.
    Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("run skopeo")
}

#[test]
fn skopeo_and_hoist_exchange_images() {
    if !hoist_testkit::have_program("skopeo") {
        hoist_testkit::skip_or_fail(
            "skopeo_and_hoist_exchange_images",
            "skopeo is not installed",
        );
        return;
    }
    let Some(reg) = DockerRegistry::start(false, false) else {
        return;
    };
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let local = "localhost/from-skopeo:1";
    let want = make_image(src.path(), local, &[200_000, 3_000], 8);
    let layout = format!("oci:{}:{local}", src.join("content").display());
    let out = skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &layout,
        &format!("docker://{}/sk:1", reg.host()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (stdout, _) = ok(
        dst.path(),
        auth.path(),
        &[
            "pull",
            "--tls-verify=false",
            &format!("{}/sk:1", reg.host()),
        ],
    );
    assert_eq!(digest_of(&stdout), want);

    // The reverse: hoist pushes, skopeo reads it back byte for byte.
    let name = format!("{}/from-hoist:1", reg.host());
    let want = make_image(src.path(), &name, &[100_000], 9);
    ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    let out = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{name}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Digest::sha256_of(&out.stdout).to_string(), want);
    let out_dir = dst.join("skopeo-out");
    let out = skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{name}"),
        &format!("oci:{}:x", out_dir.display()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn index_pushed_by_skopeo_is_pulled_for_the_platform() {
    if !hoist_testkit::have_program("skopeo") {
        hoist_testkit::skip_or_fail("index_pushed_by_skopeo", "skopeo is not installed");
        return;
    }
    let Some(reg) = DockerRegistry::start(false, false) else {
        return;
    };
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let (index, amd, arm) = make_index(src.path(), "localhost/multi:1", 10);
    let layout = format!("oci:{}:localhost/multi:1", src.join("content").display());
    let remote = format!("{}/multi:1", reg.host());
    let out = skopeo(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &layout,
        &format!("docker://{remote}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (stdout, _) = ok(
        dst.path(),
        auth.path(),
        &[
            "pull",
            "--tls-verify=false",
            "--platform",
            "linux/amd64",
            &remote,
        ],
    );
    assert_eq!(digest_of(&stdout), amd);
    let (stdout, _) = ok(
        dst.path(),
        auth.path(),
        &[
            "pull",
            "--tls-verify=false",
            "--platform",
            "linux/arm64",
            &remote,
        ],
    );
    assert_eq!(digest_of(&stdout), arm);
    let store = Store::open(dst.path()).unwrap();
    assert!(store.has_blob(&index.parse::<Digest>().unwrap()));
    let err = fails(
        dst.path(),
        auth.path(),
        &[
            "pull",
            "--tls-verify=false",
            "--platform",
            "linux/s390x",
            &remote,
        ],
    );
    assert!(
        err.contains("linux/s390x") && err.contains("linux/amd64"),
        "{err}"
    );

    // And hoist pushes the whole index back.
    let (stdout, _) = ok(
        src.path(),
        auth.path(),
        &[
            "push",
            "--tls-verify=false",
            "localhost/multi:1",
            &format!("{}/multi2:1", reg.host()),
        ],
    );
    assert_eq!(digest_of(&stdout), index);
}
