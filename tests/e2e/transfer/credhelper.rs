//! Credential helpers with the real `docker-credential-pass` (Debian's
//! golang-docker-credential-helpers) over a throwaway gpg key and password
//! store: `credsStore: "pass"` in config.json makes `hoist login` store the
//! secret through the helper (config.json keeps only an empty entry), push
//! and pull read it back through it, and `logout` erases it.

use super::peers::{make_image, DockerRegistry, PASS, USER};
use super::{digest_of, hoist};
use hoist_testkit::TempRoot;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A gpg home and pass store made for the test; the gpg-agent it starts is
/// stopped at the end.
struct PassStore {
    dir: TempRoot,
}

impl PassStore {
    fn new() -> PassStore {
        let dir = TempRoot::new();
        let store = PassStore { dir };
        std::fs::create_dir_all(store.gnupg()).unwrap();
        std::fs::set_permissions(
            store.gnupg(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let run = |cmd: &mut Command| {
            let out = store.env(cmd).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(Command::new("gpg").args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            "hoist test <hoist@test.invalid>",
            "default",
            "default",
            "never",
        ]));
        run(Command::new("pass").args(["init", "hoist@test.invalid"]));
        store
    }

    fn gnupg(&self) -> std::path::PathBuf {
        self.dir.join("gnupg")
    }

    fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("GNUPGHOME", self.gnupg())
            .env("PASSWORD_STORE_DIR", self.dir.join("pass"))
    }

    /// What the helper lists (server URL -> user).
    fn list(&self) -> serde_json::Value {
        let out = self
            .env(&mut Command::new("docker-credential-pass"))
            .arg("list")
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for PassStore {
    fn drop(&mut self) {
        let _ = self
            .env(&mut Command::new("gpgconf"))
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

fn hoist_with(store: &PassStore, root: &Path, auth: &Path, args: &[&str]) -> Output {
    store
        .env(&mut hoist(root, auth))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn creds_store_pass_holds_the_login_for_push_and_pull() {
    for program in ["docker-credential-pass", "pass", "gpg"] {
        if !hoist_testkit::have_program(program) {
            hoist_testkit::skip_or_fail(
                "credhelper",
                &format!(
                    "{program} is not installed (golang-docker-credential-helpers, pass, gnupg)"
                ),
            );
            return;
        }
    }
    let Some(reg) = DockerRegistry::start(true, false) else {
        return;
    };
    let store = PassStore::new();
    let (src, dst, auth) = (TempRoot::new(), TempRoot::new(), TempRoot::new());
    std::fs::write(auth.join("config.json"), r#"{"credsStore": "pass"}"#).unwrap();
    let host = reg.host();

    let mut login = store
        .env(&mut hoist(src.path(), auth.path()))
        .args([
            "login",
            "--tls-verify=false",
            "-u",
            USER,
            "--password-stdin",
            &host,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    login
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASS}\n").as_bytes())
        .unwrap();
    let out = login.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The secret is in the helper, not in config.json.
    let config = std::fs::read_to_string(auth.join("config.json")).unwrap();
    assert!(!config.contains("\"auth\""), "{config}");
    let doc: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(doc["credsStore"], "pass");
    assert_eq!(doc["auths"][&host], serde_json::json!({}));
    assert_eq!(store.list()[&host], USER);

    // Push and pull authenticate with what the helper returns.
    let name = format!("{host}/team/helper:v1");
    let want = make_image(src.path(), &name, &[50_000], 3);
    let out = hoist_with(
        &store,
        src.path(),
        auth.path(),
        &["push", "--tls-verify=false", &name],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hoist_with(
        &store,
        dst.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &name],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(digest_of(&String::from_utf8_lossy(&out.stdout)), want);

    // Logout erases it from the helper; a pull is then unauthorized.
    let out = hoist_with(&store, src.path(), auth.path(), &["logout", &host]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(store.list().get(&host).is_none(), "{}", store.list());
    let again = TempRoot::new();
    let out = hoist_with(
        &store,
        again.path(),
        auth.path(),
        &["pull", "--tls-verify=false", &name],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unauthorized"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
