//! The client's one error type. Every variant that comes from talking to a
//! registry names the registry, the repository and the step that failed, so
//! the CLI's single error line tells the user where to look and what to do.

use std::fmt;

/// Where a registry operation was when it failed: `registry/repository: step`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub registry: String,
    pub repository: String,
    pub step: String,
}

impl Site {
    pub fn new(registry: &str, repository: &str, step: impl Into<String>) -> Self {
        Site {
            registry: registry.to_string(),
            repository: repository.to_string(),
            step: step.into(),
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.repository.is_empty() {
            write!(f, "{}: {}", self.registry, self.step)
        } else {
            write!(f, "{}/{}: {}", self.registry, self.repository, self.step)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{site}: cannot reach the registry: {detail}")]
    Unreachable { site: Site, detail: String },

    #[error("{site}: TLS failed: {detail}; {hint}")]
    Tls {
        site: Site,
        detail: String,
        hint: &'static str,
    },

    #[error("{site}: unauthorized (realm \"{realm}\"): {detail}; run `hoist login {}` with valid credentials", site.registry)]
    Unauthorized {
        site: Site,
        realm: String,
        detail: String,
    },

    #[error("{site}: access denied: {detail}")]
    Denied { site: Site, detail: String },

    #[error("{site}: {what} not found: {detail}")]
    NotFound {
        site: Site,
        what: String,
        detail: String,
    },

    #[error("{site}: digest mismatch: expected {expected}, received content hashes to {actual}; the registry sent corrupt data, nothing was stored")]
    DigestMismatch {
        site: Site,
        expected: String,
        actual: String,
    },

    /// A layer failed the checks `hoist import` applies (escaping names,
    /// links through symlinks, size and entry limits): the pull stored
    /// nothing of the image.
    #[error("{site}: layer refused: {detail}; nothing of the image was stored")]
    LayerRefused { site: Site, detail: String },

    /// A limit configured in the environment does not parse.
    #[error("{0}")]
    Limits(String),

    #[error("{site}: registry answered HTTP {status}: {detail}")]
    Status {
        site: Site,
        status: u16,
        detail: String,
    },

    #[error("{site}: unexpected answer from the registry: {detail}")]
    Protocol { site: Site, detail: String },

    #[error("no image for platform {wanted} in {reference} (it has: {available}); choose one with --platform")]
    NoPlatform {
        reference: String,
        wanted: String,
        available: String,
    },

    #[error("credentials file {path}: {detail}")]
    Credentials { path: String, detail: String },

    /// registries.conf or daemon.json (mirrors) does not parse.
    #[error("mirror configuration {path}: {detail}")]
    MirrorConfig { path: String, detail: String },

    #[error("certificates in {path}: {detail}")]
    Certificates { path: String, detail: String },

    #[error("local image {name}: {detail}")]
    LocalImage { name: String, detail: String },

    #[error("local store: {0}")]
    Store(String),

    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl ClientError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ClientError::Io {
            what: what.into(),
            source,
        }
    }

    pub fn store(err: impl fmt::Display) -> Self {
        ClientError::Store(err.to_string())
    }

    pub fn protocol(site: &Site, detail: impl Into<String>) -> Self {
        ClientError::Protocol {
            site: site.clone(),
            detail: detail.into(),
        }
    }

    /// Whether trying the same request again might succeed (a dropped
    /// connection or a registry that is briefly overloaded).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } => true,
            ClientError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
