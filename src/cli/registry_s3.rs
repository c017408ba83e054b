//! `--storage-s3-*` flags (env `HOIST_REGISTRY_STORAGE_S3_*`): each overrides
//! the same key of the config's `[storage.s3]`; setting any of them (e.g. just
//! the bucket) switches the registry to the S3 driver.

use clap::Args;
use hoist_registry::driver::S3Config;

#[derive(Args, Debug, Clone, Default)]
pub struct S3Args {
    /// S3 bucket for registry data instead of the filesystem [config: storage.s3.bucket]
    #[arg(long, env = "HOIST_REGISTRY_STORAGE_S3_BUCKET", value_name = "BUCKET")]
    pub storage_s3_bucket: Option<String>,
    /// S3-compatible endpoint URL (MinIO, Ceph RGW, moto) [config: storage.s3.endpoint]
    #[arg(long, env = "HOIST_REGISTRY_STORAGE_S3_ENDPOINT", value_name = "URL")]
    pub storage_s3_endpoint: Option<String>,
    /// Signing region [config: storage.s3.region; default us-east-1]
    #[arg(long, env = "HOIST_REGISTRY_STORAGE_S3_REGION")]
    pub storage_s3_region: Option<String>,
    /// Key prefix inside the bucket [config: storage.s3.prefix]
    #[arg(long, env = "HOIST_REGISTRY_STORAGE_S3_PREFIX")]
    pub storage_s3_prefix: Option<String>,
    /// Path-style addressing (host/bucket/key); implied for IP-address and
    /// localhost endpoints [config: storage.s3.path_style]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_PATH_STYLE",
        value_name = "BOOL"
    )]
    pub storage_s3_path_style: Option<bool>,
    /// Allow a plain-HTTP endpoint [config: storage.s3.allow_http; loopback always allowed]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_ALLOW_HTTP",
        value_name = "BOOL"
    )]
    pub storage_s3_allow_http: Option<bool>,
    /// Access key id; else AWS_ACCESS_KEY_ID or the AWS chain [config: storage.s3.access_key_id]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_ACCESS_KEY_ID",
        value_name = "ID"
    )]
    pub storage_s3_access_key_id: Option<String>,
    /// Secret access key [config: storage.s3.secret_access_key]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_SECRET_ACCESS_KEY",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub storage_s3_secret_access_key: Option<String>,
    /// Session token [config: storage.s3.session_token]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_SESSION_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub storage_s3_session_token: Option<String>,
    /// Redirect blob GETs to presigned URLs [config: storage.s3.redirect]
    #[arg(long, env = "HOIST_REGISTRY_STORAGE_S3_REDIRECT", value_name = "BOOL")]
    pub storage_s3_redirect: Option<bool>,
    /// Presigned URL lifetime [config: storage.s3.redirect_ttl_seconds]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_REDIRECT_TTL_SECONDS",
        value_name = "SECONDS"
    )]
    pub storage_s3_redirect_ttl_seconds: Option<u64>,
    /// Per-request timeout [config: storage.s3.request_timeout_seconds]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_REQUEST_TIMEOUT_SECONDS",
        value_name = "SECONDS"
    )]
    pub storage_s3_request_timeout_seconds: Option<u64>,
    /// Connect timeout [config: storage.s3.connect_timeout_seconds]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_CONNECT_TIMEOUT_SECONDS",
        value_name = "SECONDS"
    )]
    pub storage_s3_connect_timeout_seconds: Option<u64>,
    /// Retries per request [config: storage.s3.max_retries]
    #[arg(long, env = "HOIST_REGISTRY_STORAGE_S3_MAX_RETRIES", value_name = "N")]
    pub storage_s3_max_retries: Option<usize>,
    /// Time budget for retrying one request [config: storage.s3.retry_timeout_seconds]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_RETRY_TIMEOUT_SECONDS",
        value_name = "SECONDS"
    )]
    pub storage_s3_retry_timeout_seconds: Option<u64>,
    /// Multipart part size, at least 5 MiB [config: storage.s3.part_size_bytes]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_PART_SIZE_BYTES",
        value_name = "BYTES"
    )]
    pub storage_s3_part_size_bytes: Option<usize>,
    /// Parts in flight per upload [config: storage.s3.part_concurrency]
    #[arg(
        long,
        env = "HOIST_REGISTRY_STORAGE_S3_PART_CONCURRENCY",
        value_name = "N"
    )]
    pub storage_s3_part_concurrency: Option<usize>,
}

impl S3Args {
    /// Applies the flags over the file's `[storage.s3]` (creating it when any
    /// flag is given).
    pub fn apply(&self, s3: &mut Option<S3Config>) {
        let any = self.storage_s3_bucket.is_some()
            || self.storage_s3_endpoint.is_some()
            || self.storage_s3_region.is_some()
            || self.storage_s3_prefix.is_some()
            || self.storage_s3_path_style.is_some()
            || self.storage_s3_access_key_id.is_some();
        if s3.is_none() && !any {
            return;
        }
        let c = s3.get_or_insert_with(S3Config::default);
        macro_rules! set {
            ($field:ident, $flag:ident) => {
                if let Some(v) = &self.$flag {
                    c.$field = v.clone();
                }
            };
            (opt $field:ident, $flag:ident) => {
                if let Some(v) = &self.$flag {
                    c.$field = Some(v.clone());
                }
            };
        }
        set!(bucket, storage_s3_bucket);
        set!(opt endpoint, storage_s3_endpoint);
        set!(region, storage_s3_region);
        set!(prefix, storage_s3_prefix);
        set!(path_style, storage_s3_path_style);
        set!(allow_http, storage_s3_allow_http);
        set!(opt access_key_id, storage_s3_access_key_id);
        set!(opt secret_access_key, storage_s3_secret_access_key);
        set!(opt session_token, storage_s3_session_token);
        set!(redirect, storage_s3_redirect);
        set!(redirect_ttl_seconds, storage_s3_redirect_ttl_seconds);
        set!(request_timeout_seconds, storage_s3_request_timeout_seconds);
        set!(connect_timeout_seconds, storage_s3_connect_timeout_seconds);
        set!(max_retries, storage_s3_max_retries);
        set!(retry_timeout_seconds, storage_s3_retry_timeout_seconds);
        set!(part_size_bytes, storage_s3_part_size_bytes);
        set!(part_concurrency, storage_s3_part_concurrency);
    }
}
