//! `[[retention.policies]]`: which repositories a policy covers and what it
//! keeps. Repository patterns are the globs `[[auth.access]]` uses (`*`
//! within one path segment, `**` across segments); tag patterns are globs
//! too (`*` any run of characters, `?` one character), not regexes, so one
//! syntax covers the whole file.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Checked in order; a repository follows the first policy that names it
    /// and is left alone when none does.
    pub policies: Vec<RetentionPolicy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Repository name globs (`team/*`, `apps/**`, `**`).
    pub repositories: Vec<String>,
    /// Keep the N most recently pushed tags (by the tag link's mtime).
    #[serde(default)]
    pub keep_last: Option<usize>,
    /// Keep every tag matching one of these globs (`v*`, `release-?.*`).
    #[serde(default)]
    pub keep_tags: Vec<String>,
    /// Delete manifests no remaining tag reaches once their revision link
    /// is older than this ("168h", "7d").
    #[serde(default, deserialize_with = "opt_duration")]
    pub untagged_older_than: Option<Duration>,
}

impl RetentionPolicy {
    /// Whether the policy deletes tags at all: a policy with neither
    /// `keep_last` nor `keep_tags` only prunes untagged manifests.
    pub fn prunes_tags(&self) -> bool {
        self.keep_last.is_some() || !self.keep_tags.is_empty()
    }

    pub fn covers(&self, repo: &str) -> bool {
        self.repositories
            .iter()
            .any(|p| crate::auth::policy::glob_match(p, repo))
    }

    pub fn keeps_by_name(&self, tag: &str) -> bool {
        self.keep_tags.iter().any(|p| tag_glob(p, tag))
    }
}

impl RetentionConfig {
    /// The policy for `repo`: the first that covers it.
    pub fn policy_for(&self, repo: &str) -> Option<&RetentionPolicy> {
        self.policies.iter().find(|p| p.covers(repo))
    }

    pub fn validate(&self) -> Result<(), String> {
        for (i, p) in self.policies.iter().enumerate() {
            if p.repositories.is_empty() {
                return Err(format!(
                    "retention.policies[{i}] needs repositories (e.g. [\"team/**\"])"
                ));
            }
            if !p.prunes_tags() && p.untagged_older_than.is_none() {
                return Err(format!(
                    "retention.policies[{i}] deletes nothing: set keep_last, keep_tags or \
                     untagged_older_than"
                ));
            }
        }
        Ok(())
    }
}

/// `*` matches any run of characters, `?` exactly one; the rest itself.
pub fn tag_glob(pattern: &str, tag: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some(b'?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(pattern.as_bytes(), tag.as_bytes())
}

/// Durations as Go writes them ("90s", "1h30m") plus whole days ("7d").
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Some(days) = t.strip_suffix('d') {
        if let Ok(n) = days.parse::<u64>() {
            return Ok(Duration::from_secs(n * 86_400));
        }
    }
    crate::notify::config::parse_go_duration(t)
        .map_err(|_| format!("duration {s:?}: use e.g. \"30s\", \"15m\", \"1h\", \"7d\""))
}

pub fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_globs() {
        assert!(tag_glob("v*", "v1.2"));
        assert!(tag_glob("release-?", "release-3"));
        assert!(!tag_glob("release-?", "release-10"));
        assert!(!tag_glob("v*", "latest"));
        assert!(tag_glob("latest", "latest"));
    }

    #[test]
    fn durations_with_days() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").unwrap_err().contains("soon"));
    }

    #[test]
    fn first_covering_policy_wins_and_empty_policies_are_refused() {
        let c: RetentionConfig = toml::from_str(
            r#"
            [[policies]]
            repositories = ["team/special"]
            keep_tags = ["v*"]
            [[policies]]
            repositories = ["team/*"]
            keep_last = 3
            untagged_older_than = "2d"
            "#,
        )
        .unwrap();
        assert!(c.validate().is_ok());
        assert_eq!(c.policy_for("team/special").unwrap().keep_last, None);
        assert_eq!(c.policy_for("team/app").unwrap().keep_last, Some(3));
        assert!(c.policy_for("team/app/deep").is_none());
        assert!(c.policy_for("other").is_none());
        let empty: RetentionConfig =
            toml::from_str("[[policies]]\nrepositories = [\"a\"]\n").unwrap();
        assert!(empty.validate().unwrap_err().contains("deletes nothing"));
    }
}
