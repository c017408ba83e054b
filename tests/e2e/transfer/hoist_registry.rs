//! The client against hoist's own registry (`hoist registry serve`): the
//! token flow (wrong password, tokens that expire mid-push) and uploads that
//! resume from the offset the registry reports.

use super::peers::{make_image, PASS, USER};
use super::proxy::{Dir, Proxy};
use super::{digest_of, fails, login, ok};
use crate::common;
use hoist_testkit::{free_port, Peer, TempRoot};
use std::process::Command;

pub(super) struct HoistRegistry {
    pub(super) peer: Peer,
    _dir: TempRoot,
}

impl HoistRegistry {
    /// Whether this hoist has `registry serve` (the registry server lands
    /// separately; until it does these tests say so and pass).
    pub(super) fn available() -> bool {
        let ok = common::hoist(&TempRoot::new().join("root"))
            .args(["registry", "serve", "--help"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("skipping: this hoist has no `registry serve` yet");
        }
        ok
    }

    /// Starts `hoist registry serve`; with `token_ttl`, token auth for
    /// USER/PASS with tokens living that many seconds.
    pub(super) fn start(token_ttl: Option<u64>) -> HoistRegistry {
        let dir = TempRoot::new();
        let port = free_port();
        let mut cmd = common::hoist(&dir.join("root"));
        cmd.args(["registry", "serve", "--addr", &format!("127.0.0.1:{port}")])
            .arg("--storage-root")
            .arg(dir.join("data"));
        if let Some(ttl) = token_ttl {
            let out = Command::new("htpasswd")
                .args(["-Bbn", USER, PASS])
                .output()
                .expect("run htpasswd (apache2-utils)");
            assert!(out.status.success());
            std::fs::write(dir.join("htpasswd"), &out.stdout).unwrap();
            cmd.args([
                "--auth-mode",
                "token",
                "--token-ttl-seconds",
                &ttl.to_string(),
            ])
            .arg("--htpasswd")
            .arg(dir.join("htpasswd"));
        }
        let peer = Peer::start(&mut cmd, port, &dir.join("registry.log"));
        HoistRegistry { peer, _dir: dir }
    }
}

#[test]
fn token_flow_round_trip_and_wrong_password() {
    if !HoistRegistry::available() {
        return;
    }
    let reg = HoistRegistry::start(Some(300));
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let host = format!("127.0.0.1:{}", reg.peer.port);
    let name = format!("{host}/team/app:1");
    let want = make_image(src.path(), &name, &[200_000, 7_000], 20);

    let out = login(src.path(), auth.path(), &host, USER, "wrong-password");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("unauthorized") && err.contains("/token"),
        "{err}"
    );
    assert!(!auth.join("config.json").exists());
    // Not logged in: the registry hands out an anonymous token without push rights.
    let err = fails(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    assert!(
        err.contains("access denied") && err.contains("hoist login"),
        "{err}"
    );

    let out = login(src.path(), auth.path(), &host, USER, PASS);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (stdout, _) = ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    assert_eq!(digest_of(&stdout), want);
    let (stdout, _) = ok(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &name],
    );
    assert_eq!(digest_of(&stdout), want);
}

#[test]
fn expired_token_is_refreshed_mid_push() {
    if !HoistRegistry::available() {
        return;
    }
    let reg = HoistRegistry::start(Some(1));
    let proxy = Proxy::start(reg.peer.port, None, None);
    // Each 3 MiB layer takes about 1.5 s at 2 MiB/s: longer than a token lives.
    proxy.throttle_up(2 << 20);
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let host = format!("127.0.0.1:{}", proxy.port);
    let name = format!("{host}/slow/app:1");
    let want = make_image(src.path(), &name, &[3 << 20, 3 << 20], 21);
    let out = login(src.path(), auth.path(), &host, USER, PASS);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = proxy.token_requests();
    let (stdout, _) = ok(
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    assert_eq!(digest_of(&stdout), want);
    let during = proxy.token_requests() - before;
    assert!(
        during >= 2,
        "only {during} token requests during a push longer than a token lives"
    );
    proxy.throttle_up(0);
    let (stdout, _) = ok(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &name],
    );
    assert_eq!(digest_of(&stdout), want);
}

#[test]
fn push_resumes_from_the_registry_offset() {
    if !HoistRegistry::available() {
        return;
    }
    let reg = HoistRegistry::start(None);
    let layer = 4 << 20;
    let proxy = Proxy::start(reg.peer.port, Some((Dir::Up, 3 << 19)), None);
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    let name = format!("127.0.0.1:{}/resume/app:1", proxy.port);
    let want = make_image(src.path(), &name, &[layer], 22);
    // hoist's registry keeps each completed PATCH: with 1 MiB chunks a cut
    // costs at most the chunk in flight.
    let args = [
        "push",
        "--tls-verify=false",
        "--progress",
        "plain",
        "--chunk-size",
        "1M",
        &name,
    ];
    let (stdout, stderr) = ok(src.path(), auth.path(), &args);
    assert_eq!(digest_of(&stdout), want);
    assert!(stderr.contains("resuming"), "{stderr}");
    let after = proxy.bytes_after_cut().expect("the proxy cut a connection");
    assert!(
        after < layer as u64,
        "sent {after} bytes again of a {layer}-byte blob:\n{stderr}"
    );
    let direct = format!("127.0.0.1:{}/resume/app:1", reg.peer.port);
    let (stdout, _) = ok(
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &direct],
    );
    assert_eq!(digest_of(&stdout), want);
}
