//! The server's configuration: a TOML file (see examples/registry/config.toml)
//! whose scalar keys the CLI can override by flag or `HOIST_REGISTRY_*` env.
//! Unknown keys are refused, so a typo is an error rather than a silent default.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on: `IP:PORT`, or `:PORT` for every interface.
    pub addr: String,
    /// Storage root for the filesystem driver.
    pub root: Option<PathBuf>,
    /// Threads that accept and serve connections, each with its own event
    /// loop (workers.rs); 0 (the default) means one per CPU.
    pub workers: usize,
    /// Whether DELETE of manifests, tags and blobs is allowed (else 405).
    pub delete_enabled: bool,
    /// Largest manifest accepted on PUT.
    pub max_manifest_bytes: u64,
    /// Largest blob accepted by upload.
    pub max_upload_bytes: u64,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub gc: GcConfig,
    /// Which tags and untagged manifests go (`[[retention.policies]]`, retention/).
    pub retention: crate::retention::config::RetentionConfig,
    /// Where blobs live: files under `root` (default) or `[storage.s3]`.
    pub storage: StorageConfig,
    /// Timeouts and counts a client may not exceed (`[limits]`, limits/).
    pub limits: crate::limits::LimitsConfig,
    /// Pull-through cache of other registries (`[proxy]`, proxy/).
    pub proxy: Option<crate::proxy::ProxyConfig>,
    /// Webhooks in distribution's envelope (`[[notifications.endpoints]]`, notify/).
    pub notifications: crate::notify::NotificationsConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// An S3-compatible bucket instead of the filesystem (driver/s3).
    pub s3: Option<crate::driver::S3Config>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: "127.0.0.1:5000".into(),
            root: None,
            workers: 0,
            delete_enabled: true,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_upload_bytes: 64 * 1024 * 1024 * 1024,
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            gc: GcConfig::default(),
            retention: Default::default(),
            storage: StorageConfig::default(),
            limits: Default::default(),
            proxy: None,
            notifications: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain; TLS is on when both cert and key are set.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Anyone may do anything (keep the server on loopback).
    #[default]
    None,
    /// HTTP basic auth against an htpasswd file (bcrypt entries).
    Htpasswd,
    /// Docker's bearer token flow with this server's own token endpoint.
    Token,
}

