//! Pull-through cache: repositories under a configured upstream (`[proxy]`)
//! are filled from it on first pull and served from local storage after.
//!
//! The API calls in here from the manifest and blob GET/HEAD paths and the
//! tag list: `manifest` makes sure the manifest a request names is stored
//! (fetching it, or asking upstream whether a tag moved once its TTL is
//! over), after which the ordinary handler serves it; `blob` answers a blob
//! this registry does not hold yet by streaming it from upstream while
//! storing it; `upstream_tags` gives upstream's tag list for the tags
//! endpoint to page. Everything is written through the storage driver under
//! the usual keys, so S3 replicas share the cache, and a tag's link mtime is
//! when it was last confirmed upstream (no extra state to keep).
//!
//! ```text
//! config.rs     [proxy]: url + credentials, [[proxy.upstreams]] prefixes, TTL
//! upstream.rs   one upstream: GET/HEAD with docker's token flow
//! challenge.rs  WWW-Authenticate parsing
//! manifests.rs  by digest: once; by tag: cached for the TTL, then HEAD
//! blobs.rs      single-flight fetch: spool + store in one pass, verify, commit
//! flight.rs     one fetch in progress and the readers following it
//! tags.rs       tag lists: upstream's (all pages), local when it is down
//! ```

mod blobs;
mod challenge;
mod config;
mod flight;
mod manifests;
mod tags;
mod upstream;

pub use config::{ProxyConfig, UpstreamConfig};

use crate::digests::Digest;
use crate::driver::Driver;
use crate::metrics::ProxyCounters;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use upstream::Upstream;

/// Fetches in progress by (repository, digest).
type Flights = HashMap<(String, Digest), Arc<flight::Flight>>;

pub struct Proxy {
    /// Longest prefix first; the `url` upstream (prefix "") last.
    routes: Vec<(String, Arc<Upstream>)>,
    tag_ttl: Duration,
    spool_dir: PathBuf,
    driver: Arc<dyn Driver>,
    counters: Arc<ProxyCounters>,
    max_manifest_bytes: u64,
    /// Blob fetches in progress by (repository, digest): later requests
    /// follow the first one's bytes instead of fetching again.
    flights: Arc<tokio::sync::Mutex<Flights>>,
    /// One manifest lookup at a time per repository and reference, so a
    /// burst of cold pulls asks upstream once.
    manifest_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Proxy {
    /// Sets up the upstreams and the spool directory. `storage_root` is the
    /// filesystem driver's root (None with S3).
    pub fn new(
        config: &ProxyConfig,
        driver: Arc<dyn Driver>,
        storage_root: Option<&Path>,
        counters: Arc<ProxyCounters>,
        max_manifest_bytes: u64,
    ) -> Result<Proxy, String> {
        config.validate()?;
        let mut routes = Vec::new();
        for u in &config.upstreams {
            let creds = credentials(&u.username, &u.password, &u.password_file)?;
            routes.push((
                u.bare_prefix().to_string(),
                Arc::new(Upstream::new(&u.url, creds)?),
            ));
        }
        routes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        if let Some(url) = &config.url {
            let creds = credentials(&config.username, &config.password, &config.password_file)?;
            routes.push((String::new(), Arc::new(Upstream::new(url, creds)?)));
        }
        let spool_dir = match (&config.spool_dir, storage_root) {
            (Some(dir), _) => dir.clone(),
            (None, Some(root)) => root.join("_proxy"),
            (None, None) => std::env::temp_dir(),
        };
        std::fs::create_dir_all(&spool_dir)
            .map_err(|e| format!("proxy spool directory {}: {e}", spool_dir.display()))?;
        Ok(Proxy {
            routes,
            tag_ttl: Duration::from_secs(config.tag_ttl_seconds),
            spool_dir,
            driver,
            counters,
            max_manifest_bytes,
            flights: Arc::default(),
            manifest_locks: Mutex::default(),
        })
    }

    /// The upstream serving a local repository name, and its name there;
    /// None for repositories no upstream covers (plain local ones).
    fn route(&self, name: &str) -> Option<(Arc<Upstream>, String)> {
        self.routes.iter().find_map(|(prefix, up)| {
            let rest = if prefix.is_empty() {
                name
            } else {
                name.strip_prefix(prefix.as_str())?.strip_prefix('/')?
            };
            (!rest.is_empty()).then(|| (up.clone(), up.repository(rest)))
        })
    }
}

/// Username and password from the config, the password maybe from a file.
fn credentials(
    username: &Option<String>,
    password: &Option<String>,
    password_file: &Option<PathBuf>,
) -> Result<Option<(String, String)>, String> {
    let Some(user) = username else {
        return Ok(None);
    };
    let password = match (password, password_file) {
        (Some(p), _) => p.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| format!("proxy password_file {}: {e}", file.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_string(),
        (None, None) => return Err("proxy username without a password".into()),
    };
    Ok(Some((user.clone(), password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_longest_prefix_then_url() {
        let dir = tempfile::tempdir().unwrap();
        let config: ProxyConfig = toml::from_str(
            r#"
            url = "http://127.0.0.1:1"
            [[upstreams]]
            prefix = "docker.io/*"
            url = "https://registry-1.docker.io"
            [[upstreams]]
            prefix = "docker.io/team"
            url = "http://127.0.0.1:2"
            [[upstreams]]
            prefix = "ghcr.io"
            url = "https://ghcr.io"
            "#,
        )
        .unwrap();
        let driver = Arc::new(crate::driver::FsDriver::new(dir.path().join("s")).unwrap());
        let proxy = Proxy::new(&config, driver, Some(dir.path()), Arc::default(), 1 << 22).unwrap();
        let r = |n: &str| proxy.route(n).map(|(u, name)| (u.base().to_string(), name));
        assert_eq!(
            r("docker.io/alpine"),
            Some((
                "https://registry-1.docker.io".into(),
                "library/alpine".into()
            ))
        );
        assert_eq!(
            r("docker.io/team/app"),
            Some(("http://127.0.0.1:2".into(), "app".into()))
        );
        assert_eq!(
            r("ghcr.io/o/tool"),
            Some(("https://ghcr.io".into(), "o/tool".into()))
        );
        // Not a segment boundary: the default upstream, under the full name.
        assert_eq!(
            r("ghcr.iox/a"),
            Some(("http://127.0.0.1:1".into(), "ghcr.iox/a".into()))
        );
        assert!(dir.path().join("_proxy").is_dir());
    }
}
