//! docker credential helpers: `docker-credential-NAME get|store|erase|list`
//! as docker runs them (the protocol of docker/docker-credential-helpers),
//! named in config.json by `credsStore` (every registry) or `credHelpers`
//! (per registry). This is how CI reaches ECR, GCR and ACR, and how desktop
//! users keep passwords in pass or the Secret Service.
//!
//! get: server URL on stdin -> `{"ServerURL","Username","Secret"}` on stdout,
//! or "credentials not found in native keychain" and a failing exit.
//! store: that JSON on stdin. erase: server URL on stdin. list: `{url: user}`.

use crate::credentials::Credential;
use crate::error::{ClientError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What helpers print when they hold nothing for a server.
const NOT_FOUND: &str = "credentials not found in native keychain";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    program: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

impl Helper {
    /// The helper config.json names `name` (`pass` -> docker-credential-pass,
    /// found on PATH).
    pub fn named(name: &str) -> Helper {
        Helper {
            program: PathBuf::from(format!("docker-credential-{name}")),
        }
    }

    /// A helper at an explicit path.
    pub fn at(program: impl Into<PathBuf>) -> Helper {
        Helper {
            program: program.into(),
        }
    }

    /// The credential stored for `server`, None when the helper has none.
    pub fn get(&self, server: &str) -> Result<Option<Credential>> {
        let out = self.run("get", server.as_bytes())?;
        if !out.status.success() {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if text.contains(NOT_FOUND) {
                return Ok(None);
            }
            return Err(self.failed("get", &text));
        }
        let entry: Entry = serde_json::from_slice(&out.stdout)
            .map_err(|e| self.failed("get", &format!("answer is not the helper JSON: {e}")))?;
        if entry.username.is_empty() && entry.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credential {
            username: entry.username,
            password: entry.secret,
        }))
    }

    pub fn store(&self, server: &str, cred: &Credential) -> Result<()> {
        let entry = Entry {
            server_url: server.to_string(),
            username: cred.username.clone(),
            secret: cred.password.clone(),
        };
        let input = serde_json::to_vec(&entry).expect("entry serializes");
        let out = self.run("store", &input)?;
        if !out.status.success() {
            return Err(self.failed("store", &String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    }

    /// Removes the credential for `server`; false when there was none.
    pub fn erase(&self, server: &str) -> Result<bool> {
        let out = self.run("erase", server.as_bytes())?;
        if out.status.success() {
            return Ok(true);
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if text.contains(NOT_FOUND) {
            return Ok(false);
        }
        Err(self.failed("erase", &text))
    }

    /// Server URL -> user name of everything the helper holds.
    pub fn list(&self) -> Result<BTreeMap<String, String>> {
        let out = self.run("list", b"")?;
        if !out.status.success() {
            return Err(self.failed("list", &String::from_utf8_lossy(&out.stderr)));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| self.failed("list", &format!("answer is not a JSON object: {e}")))
    }

    fn run(&self, verb: &str, input: &[u8]) -> Result<std::process::Output> {
        let mut child = Command::new(&self.program)
            .arg(verb)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                let detail = if e.kind() == std::io::ErrorKind::NotFound {
                    "not found on PATH (config.json's credsStore/credHelpers name it; install \
                     it or remove the entry)"
                        .to_string()
                } else {
                    e.to_string()
                };
                self.failed(verb, &detail)
            })?;
        // A helper that exits without reading its input is not an error
        // here; its exit status and output say what happened.
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input);
        }
        child
            .wait_with_output()
            .map_err(|e| self.failed(verb, &e.to_string()))
    }

    fn failed(&self, verb: &str, detail: &str) -> ClientError {
        ClientError::Credentials {
            path: format!("{} {verb}", self.program.display()),
            detail: detail.trim().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A helper speaking the protocol from a shell script over one file per
    /// server (protocol edge cases; the e2e test runs the real
    /// docker-credential-pass).
    fn script_helper(dir: &std::path::Path) -> Helper {
        let path = dir.join("docker-credential-test");
        let store = dir.join("store");
        std::fs::create_dir_all(&store).unwrap();
        let script = format!(
            r#"#!/bin/sh
set -e
cd {store}
case "$1" in
  store) cat > entry.json; url=$(sed 's/.*"ServerURL":"\([^"]*\)".*/\1/' entry.json); mv entry.json "$(echo "$url" | tr / _)";;
  get) read -r url || true; f=$(echo "$url" | tr / _); if [ -f "$f" ]; then cat "$f"; else echo "{NOT_FOUND}"; exit 1; fi;;
  erase) read -r url || true; f=$(echo "$url" | tr / _); if [ -f "$f" ]; then rm "$f"; else echo "{NOT_FOUND}"; exit 1; fi;;
  list) printf '{{'; sep=''; for f in *; do [ -f "$f" ] || continue; printf '%s"%s":"x"' "$sep" "$f"; sep=','; done; printf '}}';;
  *) echo "unknown verb" >&2; exit 2;;
esac
"#,
            store = store.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Helper::at(path)
    }

    #[test]
    fn get_store_erase_list_and_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let h = script_helper(dir.path());
        assert_eq!(h.get("reg.test:5000").unwrap(), None);
        let cred = Credential {
            username: "ci".into(),
            password: "t0ken with spaces".into(),
        };
        h.store("reg.test:5000", &cred).unwrap();
        assert_eq!(h.get("reg.test:5000").unwrap(), Some(cred));
        assert_eq!(h.list().unwrap().len(), 1);
        assert!(h.erase("reg.test:5000").unwrap());
        assert!(!h.erase("reg.test:5000").unwrap());
        assert!(h.list().unwrap().is_empty());
    }

    #[test]
    fn a_missing_or_broken_helper_is_a_clear_error() {
        let err = Helper::named("hoist-no-such-helper")
            .get("r:1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("docker-credential-hoist-no-such-helper get") && err.contains("PATH"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker-credential-broken");
        std::fs::write(&path, "#!/bin/sh\necho 'keychain locked' >&2\nexit 3\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = Helper::at(&path).get("r:1").unwrap_err().to_string();
        assert!(err.contains("keychain locked"), "{err}");
        let garbage = dir.path().join("docker-credential-garbage");
        std::fs::write(&garbage, "#!/bin/sh\necho not-json\n").unwrap();
        std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = Helper::at(&garbage).get("r:1").unwrap_err().to_string();
        assert!(err.contains("not the helper JSON"), "{err}");
    }
}
