//! Registry mirrors as podman and docker users already configure them:
//!
//! - containers' `registries.conf` (`[[registry]] prefix/location` with
//!   `[[registry.mirror]] location/insecure`), read from
//!   `$CONTAINERS_REGISTRIES_CONF` when set (podman's own override), else
//!   `$HOME/.config/containers/registries.conf` when it exists, else
//!   `/etc/containers/registries.conf`;
//! - docker's `registry-mirrors` in daemon.json (`$HOIST_DOCKER_DAEMON_JSON`,
//!   else `/etc/docker/daemon.json`), which docker uses for docker.io only.
//!
//! `sources` turns a reference into the places to pull it from: the
//! mirrors in order, then the origin. The pull tries them in turn.

use crate::error::{ClientError, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One place to pull a repository from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Registry host (`mirror.example:5000`).
    pub host: String,
    /// The repository's name there.
    pub repository: String,
    /// TLS is not verified and plain HTTP is allowed (the mirror's
    /// `insecure = true`, or an `http://` docker mirror).
    pub insecure: bool,
    /// A mirror (falling back is allowed) rather than the origin.
    pub mirror: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    registries: Vec<RegistryEntry>,
    /// docker's `registry-mirrors`, for docker.io.
    docker_io: Vec<MirrorEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct RegistryEntry {
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    location: String,
    #[serde(default)]
    mirror: Vec<MirrorEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct MirrorEntry {
    location: String,
    #[serde(default)]
    insecure: bool,
}

/// The parts of registries.conf used here; other keys (search registries,
/// short names, blocked) are left to their own readers.
#[derive(Deserialize)]
struct RegistriesConf {
    #[serde(default)]
    registry: Vec<RegistryEntry>,
}

#[derive(Deserialize)]
struct DaemonJson {
    #[serde(default, rename = "registry-mirrors")]
    registry_mirrors: Vec<String>,
}

impl Mirrors {
    /// Reads the files named in the module comment. A file that exists but
    /// does not parse is an error naming it.
    pub fn from_env() -> Result<Mirrors> {
        let mut mirrors = Mirrors::default();
        if let Some(path) = registries_conf_path() {
            if let Some(text) = read_optional(&path)? {
                mirrors.registries = parse_registries_conf(&text, &path)?;
            }
        }
        let daemon = std::env::var_os("HOIST_DOCKER_DAEMON_JSON")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc/docker/daemon.json"));
        if let Some(text) = read_optional(&daemon)? {
            mirrors.docker_io = parse_daemon_json(&text, &daemon)?;
        }
        Ok(mirrors)
    }

    /// Where to pull `registry/repository` from: mirrors first, the origin
    /// last (always present).
    pub fn sources(&self, registry: &str, repository: &str) -> Vec<Source> {
        let full = format!("{registry}/{repository}");
        let mut out = Vec::new();
        // The longest matching prefix decides, as in containers-registries.conf(5).
        let entry = self
            .registries
            .iter()
            .filter_map(|e| {
                let prefix = e.prefix.as_deref().unwrap_or(&e.location);
                let rest = strip_name_prefix(&full, prefix)?;
                Some((prefix.len(), e, rest))
            })
            .max_by_key(|(len, _, _)| *len);
        let mut origin = Source {
            host: registry.to_string(),
            repository: repository.to_string(),
            insecure: false,
            mirror: false,
        };
        if let Some((_, e, rest)) = entry {
            for m in &e.mirror {
                if let Some(s) = source_at(&m.location, rest, m.insecure, true) {
                    out.push(s);
                }
            }
            // `location` may redirect the origin itself.
            if !e.location.is_empty() {
                if let Some(s) = source_at(&e.location, rest, false, false) {
                    origin = s;
                }
            }
        }
        if registry == "docker.io" {
            for m in &self.docker_io {
                if let Some(s) = source_at(&m.location, &format!("/{repository}"), m.insecure, true)
                {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
            }
        }
        out.push(origin);
        out
    }
}

/// `name` with `prefix` removed at a path boundary: the rest, starting with
/// `/` (or empty when they are equal); None when it does not match.
fn strip_name_prefix<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return None;
    }
    let rest = name.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// `location` (`host[:port][/namespace]`) with `rest` appended, as a source.
fn source_at(location: &str, rest: &str, insecure: bool, mirror: bool) -> Option<Source> {
    let full = format!("{}{rest}", location.trim_end_matches('/'));
    let (host, repository) = full.split_once('/')?;
    if host.is_empty() || repository.is_empty() {
        return None;
    }
    Some(Source {
        host: host.to_string(),
        repository: repository.to_string(),
        insecure,
        mirror,
    })
}

fn registries_conf_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CONTAINERS_REGISTRIES_CONF") {
        return Some(PathBuf::from(p));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let user = Path::new(&home).join(".config/containers/registries.conf");
        if user.is_file() {
            return Some(user);
        }
    }
    Some(PathBuf::from("/etc/containers/registries.conf"))
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(config_error(path, e.to_string())),
    }
}

