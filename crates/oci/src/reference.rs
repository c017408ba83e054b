//! Image references, parsed and normalized the way docker does:
//! `busybox` means `docker.io/library/busybox:latest`; a first component
//! with a `.` or `:` (or `localhost`) is a registry host.

use crate::{Digest, OciError};
use std::fmt;
use std::str::FromStr;

/// The registry a reference without a host points at.
pub const DEFAULT_REGISTRY: &str = "docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A parsed image reference: `[registry[:port]/]repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalizes `input`. With neither tag nor digest, the tag is `latest`.
    pub fn parse(input: &str) -> Result<Reference, OciError> {
        let bad = |reason: &str| OciError::InvalidReference {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(bad("empty reference"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => (
                r,
                Some(d.parse::<Digest>().map_err(|e| bad(&e.to_string()))?),
            ),
            None => (input, None),
        };
        // A tag follows the last ':' that comes after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            validate_tag(t).map_err(|reason| bad(&reason))?;
        }
        let (registry, repository) = split_registry(name);
        validate_registry(registry).map_err(|r| bad(&r))?;
        let mut repository = repository.to_string();
        let registry = if registry == "index.docker.io" || registry.is_empty() {
            DEFAULT_REGISTRY.to_string()
        } else {
            registry.to_string()
        };
        if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        validate_repository_name(&repository).map_err(|r| bad(&r))?;
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(bad("name longer than 255 characters"));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some("latest".to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// Builds a reference from parts (the registry and repository already validated by the caller).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, OciError> {
        validate_tag(tag).map_err(|reason| OciError::InvalidReference {
            input: tag.to_string(),
            reason,
        })?;
        Ok(Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// The same repository pinned to `digest` (no tag).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }
    pub fn repository(&self) -> &str {
        &self.repository
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }
    /// What to ask a registry for: the digest when pinned, else the tag.
    pub fn tag_or_digest(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }
    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
    /// The short form docker prints: `busybox:latest`, `example.com/a/b:1`.
    pub fn familiar(&self) -> String {
        let mut s = if self.registry == DEFAULT_REGISTRY {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            self.name()
        };
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        s
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = OciError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Splits `name` into (registry, repository) by docker's rule.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => ("", name),
    }
}

fn validate_registry(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Ok(());
    }
    let (h, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || host.starts_with('[') => (h, Some(p)),
        _ => (host, None),
    };
    if let Some(p) = port {
        if p.parse::<u16>().is_err() {
            return Err(format!(
                "registry port {p:?} is not a number from 0 to 65535"
            ));
        }
    }
    let ok = !h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "registry host {h:?} has characters a host name cannot have"
        ))
    }
}

/// Checks a repository path (`library/busybox`) against the distribution grammar:
/// lowercase components of `[a-z0-9]` joined by `.`, `_`, `__` or dashes, separated by `/`.
pub fn validate_repository_name(repo: &str) -> Result<(), String> {
    if repo.is_empty() {
        return Err("empty repository name".into());
    }
    if repo.len() > MAX_NAME_LEN {
        return Err("repository name longer than 255 characters".into());
    }
    for component in repo.split('/') {
        validate_component(component)?;
    }
    Ok(())
}

fn validate_component(c: &str) -> Result<(), String> {
    let explain = |why: &str| {
        Err(format!(
            "repository component {c:?} {why} (use lowercase letters, digits, and . _ __ - between them)"
        ))
    };
    if c.is_empty() {
        return explain("is empty");
    }
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return explain("must start and end with a lowercase letter or digit");
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__", or one or more "-".
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return explain(&format!("has the invalid separator {sep:?}"));
        }
    }
    Ok(())
}

/// Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), String> {
    let valid_first = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let valid = |c: char| valid_first(c) || c == '.' || c == '-';
    let mut chars = tag.chars();
    match chars.next() {
        None => return Err("empty tag".into()),
        Some(c) if !valid_first(c) => {
            return Err(format!("tag {tag:?} must start with a letter, digit or _"))
        }
        _ => {}
    }
    if !chars.all(valid) {
        return Err(format!("tag {tag:?} may only hold letters, digits, _ . -"));
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(format!("tag {tag:?} is longer than 128 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            full("index.docker.io/user/app"),
            "docker.io/user/app:latest"
        );
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("127.0.0.1:5000/a/b/c:v1"), "127.0.0.1:5000/a/b/c:v1");
        assert_eq!(full("localhost:5000/app:v2"), "localhost:5000/app:v2");
    }

    #[test]
    fn digests_and_tags_together() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r = Reference::parse(&format!("host:5000/a/b:tag@{d}")).unwrap();
        assert_eq!(r.registry(), "host:5000");
        assert_eq!(r.repository(), "a/b");
        assert_eq!(r.tag(), Some("tag"));
        assert_eq!(r.digest().unwrap().to_string(), d);
        assert_eq!(r.tag_or_digest(), d);
        let pinned = Reference::parse(&format!("busybox@{d}")).unwrap();
        assert_eq!(pinned.tag(), None);
        assert_eq!(pinned.familiar(), format!("busybox@{d}"));
    }

    #[test]
    fn familiar_form() {
        assert_eq!(
            Reference::parse("busybox").unwrap().familiar(),
            "busybox:latest"
        );
        assert_eq!(
            Reference::parse("127.0.0.1:5000/x").unwrap().familiar(),
            "127.0.0.1:5000/x:latest"
        );
    }

    #[test]
    fn rejects_invalid_references_with_reasons() {
        for bad in [
            "",
            "UPPER",
            "a/../b",
            "a//b",
            "-a",
            "a-",
            "a:",
            "a:-tag",
            "a:tag with space",
            "a@sha256:123",
            "host:notaport/a",
            "a/b:t@md5:abc",
        ] {
            let err = Reference::parse(bad);
            assert!(err.is_err(), "{bad:?} was accepted as {:?}", err);
        }
        let long_tag = format!("a:{}", "t".repeat(129));
        assert!(Reference::parse(&long_tag).is_err());
        let long_name = "a/".repeat(130) + "a";
        assert!(Reference::parse(&long_name).is_err());
    }

    #[test]
    fn repository_grammar() {
        for ok in [
            "a",
            "a.b",
            "a_b",
            "a__b",
            "a---b",
            "library/busybox",
            "a0/b1/c2",
        ] {
            assert!(validate_repository_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "A", "a..b", "a___b", "a._b", "/a", "a/", "..", "a/../b", "a b",
        ] {
            assert!(validate_repository_name(bad).is_err(), "{bad}");
        }
    }
}