impl std::str::FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(AuthMode::None),
            "htpasswd" => Ok(AuthMode::Htpasswd),
            "token" => Ok(AuthMode::Token),
            other => Err(format!(
                "unknown auth mode {other:?} (none, htpasswd or token)"
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// htpasswd file (bcrypt `user:$2y$...` lines); used by both modes.
    pub htpasswd: Option<PathBuf>,
    /// Let unauthenticated clients pull every repository.
    pub anonymous_pull: bool,
    /// Token endpoint URL given to clients; default `<scheme>://<Host>/token`.
    pub realm: Option<String>,
    /// The `service` (token audience) clients ask tokens for.
    pub service: String,
    /// Lifetime of issued tokens, in seconds.
    pub token_ttl_seconds: u64,
    /// File holding the HMAC key that signs tokens (shared by replicas);
    /// without one a random key is made at start.
    pub token_secret_file: Option<PathBuf>,
    /// Named groups of users, usable in `access` as `group:NAME`.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Who may do what where. With no rules, every authenticated user may do
    /// everything.
    pub access: Vec<AccessRule>,
    /// An external token server whose RS256/ES256 tokens are accepted
    /// (`[auth.token]`, distribution's names; auth/external.rs).
    pub token: Option<TokenServerConfig>,
}

/// `[auth.token]`: where clients get tokens and how to trust them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenServerConfig {
    /// The token server's URL, advertised in `WWW-Authenticate`.
    pub realm: String,
    /// The audience tokens must name; default `auth.service`.
    pub service: Option<String>,
    /// The `iss` tokens must carry.
    pub issuer: String,
    /// PEM certificates whose keys sign tokens (by `kid`) or that anchor
    /// the token's `x5c` chain.
    pub rootcertbundle: Option<PathBuf>,
    /// A JWKS URL; fetched when a token names an unknown `kid`.
    pub jwks: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::None,
            htpasswd: None,
            anonymous_pull: false,
            realm: None,
            service: "hoist-registry".into(),
            token_ttl_seconds: 300,
            token_secret_file: None,
            groups: BTreeMap::new(),
            access: Vec::new(),
            token: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// User names, `group:NAME`, or `*` for any authenticated user.
    pub subjects: Vec<String>,
    /// Repository name patterns: `*` matches within one path segment, `**`
    /// across segments (`team/**`, `**`).
    pub repositories: Vec<String>,
    /// Any of pull, push, delete.
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GcConfig {
    /// Also remove manifests no tag or index reaches.
    pub delete_untagged: bool,
    /// Upload sessions idle longer than this are removed by GC.
    pub upload_max_age_seconds: u64,
    /// Blobs and manifests younger than the GC's start minus this are kept,
    /// so pushes in flight (layers up, manifest not yet) are never broken.
    pub grace_seconds: u64,
    /// Run retention and GC inside the server this often ("30m", "1h", "1d");
    /// off when unset (then only `hoist registry gc` collects).
    #[serde(deserialize_with = "crate::retention::config::opt_duration")]
    pub interval: Option<std::time::Duration>,
    /// Scheduled runs only report (log and metrics) what they would delete.
    pub dry_run: bool,
    /// A collector holds the storage's GC lease this long unless it renews
    /// it; another replica takes over a lease older than this.
    pub lease_seconds: u64,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig {
            delete_untagged: false,
            upload_max_age_seconds: 24 * 3600,
            grace_seconds: 600,
            interval: None,
            dry_run: false,
            lease_seconds: 600,
        }
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads a TOML file (the defaults when `path` is None).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().replace('\n', " "),
        })?;
        // Relative paths in the file are relative to the file.
        let base = path.parent().unwrap_or(Path::new("."));
        let proxy_files = config.proxy.iter_mut().flat_map(|p| p.files_mut());
        let bundle = config
            .auth
            .token
            .iter_mut()
            .flat_map(|t| t.rootcertbundle.as_mut());
        for p in [
            &mut config.root,
            &mut config.tls.cert,
            &mut config.tls.key,
            &mut config.auth.htpasswd,
            &mut config.auth.token_secret_file,
            &mut config.notifications.queue_dir,
        ]
        .into_iter()
        .flatten()
        .chain(proxy_files)
        .chain(bundle)
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    /// The socket address `addr` names.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        if let Some(port) = self.addr.strip_prefix(':') {
            let port: u16 = port
                .parse()
                .map_err(|_| ConfigError::Invalid(format!("addr {:?}: bad port", self.addr)))?;
            return Ok(SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)));
        }
        self.addr.parse().map_err(|_| {
            ConfigError::Invalid(format!("addr {:?} is not IP:PORT or :PORT", self.addr))
        })
    }

    /// Checks combinations that each key alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.limits.validate().map_err(ConfigError::Invalid)?;
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err(ConfigError::Invalid(
                "tls.cert and tls.key must be set together".into(),
            ));
        }
        if let Some(t) = &self.auth.token {
            if self.auth.mode != AuthMode::Token {
                return Err(ConfigError::Invalid(
                    "[auth.token] needs auth.mode = \"token\"".into(),
                ));
            }
            if t.realm.is_empty() || t.issuer.is_empty() {
                return Err(ConfigError::Invalid(
                    "[auth.token] needs realm (the token server's URL) and issuer".into(),
                ));
            }
            if t.rootcertbundle.is_none() && t.jwks.is_none() {
                return Err(ConfigError::Invalid(
                    "[auth.token] needs rootcertbundle (PEM certificates) or jwks (a URL)".into(),
                ));
            }
        }
        let external_tokens = self.auth.token.is_some();
        if self.auth.mode != AuthMode::None && self.auth.htpasswd.is_none() && !external_tokens {
            return Err(ConfigError::Invalid(
                "auth.mode needs auth.htpasswd (a bcrypt htpasswd file: htpasswd -B -c FILE USER)"
                    .into(),
            ));
        }
        for rule in &self.auth.access {
            for action in &rule.actions {
                if !["pull", "push", "delete", "*"].contains(&action.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "auth.access action {action:?} (use pull, push, delete)"
                    )));
                }
            }
        }
        if let Some(proxy) = &self.proxy {
            proxy.validate().map_err(ConfigError::Invalid)?;
        }
        self.notifications
            .validate()
            .map_err(ConfigError::Invalid)?;
        let queue_root = self.notifications.queue_root(self.root.as_deref());
        if !self.notifications.endpoints.is_empty() && queue_root.is_none() {
            return Err(ConfigError::Invalid(
                "notifications queue their events on disk: set notifications.queue_dir or root"
                    .into(),
            ));
        }
        self.retention.validate().map_err(ConfigError::Invalid)?;
        if self.gc.interval.is_some_and(|i| i.is_zero()) {
            return Err(ConfigError::Invalid(
                "gc.interval must be longer than zero (or unset to not collect in the server)"
                    .into(),
            ));
        }
        if self.gc.lease_seconds == 0 {
            return Err(ConfigError::Invalid(
                "gc.lease_seconds must be at least 1".into(),
            ));
        }
        if let Some(s3) = &self.storage.s3 {
            s3.validate().map_err(ConfigError::Invalid)?;
        } else if self.root.is_none() {
            return Err(ConfigError::Invalid(
                "no storage root (set root or --root)".into(),
            ));
        }
        Ok(())
    }
}
