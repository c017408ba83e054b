//! `hoist registry serve|gc|retention|scrub`: run and maintain hoist's OCI registry server.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Serve an OCI Distribution registry, or collect its garbage
    Registry {
        #[command(subcommand)]
        command: RegistryAction,
    },
}

// Parsed once per process; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum RegistryAction {
    /// Serve an OCI Distribution Spec v1.1 registry over HTTP(S)
    Serve(ServeArgs),
    /// Remove blobs (and deleted manifests' leftovers) that nothing references
    Gc(GcArgs),
    /// Apply the config's [[retention.policies]] (delete old tags and untagged
    /// manifests), then collect the blobs they freed
    Retention(RetentionArgs),
    /// Re-hash stored blobs and manifests; report (and quarantine) corrupt ones
    Scrub(ScrubArgs),
}

#[derive(Args, Debug)]
pub struct RetentionArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// List the tags, manifests and blobs the policies would delete; delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Keep blobs younger than this many seconds [config: gc.grace_seconds; default 600]
    #[arg(long, value_name = "SECONDS")]
    pub grace_seconds: Option<u64>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ScrubArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Move corrupt blobs under _quarantine/ in the store (never deleted), so
    /// the registry answers BLOB_UNKNOWN for them until they are pushed again
    #[arg(long)]
    pub quarantine: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// Settings shared by `serve` and `gc`. Each overrides the same key of the
/// config file; unset ones keep the file's value (or the default).
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// TOML config file (see examples/registry/config.toml)
    #[arg(long, env = "HOIST_REGISTRY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the registry keeps its data [config: root; default: <hoist root>/registry]
    #[arg(long, env = "HOIST_REGISTRY_ROOT", value_name = "DIR")]
    pub storage_root: Option<PathBuf>,
    #[command(flatten)]
    pub s3: Box<super::registry_s3::S3Args>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Address to listen on, IP:PORT or :PORT for every interface [config: addr; default: 127.0.0.1:5000]
    #[arg(long, env = "HOIST_REGISTRY_ADDR")]
    pub addr: Option<String>,
    /// Threads serving connections, each with its own event loop; 0 = one per CPU [config: workers; default 0]
    #[arg(long, env = "HOIST_REGISTRY_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// Allow DELETE of manifests, tags and blobs [config: delete_enabled]
    #[arg(long, env = "HOIST_REGISTRY_DELETE_ENABLED", value_name = "BOOL")]
    pub delete_enabled: Option<bool>,
    /// Largest manifest accepted [config: max_manifest_bytes; default 4 MiB]
    #[arg(long, env = "HOIST_REGISTRY_MAX_MANIFEST_BYTES", value_name = "BYTES")]
    pub max_manifest_bytes: Option<u64>,
    /// Largest blob accepted [config: max_upload_bytes; default 64 GiB]
    #[arg(long, env = "HOIST_REGISTRY_MAX_UPLOAD_BYTES", value_name = "BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// PEM certificate chain; serves HTTPS with --tls-key [config: tls.cert]
    #[arg(long, env = "HOIST_REGISTRY_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key [config: tls.key]
    #[arg(long, env = "HOIST_REGISTRY_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// none, htpasswd or token [config: auth.mode]
    #[arg(long, env = "HOIST_REGISTRY_AUTH_MODE", value_name = "MODE")]
    pub auth_mode: Option<String>,
    /// bcrypt htpasswd file [config: auth.htpasswd]
    #[arg(long, env = "HOIST_REGISTRY_HTPASSWD", value_name = "FILE")]
    pub htpasswd: Option<PathBuf>,
    /// Let anyone pull without credentials [config: auth.anonymous_pull]
    #[arg(long, env = "HOIST_REGISTRY_ANONYMOUS_PULL", value_name = "BOOL")]
    pub anonymous_pull: Option<bool>,
    /// Token endpoint URL advertised to clients [config: auth.realm]
    #[arg(long, env = "HOIST_REGISTRY_REALM", value_name = "URL")]
    pub realm: Option<String>,
    /// Token service name (audience) [config: auth.service]
    #[arg(long, env = "HOIST_REGISTRY_SERVICE")]
    pub service: Option<String>,
    /// Token lifetime in seconds [config: auth.token_ttl_seconds]
    #[arg(long, env = "HOIST_REGISTRY_TOKEN_TTL_SECONDS", value_name = "SECONDS")]
    pub token_ttl_seconds: Option<u64>,
    /// File with the token signing key, shared by replicas [config: auth.token_secret_file]
    #[arg(long, env = "HOIST_REGISTRY_TOKEN_SECRET_FILE", value_name = "FILE")]
    pub token_secret_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Report what would be removed without removing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove manifests no tag reaches [config: gc.delete_untagged]
    #[arg(long, env = "HOIST_REGISTRY_GC_DELETE_UNTAGGED", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub delete_untagged: Option<bool>,
    /// Keep anything younger than this many seconds [config: gc.grace_seconds; default 600]
    #[arg(long, env = "HOIST_REGISTRY_GC_GRACE_SECONDS", value_name = "SECONDS")]
    pub grace_seconds: Option<u64>,
    /// Abandon upload sessions idle this long [config: gc.upload_max_age_seconds]
    #[arg(
        long,
        env = "HOIST_REGISTRY_GC_UPLOAD_MAX_AGE_SECONDS",
        value_name = "SECONDS"
    )]
    pub upload_max_age_seconds: Option<u64>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}
