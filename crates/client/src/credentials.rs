//! Registry credentials in docker's `config.json` format, so a `docker login`
//! or `podman login` done before just works, and a `hoist login` works for
//! them. Reads `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`)
//! and then containers' `auth.json` (`$REGISTRY_AUTH_FILE`, else
//! `$XDG_RUNTIME_DIR/containers/auth.json`). Writes only the docker file,
//! atomically (temp file + rename) with mode 0600, keeping every other key
//! in it untouched. When config.json names a credential helper for the
//! registry (`credHelpers`, else `credsStore`), the secret is read from and
//! written through that helper instead (credhelper.rs), as docker does.

use crate::credhelper::Helper;
use crate::error::{ClientError, Result};
use base64::Engine;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A user name and password (or identity token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credential {
    // Never print a password, even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where credentials are read from and written to.
#[derive(Debug, Clone)]
pub struct CredentialFiles {
    /// The docker config.json that `login`/`logout` write.
    pub docker: PathBuf,
    /// Other files read (containers auth.json), in order after `docker`.
    pub extra: Vec<PathBuf>,
}

impl CredentialFiles {
    /// The standard locations, from the environment.
    pub fn from_env() -> Self {
        let docker = match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => PathBuf::from(dir).join("config.json"),
            None => home_dir().join(".docker").join("config.json"),
        };
        let mut extra = Vec::new();
        if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE") {
            extra.push(PathBuf::from(f));
        }
        if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
            extra.push(PathBuf::from(dir).join("containers").join("auth.json"));
        }
        CredentialFiles { docker, extra }
    }

    /// The credential for `registry`, from the first file that has one.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>> {
        for path in std::iter::once(&self.docker).chain(self.extra.iter()) {
            let Some(doc) = read_json(path)? else {
                continue;
            };
            if path == &self.docker {
                if let Some(helper) = helper_for(&doc, registry) {
                    if let Some(cred) = helper.get(&config_key(registry))? {
                        return Ok(Some(cred));
                    }
                }
            }
            if let Some(cred) = find_auth(&doc, registry, path)? {
                return Ok(Some(cred));
            }
        }
        Ok(None)
    }

    /// Saves `cred` for `registry` in the docker config file.
    pub fn store(&self, registry: &str, cred: &Credential) -> Result<()> {
        let mut doc = read_json(&self.docker)?.unwrap_or_else(|| Value::Object(Map::new()));
        let path = &self.docker;
        let helper = helper_for(&doc, registry);
        let root = doc
            .as_object_mut()
            .ok_or_else(|| bad(path, "not a JSON object"))?;
        let mut entry = Map::new();
        match helper {
            // The secret goes to the helper; `auths` keeps an empty entry,
            // as docker leaves one, so the registry is listed as logged in.
            Some(helper) => helper.store(&config_key(registry), cred)?,
            None => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", cred.username, cred.password));
                entry.insert("auth".into(), Value::String(token));
            }
        }
        let auths = root
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(|| bad(path, "\"auths\" is not an object"))?;
        auths.insert(config_key(registry), Value::Object(entry));
        write_json_atomic(&self.docker, &doc)
    }

    /// Removes the credential for `registry`; returns whether there was one.
    pub fn remove(&self, registry: &str) -> Result<bool> {
        let Some(mut doc) = read_json(&self.docker)? else {
            return Ok(false);
        };
        let erased = match helper_for(&doc, registry) {
            Some(helper) => helper.erase(&config_key(registry))?,
            None => false,
        };
        let removed = doc
            .get_mut("auths")
            .and_then(Value::as_object_mut)
            .map(|auths| {
                let keys: Vec<String> = auths
                    .keys()
                    .filter(|k| normalize_key(k) == normalize_key(registry))
                    .cloned()
                    .collect();
                for k in &keys {
                    auths.remove(k);
                }
                !keys.is_empty()
            })
            .unwrap_or(false);
        if removed {
            write_json_atomic(&self.docker, &doc)?;
        }
        Ok(removed || erased)
    }
}

/// The helper config.json assigns to `registry`: its `credHelpers` entry,
/// else `credsStore`.
fn helper_for(doc: &Value, registry: &str) -> Option<Helper> {
    let want = normalize_key(registry);
    let per_registry = doc
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|helpers| {
            helpers
                .iter()
                .find(|(key, _)| normalize_key(key) == want)
                .and_then(|(_, name)| name.as_str())
        });
    per_registry
        .or_else(|| doc.get("credsStore").and_then(Value::as_str))
        .filter(|name| !name.is_empty())
        .map(Helper::named)
}

/// The key docker uses in `auths` for a registry host.
fn config_key(registry: &str) -> String {
    if registry == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    }
}