fn config_error(path: &Path, detail: String) -> ClientError {
    ClientError::MirrorConfig {
        path: path.display().to_string(),
        detail,
    }
}

fn parse_registries_conf(text: &str, path: &Path) -> Result<Vec<RegistryEntry>> {
    let conf: RegistriesConf =
        toml::from_str(text).map_err(|e| config_error(path, e.to_string().replace('\n', " ")))?;
    for e in &conf.registry {
        if e.location.is_empty() && e.prefix.is_none() {
            return Err(config_error(
                path,
                "a [[registry]] needs location (or prefix)".into(),
            ));
        }
        if let Some(m) = e.mirror.iter().find(|m| m.location.contains("://")) {
            return Err(config_error(
                path,
                format!(
                    "mirror location {:?} is a URL; write host[:port][/namespace] and \
                     insecure = true for plain HTTP",
                    m.location
                ),
            ));
        }
    }
    Ok(conf.registry)
}

/// docker's `registry-mirrors` are URLs (`https://mirror.example`); an
/// `http://` one is a plain-HTTP mirror.
fn parse_daemon_json(text: &str, path: &Path) -> Result<Vec<MirrorEntry>> {
    let daemon: DaemonJson =
        serde_json::from_str(text).map_err(|e| config_error(path, e.to_string()))?;
    daemon
        .registry_mirrors
        .iter()
        .map(|url| {
            let (insecure, rest) = if let Some(r) = url.strip_prefix("http://") {
                (true, r)
            } else if let Some(r) = url.strip_prefix("https://") {
                (false, r)
            } else {
                return Err(config_error(
                    path,
                    format!("registry-mirrors entry {url:?} is not an http(s):// URL"),
                ));
            };
            Ok(MirrorEntry {
                location: rest.trim_end_matches('/').to_string(),
                insecure,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Mirrors {
        Mirrors {
            registries: parse_registries_conf(text, Path::new("r.conf")).unwrap(),
            docker_io: Vec::new(),
        }
    }

    #[test]
    fn registries_conf_mirrors_then_origin() {
        let m = conf(
            r#"
            unqualified-search-registries = ["docker.io"]
            [[registry]]
            location = "docker.io"
            [[registry.mirror]]
            location = "127.0.0.1:5001"
            insecure = true
            [[registry.mirror]]
            location = "mirror.example/hub"
            [[registry]]
            prefix = "quay.io/team"
            location = "internal.example/quay-team"
            "#,
        );
        let s = m.sources("docker.io", "library/alpine");
        assert_eq!(s.len(), 3);
        assert_eq!(
            (
                s[0].host.as_str(),
                s[0].repository.as_str(),
                s[0].insecure,
                s[0].mirror
            ),
            ("127.0.0.1:5001", "library/alpine", true, true)
        );
        assert_eq!(
            (s[1].host.as_str(), s[1].repository.as_str()),
            ("mirror.example", "hub/library/alpine")
        );
        assert_eq!(
            (s[2].host.as_str(), s[2].repository.as_str(), s[2].mirror),
            ("docker.io", "library/alpine", false)
        );
        // A prefix redirects the origin itself.
        let s = m.sources("quay.io", "team/tool");
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].host.as_str(), s[0].repository.as_str()),
            ("internal.example", "quay-team/tool")
        );
        // Prefixes match at path boundaries only.
        assert_eq!(m.sources("quay.io", "teamx/tool")[0].host, "quay.io");
        assert_eq!(m.sources("ghcr.io", "a/b").len(), 1);
    }

    #[test]
    fn docker_registry_mirrors_are_for_docker_io() {
        let docker_io = parse_daemon_json(
            r#"{"registry-mirrors": ["http://127.0.0.1:5002/", "https://m.example"], "debug": true}"#,
            Path::new("daemon.json"),
        )
        .unwrap();
        let m = Mirrors {
            registries: Vec::new(),
            docker_io,
        };
        let s = m.sources("docker.io", "library/x");
        assert_eq!(s.len(), 3);
        assert!(s[0].insecure && s[0].host == "127.0.0.1:5002" && s[0].repository == "library/x");
        assert!(!s[1].insecure && s[1].host == "m.example");
        assert_eq!(m.sources("quay.io", "a/b").len(), 1);
    }

    #[test]
    fn bad_files_are_named() {
        let e = parse_registries_conf("[[registry]]\nlocation = 1", Path::new("/x/r.conf"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/x/r.conf"), "{e}");
        let e = parse_registries_conf(
            "[[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"http://m\"",
            Path::new("r.conf"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("insecure = true"), "{e}");
        let e = parse_daemon_json(
            r#"{"registry-mirrors": ["m.example"]}"#,
            Path::new("d.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("d.json") && e.contains("http(s)://"), "{e}");
    }
}
