//! `[notifications]`: distribution's endpoint keys (`name`, `url`,
//! `headers`, `timeout`, `threshold`, `backoff`, `ignoredmediatypes`,
//! `ignore.mediatypes`, `ignore.actions`, `disabled`) plus the bounds of
//! each endpoint's on-disk queue, which distribution keeps in memory.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    pub endpoints: Vec<EndpointConfig>,
    /// Where the queues live; default `<root>/_notifications`. Replicas
    /// sharing one root must each set their own (a queue has one sender).
    pub queue_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointConfig {
    /// Names the endpoint in logs, metrics and the queue directory.
    pub name: String,
    /// Where envelopes are POSTed.
    pub url: String,
    /// Extra request headers, distribution's `map[string][]string`.
    pub headers: BTreeMap<String, Vec<String>>,
    /// Per-request timeout (`"500ms"`, `"5s"`, `"1m"`).
    #[serde(deserialize_with = "go_duration")]
    pub timeout: Duration,
    /// Consecutive failures retried after `backoff` before the delay starts
    /// doubling.
    pub threshold: u32,
    /// The first retry delay; doubles past `threshold`, capped at a minute.
    #[serde(deserialize_with = "go_duration")]
    pub backoff: Duration,
    /// Target media types never sent (distribution's older key).
    pub ignoredmediatypes: Vec<String>,
    pub ignore: IgnoreConfig,
    /// Configured but not sent to (nothing is queued either).
    pub disabled: bool,
    /// Events kept on disk for this endpoint; the oldest is dropped past it.
    pub queue_max_events: usize,
    /// Bytes of queued events kept on disk; the oldest is dropped past it.
    pub queue_max_bytes: u64,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            name: String::new(),
            url: String::new(),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(1),
            threshold: 10,
            backoff: Duration::from_secs(1),
            ignoredmediatypes: Vec::new(),
            ignore: IgnoreConfig::default(),
            disabled: false,
            queue_max_events: 10_000,
            queue_max_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IgnoreConfig {
    pub mediatypes: Vec<String>,
    /// Any of push, pull, delete, mount.
    pub actions: Vec<String>,
}

impl NotificationsConfig {
    /// The directory holding one queue directory per endpoint.
    pub fn queue_root(&self, storage_root: Option<&Path>) -> Option<PathBuf> {
        self.queue_dir
            .clone()
            .or_else(|| storage_root.map(|r| r.join("_notifications")))
    }

    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for ep in &self.endpoints {
            let valid_name = !ep.name.is_empty()
                && ep
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !valid_name {
                return Err(format!(
                    "notifications endpoint name {:?}: use letters, digits, '-', '_' or '.'",
                    ep.name
                ));
            }
            if !names.insert(&ep.name) {
                return Err(format!(
                    "notifications endpoint name {:?} is used twice",
                    ep.name
                ));
            }
            let url = url::Url::parse(&ep.url).map_err(|e| {
                format!(
                    "notifications endpoint {:?}: url {:?}: {e}",
                    ep.name, ep.url
                )
            })?;
            if !["http", "https"].contains(&url.scheme()) {
                return Err(format!(
                    "notifications endpoint {:?}: url must be http:// or https://",
                    ep.name
                ));
            }
            for a in &ep.ignore.actions {
                if !["push", "pull", "delete", "mount"].contains(&a.as_str()) {
                    return Err(format!(
                        "notifications endpoint {:?}: ignore.actions {a:?} (use push, pull, delete, mount)",
                        ep.name
                    ));
                }
            }
            if ep.timeout.is_zero() || ep.backoff.is_zero() || ep.queue_max_events == 0 {
                return Err(format!(
                    "notifications endpoint {:?}: timeout, backoff and queue_max_events must be above zero",
                    ep.name
                ));
            }
        }
        Ok(())
    }
}

/// Go's duration strings as distribution's config takes them: a sequence of
/// number+unit (`ns us ms s m h`), e.g. `"1s"`, `"500ms"`, `"1m30s"`.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("duration {s:?}: use e.g. \"500ms\", \"5s\", \"1m\"");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += Duration::from_secs_f64(value * seconds);
    }
    Ok(total)
}

fn go_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_go_duration(&s).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("5 parsecs").is_err());
        assert!(parse_go_duration("").is_err());
    }
}

#[cfg(test)]
mod toml_tests {
    #[test]
    fn distribution_style_endpoints_parse() {
        let config: crate::Config = toml::from_str(
            r#"
            root = "/tmp/r"
            [[notifications.endpoints]]
            name = "ci"
            url = "https://hooks.example/registry"
            headers = { Authorization = ["Bearer t"] }
            timeout = "500ms"
            threshold = 5
            backoff = "1s"
            ignoredmediatypes = ["application/octet-stream"]
            ignore = { actions = ["pull"] }
            "#,
        )
        .unwrap();
        let ep = &config.notifications.endpoints[0];
        assert_eq!(ep.timeout, std::time::Duration::from_millis(500));
        assert_eq!(ep.headers["Authorization"], ["Bearer t"]);
        assert_eq!(ep.ignore.actions, ["pull"]);
        config.validate().unwrap();
        let bad: crate::Config = toml::from_str(
            "root = \"/tmp/r\"\n[[notifications.endpoints]]\nname = \"x\"\nurl = \"ftp://h/\"\n",
        )
        .unwrap();
        assert!(bad.validate().unwrap_err().to_string().contains("http"));
        let no_root: crate::Config =
            toml::from_str("[[notifications.endpoints]]\nname = \"x\"\nurl = \"http://h/\"\n")
                .unwrap();
        assert!(no_root
            .validate()
            .unwrap_err()
            .to_string()
            .contains("queue_dir"));
        assert_eq!(
            config.notifications.queue_root(config.root.as_deref()),
            Some("/tmp/r/_notifications".into())
        );
        assert!(toml::from_str::<crate::Config>(
            "[[notifications.endpoints]]\nname = \"x\"\ntimeout = \"soon\"\n"
        )
        .is_err());
    }
}
