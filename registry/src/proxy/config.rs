//! `[proxy]`: which upstream registries this one caches, and for how long a
//! tag is trusted before it is asked again.
//!
//! Two shapes, usable together: distribution's proxy mode (`url` with
//! optional credentials: every repository comes from that upstream under the
//! same name), and zot/Harbor-style prefixes (`[[proxy.upstreams]]`:
//! `docker.io/library/alpine` is `library/alpine` on the upstream mapped to
//! `docker.io`). The longest matching prefix wins; `url` takes the rest.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyConfig {
    /// The upstream for every repository no prefix matches (distribution's
    /// `remoteurl`).
    pub url: Option<String>,
    pub username: Option<String>,
    /// The upstream password; `password_file` keeps it out of the config.
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A manifest fetched by tag is served without asking upstream for this
    /// long; after it, upstream is asked (HEAD) whether the tag moved.
    pub tag_ttl_seconds: u64,
    /// Where blobs being fetched are spooled for the clients reading them
    /// while they arrive; default `<root>/_proxy`, or the system temp dir
    /// with S3 storage.
    pub spool_dir: Option<PathBuf>,
    /// Prefix mappings, e.g. `docker.io` -> https://registry-1.docker.io.
    pub upstreams: Vec<UpstreamConfig>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            url: None,
            username: None,
            password: None,
            password_file: None,
            tag_ttl_seconds: 300,
            spool_dir: None,
            upstreams: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Repository name prefix, `docker.io` or `docker.io/*` (same meaning).
    pub prefix: String,
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
}

impl UpstreamConfig {
    /// The prefix without a trailing `/*` or `/`.
    pub fn bare_prefix(&self) -> &str {
        self.prefix.trim_end_matches("/*").trim_end_matches('/')
    }
}

impl ProxyConfig {
    /// Paths in the file, made relative to the file by `Config::load`.
    pub fn files_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        self.password_file.iter_mut().chain(
            self.spool_dir.iter_mut().chain(
                self.upstreams
                    .iter_mut()
                    .flat_map(|u| u.password_file.iter_mut()),
            ),
        )
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.url.is_none() && self.upstreams.is_empty() {
            return Err(
                "[proxy] needs url (every repository) or [[proxy.upstreams]] (by prefix)".into(),
            );
        }
        if let Some(url) = &self.url {
            check_url("proxy.url", url)?;
            check_credentials("proxy", &self.username, &self.password, &self.password_file)?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for u in &self.upstreams {
            let what = format!("proxy.upstreams prefix {:?}", u.prefix);
            let prefix = u.bare_prefix();
            if prefix.is_empty() || prefix.contains('*') {
                return Err(format!(
                    "{what}: give a repository prefix such as \"docker.io\" or \"ghcr.io/*\""
                ));
            }
            if !seen.insert(prefix.to_string()) {
                return Err(format!("{what} appears twice"));
            }
            check_url(&what, &u.url)?;
            check_credentials(&what, &u.username, &u.password, &u.password_file)?;
        }
        Ok(())
    }
}

fn check_url(what: &str, url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(()),
        _ => Err(format!(
            "{what}: url {url:?} is not an http:// or https:// registry URL"
        )),
    }
}

fn check_credentials(
    what: &str,
    username: &Option<String>,
    password: &Option<String>,
    password_file: &Option<PathBuf>,
) -> Result<(), String> {
    match (username, password, password_file) {
        (Some(_), Some(_), Some(_)) => {
            Err(format!("{what}: set password or password_file, not both"))
        }
        (Some(_), None, None) => Err(format!("{what}: username needs password or password_file")),
        (None, Some(_), _) | (None, _, Some(_)) => {
            Err(format!("{what}: a password needs a username"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ProxyConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn shapes_and_refusals() {
        let c = parse(
            "url = \"http://127.0.0.1:5000\"\n[[upstreams]]\nprefix = \"docker.io/*\"\nurl = \"https://registry-1.docker.io\"\n",
        );
        c.validate().unwrap();
        assert_eq!(c.upstreams[0].bare_prefix(), "docker.io");
        assert_eq!(c.tag_ttl_seconds, 300);
        assert!(parse("").validate().unwrap_err().contains("needs url"));
        assert!(parse("url = \"ftp://x\"")
            .validate()
            .unwrap_err()
            .contains("not an http"));
        assert!(parse("url = \"http://a\"\nusername = \"u\"")
            .validate()
            .unwrap_err()
            .contains("needs password"));
        let twice = "[[upstreams]]\nprefix = \"a\"\nurl = \"http://a\"\n[[upstreams]]\nprefix = \"a/*\"\nurl = \"http://b\"\n";
        assert!(parse(twice).validate().unwrap_err().contains("twice"));
        assert!(toml::from_str::<ProxyConfig>("remoteurl = \"x\"").is_err());
    }
}