/// Compares keys the way docker does: scheme and path do not matter, and
/// docker.io has historical aliases.
fn normalize_key(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_string(),
        h => h.to_string(),
    }
}

fn find_auth(doc: &Value, registry: &str, path: &Path) -> Result<Option<Credential>> {
    let Some(auths) = doc.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let want = normalize_key(registry);
    for (key, entry) in auths {
        if normalize_key(key) != want {
            continue;
        }
        if let Some(auth) = entry.get("auth").and_then(Value::as_str) {
            if auth.is_empty() {
                continue;
            }
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad(path, &format!("auths.{key}.auth is not base64")))?;
            let text = String::from_utf8(raw)
                .map_err(|_| bad(path, &format!("auths.{key}.auth is not UTF-8")))?;
            let (user, pass) = text
                .split_once(':')
                .ok_or_else(|| bad(path, &format!("auths.{key}.auth is not user:password")))?;
            return Ok(Some(Credential {
                username: user.to_string(),
                password: pass.to_string(),
            }));
        }
        // Some tools write the two fields separately.
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(Value::as_str),
            entry.get("password").and_then(Value::as_str),
        ) {
            return Ok(Some(Credential {
                username: u.to_string(),
                password: p.to_string(),
            }));
        }
    }
    Ok(None)
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| bad(path, &format!("invalid JSON: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(bad(path, &e.to_string())),
    }
}

/// Writes `doc` to `path` through a 0600 temp file in the same directory,
/// then renames it: readers see the old file or the new one, never half.
fn write_json_atomic(path: &Path, doc: &Value) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| bad(path, &format!("create directory: {e}")))?;
    // tempfile creates with mode 0600 on unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .tempfile_in(dir)
        .map_err(|e| bad(path, &format!("create temp file: {e}")))?;
    let mut text = serde_json::to_vec_pretty(doc).expect("JSON value serializes");
    text.push(b'\n');
    tmp.write_all(&text)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| bad(path, &format!("write: {e}")))?;
    tmp.persist(path)
        .map_err(|e| bad(path, &format!("rename into place: {}", e.error)))?;
    Ok(())
}

fn bad(path: &Path, detail: &str) -> ClientError {
    ClientError::Credentials {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn files(dir: &Path) -> CredentialFiles {
        CredentialFiles {
            docker: dir.join("docker/config.json"),
            extra: vec![dir.join("containers/auth.json")],
        }
    }

    #[test]
    fn store_lookup_remove_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let cred = Credential {
            username: "alice".into(),
            password: "p:ss".into(),
        };
        f.store("127.0.0.1:5000", &cred).unwrap();
        assert_eq!(f.lookup("127.0.0.1:5000").unwrap(), Some(cred));
        let mode = std::fs::metadata(&f.docker).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(f.remove("127.0.0.1:5000").unwrap());
        assert_eq!(f.lookup("127.0.0.1:5000").unwrap(), None);
        assert!(!f.remove("127.0.0.1:5000").unwrap());
    }

    #[test]
    fn keeps_other_keys_and_reads_containers_auth_json() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        std::fs::write(
            &f.docker,
            r#"{"credsStore":"","auths":{"other:1":{"auth":""}}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("containers")).unwrap();
        // "bob:secret"
        std::fs::write(
            &f.extra[0],
            r#"{"auths":{"https://reg.test:5000/v2/":{"auth":"Ym9iOnNlY3JldA=="}}}"#,
        )
        .unwrap();
        let got = f.lookup("reg.test:5000").unwrap().unwrap();
        assert_eq!(
            (got.username.as_str(), got.password.as_str()),
            ("bob", "secret")
        );
        f.store(
            "reg.test:5000",
            &Credential {
                username: "u".into(),
                password: "p".into(),
            },
        )
        .unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&f.docker).unwrap()).unwrap();
        assert_eq!(doc["credsStore"], "");
        assert!(doc["auths"]["other:1"].is_object());
        assert_eq!(f.lookup("reg.test:5000").unwrap().unwrap().username, "u");
    }

    #[test]
    fn malformed_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        std::fs::write(&f.docker, r#"{"auths":{"r:1":{"auth":"bm9jb2xvbg=="}}}"#).unwrap();
        let err = f.lookup("r:1").unwrap_err().to_string();
        assert!(err.contains("not user:password"), "{err}");
        std::fs::write(&f.docker, "{not json").unwrap();
        let err = f.lookup("r:1").unwrap_err().to_string();
        assert!(err.contains("invalid JSON"), "{err}");
    }

    #[test]
    fn docker_io_aliases_match() {
        assert_eq!(normalize_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_key("docker.io"), "docker.io");
        assert_eq!(normalize_key("http://127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = Credential {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
