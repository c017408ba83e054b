//! `[storage.s3]`: where the S3-compatible bucket is and how to talk to it.
//! Every key can also come from a `HOIST_REGISTRY_STORAGE_S3_*` flag/env (the
//! CLI applies them); credentials left unset come from the usual AWS chain
//! (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, web
//! identity, ECS or instance metadata), as object_store resolves it.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Endpoint URL for S3-compatible servers (MinIO, Ceph RGW, moto);
    /// unset means AWS itself.
    pub endpoint: Option<String>,
    /// The bucket (it must exist).
    pub bucket: String,
    /// Region used for request signing.
    pub region: String,
    /// Key prefix inside the bucket, so several registries can share one.
    pub prefix: String,
    /// `http://host/bucket/key` addressing instead of `http://bucket.host/key`
    /// (MinIO, Ceph RGW and moto usually want this). Implied when the
    /// endpoint is an IP address or `localhost`, which have no subdomains
    /// to put a bucket in (AWS SDKs decide the same way).
    pub path_style: bool,
    /// Allow a plain-HTTP endpoint. Always allowed for loopback endpoints.
    pub allow_http: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Answer blob GETs with 307 to a presigned URL, so bytes skip the registry.
    pub redirect: bool,
    /// Lifetime of presigned redirect URLs.
    pub redirect_ttl_seconds: u64,
    /// Give up on one request to the store after this long (a whole GET or
    /// part upload, so keep it well above a part's transfer time).
    pub request_timeout_seconds: u64,
    /// Give up connecting to the store after this long.
    pub connect_timeout_seconds: u64,
    /// Retries of a failed request (with backoff) before the client gets 503.
    pub max_retries: usize,
    /// Give up retrying one request after this long.
    pub retry_timeout_seconds: u64,
    /// Size of each multipart part when streaming a large object (S3 needs
    /// at least 5 MiB for every part but the last). Memory per upload is about
    /// `part_size_bytes * (part_concurrency + 1)`.
    pub part_size_bytes: usize,
    /// Parts of one object in flight at once.
    pub part_concurrency: usize,
}

/// S3's smallest part (all parts but the last).
pub use crate::driver::MIN_PART_SIZE;

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint: None,
            bucket: String::new(),
            region: "us-east-1".into(),
            prefix: String::new(),
            path_style: false,
            allow_http: false,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            redirect: false,
            redirect_ttl_seconds: 300,
            request_timeout_seconds: 300,
            connect_timeout_seconds: 5,
            max_retries: 3,
            retry_timeout_seconds: 15,
            part_size_bytes: 8 * 1024 * 1024,
            part_concurrency: 2,
        }
    }
}

impl S3Config {
    /// Checks what object_store would only find out at the first request.
    pub fn validate(&self) -> Result<(), String> {
        if self.bucket.is_empty() {
            return Err("storage.s3.bucket is empty (name an existing bucket)".into());
        }
        if self.part_size_bytes < MIN_PART_SIZE {
            return Err(format!(
                "storage.s3.part_size_bytes {} is below S3's 5 MiB minimum part size",
                self.part_size_bytes
            ));
        }
        if self.part_concurrency == 0 {
            return Err("storage.s3.part_concurrency must be at least 1".into());
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(
                "storage.s3.access_key_id and storage.s3.secret_access_key must be set together"
                    .into(),
            );
        }
        if let Some(endpoint) = &self.endpoint {
            let url = url::Url::parse(endpoint)
                .map_err(|e| format!("storage.s3.endpoint {endpoint:?}: {e}"))?;
            if url.scheme() == "http" && !self.allow_http && !is_loopback(&url) {
                return Err(format!(
                    "storage.s3.endpoint {endpoint:?} is plain HTTP; use https or set \
                     storage.s3.allow_http = true"
                ));
            }
        }
        Ok(())
    }

    /// Whether plain HTTP is allowed: explicitly, or for a loopback endpoint.
    pub fn http_allowed(&self) -> bool {
        self.allow_http
            || self
                .endpoint
                .as_deref()
                .and_then(|e| url::Url::parse(e).ok())
                .is_some_and(|u| is_loopback(&u))
    }
}

impl S3Config {
    /// Whether requests use path-style addressing: asked for, or implied by
    /// an endpoint that is an IP address or `localhost`.
    pub fn uses_path_style(&self) -> bool {
        self.path_style
            || self
                .endpoint
                .as_deref()
                .and_then(|e| url::Url::parse(e).ok())
                .is_some_and(|u| match u.host() {
                    Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    None => false,
                })
    }

    /// The endpoint as error messages name it.
    pub fn endpoint_display(&self) -> String {
        match &self.endpoint {
            Some(e) => e.clone(),
            None => format!("AWS S3 (region {})", self.region),
        }
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}
