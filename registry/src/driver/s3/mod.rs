//! The S3 driver: keys become objects under `<prefix>/` in one bucket of an
//! S3-compatible store (AWS, MinIO, Ceph RGW, moto), through the
//! `object_store` crate. S3 itself gives what the `Driver` contract asks:
//! a PUT (or a completed multipart upload) appears whole or not at all, and
//! listings are strongly consistent, so any number of replicas can share it.
//!
//! Large objects stream up as multipart uploads of `part_size_bytes` parts
//! with at most `part_concurrency` in flight, so memory per upload is bounded
//! whatever the blob's size; a failed stream aborts its multipart upload.
//! Every failure other than "no such key" is `DriverError::Unavailable`
//! (the API answers 503), after object_store's bounded retries and timeouts.

mod config;

pub use config::{S3Config, MIN_PART_SIZE};

use super::{ByteStream, Driver, DriverError, DriverResult, Meta};
use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::buffered::BufWriter;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, PutMode, PutOptions,
    RetryConfig,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Objects deleted per DeleteObjects request when removing a prefix.
const DELETE_BATCH: usize = 8;

pub struct S3Driver {
    store: Arc<AmazonS3>,
    /// For the startup check's messages.
    bucket: String,
    endpoint: String,
    prefix: String,
    part_size: usize,
    part_concurrency: usize,
    redirect_ttl: Option<Duration>,
}

impl S3Driver {
    /// A driver for `config` (nothing is contacted until the first request).
    pub fn new(config: &S3Config) -> DriverResult<Self> {
        config
            .validate()
            .map_err(|m| unavailable(&config.bucket, m))?;
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_virtual_hosted_style_request(!config.uses_path_style())
            .with_allow_http(config.http_allowed())
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(Duration::from_secs(config.request_timeout_seconds))
                    .with_connect_timeout(Duration::from_secs(config.connect_timeout_seconds))
                    .with_allow_http(config.http_allowed()),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: config.max_retries,
                retry_timeout: Duration::from_secs(config.retry_timeout_seconds),
            });
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        if let Some(token) = &config.session_token {
            builder = builder.with_token(token);
        }
        let store = builder
            .build()
            .map_err(|e| unavailable(&config.bucket, e.to_string()))?;
        Ok(S3Driver {
            store: Arc::new(store),
            bucket: config.bucket.clone(),
            endpoint: config.endpoint_display(),
            prefix: config.prefix.trim_matches('/').to_string(),
            part_size: config.part_size_bytes,
            part_concurrency: config.part_concurrency,
            redirect_ttl: config
                .redirect
                .then(|| Duration::from_secs(config.redirect_ttl_seconds)),
        })
    }

    fn path(&self, key: &str) -> Path {
        let key = key.trim_matches('/');
        match (self.prefix.is_empty(), key.is_empty()) {
            (true, _) => Path::from(key),
            (false, true) => Path::from(self.prefix.as_str()),
            (false, false) => Path::from(format!("{}/{key}", self.prefix)),
        }
    }

    /// Every object at or under `key` (the object itself and `key/...`).
    async fn objects_under(&self, key: &str) -> DriverResult<Vec<Path>> {
        let path = self.path(key);
        let mut found: Vec<Path> = self
            .store
            .list(Some(&path))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| classify(key, e))?;
        match self.store.head(&path).await {
            Ok(_) => found.push(path),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(classify(key, e)),
        }
        Ok(found)
    }
}

#[async_trait]
impl Driver for S3Driver {
    async fn put(&self, key: &str, data: Bytes) -> DriverResult<()> {
        self.store
            .put(&self.path(key), data.into())
            .await
            .map(|_| ())
            .map_err(|e| classify(key, e))
    }

    async fn put_stream(&self, key: &str, mut body: ByteStream) -> DriverResult<u64> {
        let mut writer =
            BufWriter::with_capacity(self.store.clone(), self.path(key), self.part_size)
                .with_max_concurrency(self.part_concurrency);
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let result = match chunk {
                // The body's own error (client gone, size cap) goes back
                // as it came, so storage can tell it from a store fault.
                Err(e) => Err(DriverError::Io {
                    path: key.to_string(),
                    source: e,
                }),
                Ok(chunk) => {
                    size += chunk.len() as u64;
                    writer.put(chunk).await.map_err(|e| classify(key, e))
                }
            };
            if let Err(e) = result {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(key, error = %abort, "aborting a multipart upload failed");
                }
                return Err(e);
            }
        }
        if let Err(e) = writer.shutdown().await {
            // No abort here: BufWriter panics on abort after shutdown. A failed
            // completion aborts its own multipart upload; one whose parts
            // failed is left to the bucket's AbortIncompleteMultipartUpload rule.
            return Err(unavailable(key, e.to_string()));
        }
        Ok(size)
    }

    async fn get(&self, key: &str) -> DriverResult<Bytes> {
        let result = self
            .store
            .get(&self.path(key))
            .await
            .map_err(|e| classify(key, e))?;
        result.bytes().await.map_err(|e| classify(key, e))
    }

    async fn get_range(&self, key: &str, range: Option<(u64, u64)>) -> DriverResult<ByteStream> {
        if let Some((start, end)) = range {
            if start >= end {
                // S3 refuses empty ranges; an empty read needs no request.
                self.stat(key)
                    .await?
                    .ok_or_else(|| DriverError::NotFound(key.to_string()))?;
                return Ok(futures::stream::empty().boxed());
            }
        }
        let options = GetOptions {
            range: range.map(|(start, end)| GetRange::Bounded(start..end)),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&self.path(key), options)
            .await
            .map_err(|e| classify(key, e))?;
        let owned = key.to_string();
        Ok(result
            .into_stream()
            .map_err(move |e| std::io::Error::other(classify(&owned, e)))
            .boxed())
    }

    async fn stat(&self, key: &str) -> DriverResult<Option<Meta>> {
        match self.store.head(&self.path(key)).await {
            Ok(meta) => Ok(Some(Meta {
                size: meta.size,
                modified: meta.last_modified.into(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(classify(key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> DriverResult<Vec<String>> {
        let path = self.path(prefix);
        let listing = self
            .store
            .list_with_delimiter(Some(&path))
            .await
            .map_err(|e| classify(prefix, e))?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .chain(
                listing
                    .objects
                    .iter()
                    .filter_map(|o| o.location.filename().map(str::to_string)),
            )
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn delete(&self, key: &str) -> DriverResult<()> {
        let doomed = self.objects_under(key).await?;
        let results: Vec<_> = self
            .store
            .delete_stream(futures::stream::iter(doomed.into_iter().map(Ok)).boxed())
            .chunks(DELETE_BATCH)
            .collect()
            .await;
        for result in results.into_iter().flatten() {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(classify(key, e)),
            }
        }
        Ok(())
    }

    async fn rename(&self, from: &str, to: &str) -> DriverResult<()> {
        // A server-side copy appears at `to` whole; then the source goes.
        self.store
            .copy(&self.path(from), &self.path(to))
            .await
            .map_err(|e| classify(from, e))?;
        match self.store.delete(&self.path(from)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(classify(from, e)),
        }
    }

    async fn ready(&self) -> DriverResult<()> {
        self.put("_tmp/.ready", Bytes::from_static(b"ok")).await
    }

    /// Lists the prefix (ListObjectsV2) and writes the readiness marker
    /// (PutObject): a missing bucket, a wrong endpoint or credentials that
    /// may not read or write fail here, named, instead of as 503s later.
    async fn check(&self) -> DriverResult<()> {
        let failed = |call: &str, e: object_store::Error| DriverError::Unavailable {
            path: format!("s3://{}/{}", self.bucket, self.prefix),
            message: format!(
                "{call} on bucket {:?} at endpoint {} failed: {}",
                self.bucket,
                self.endpoint,
                concise(&e.to_string())
            ),
        };
        self.store
            .list_with_delimiter(Some(&self.path("")))
            .await
            .map_err(|e| failed("ListObjectsV2", e))?;
        self.store
            .put(&self.path("_tmp/.ready"), Bytes::from_static(b"ok").into())
            .await
            .map_err(|e| failed("PutObject", e))?;
        Ok(())
    }

    fn multipart_geometry(&self) -> Option<(usize, usize)> {
        Some((self.part_size, self.part_concurrency))
    }

    async fn create_multipart(&self, key: &str) -> DriverResult<String> {
        self.store
            .create_multipart(&self.path(key))
            .await
            .map_err(|e| classify(key, e))
    }

    async fn put_part(
        &self,
        key: &str,
        upload: &str,
        index: usize,
        data: Bytes,
    ) -> DriverResult<String> {
        let part = MultipartStore::put_part(
            self.store.as_ref(),
            &self.path(key),
            &upload.to_string(),
            index,
            data.into(),
        )
        .await
        .map_err(|e| classify(key, e))?;
        Ok(part.content_id)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload: &str,
        etags: Vec<String>,
    ) -> DriverResult<()> {
        let parts = etags
            .into_iter()
            .map(|content_id| PartId { content_id })
            .collect();
        MultipartStore::complete_multipart(
            self.store.as_ref(),
            &self.path(key),
            &upload.to_string(),
            parts,
        )
        .await
        .map(|_| ())
        .map_err(|e| classify(key, e))
    }

    async fn abort_multipart(&self, key: &str, upload: &str) -> DriverResult<()> {
        match MultipartStore::abort_multipart(
            self.store.as_ref(),
            &self.path(key),
            &upload.to_string(),
        )
        .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(classify(key, e)),
        }
    }

    async fn put_if_absent(&self, key: &str, data: Bytes) -> DriverResult<bool> {
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&self.path(key), data.into(), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(classify(key, e)),
        }
    }

    async fn presign_get(&self, key: &str) -> DriverResult<Option<String>> {
        let Some(ttl) = self.redirect_ttl else {
            return Ok(None);
        };
        let url = self
            .store
            .signed_url(axum::http::Method::GET, &self.path(key), ttl)
            .await
            .map_err(|e| classify(key, e))?;
        Ok(Some(url.to_string()))
    }
}

/// "No such key" stays NotFound; anything else means the store could not do
/// what was asked (down, timing out, refusing): the client should retry.
fn classify(key: &str, e: object_store::Error) -> DriverError {
    match e {
        object_store::Error::NotFound { .. } => DriverError::NotFound(key.to_string()),
        other => unavailable(key, other.to_string()),
    }
}

/// An S3 error reply as `<status>: <Code>: <Message>` instead of the
/// object_store text around the whole XML body; other errors as they are.
fn concise(error: &str) -> String {
    let element = |name: &str| {
        let (_, rest) = error.split_once(&format!("<{name}>"))?;
        rest.split_once(&format!("</{name}>")).map(|(v, _)| v)
    };
    match (element("Code"), element("Message")) {
        (Some(code), Some(message)) => {
            let status = error
                .split_once("status code: ")
                .and_then(|(_, rest)| rest.split(':').next())
                .unwrap_or("error");
            format!("{status}: {code}: {message}")
        }
        _ => error.replace('\n', " "),
    }
}

fn unavailable(key: &str, message: String) -> DriverError {
    DriverError::Unavailable {
        path: key.to_string(),
        message: message.replace('\n', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::concise;

    #[test]
    fn s3_error_replies_are_shortened_to_status_code_and_message() {
        let raw = "Generic S3 error: Error performing list request: Error performing GET \
                   http://127.0.0.1:1/b?list-type=2 in 9ms - Server returned non-2xx status \
                   code: 403 Forbidden: <?xml version=\"1.0\"?>\n<Error><Code>InvalidAccessKeyId\
                   </Code><Message>The AWS Access Key Id you provided does not exist in our \
                   records.</Message></Error>";
        assert_eq!(
            concise(raw),
            "403 Forbidden: InvalidAccessKeyId: The AWS Access Key Id you provided does not \
             exist in our records."
        );
        assert_eq!(
            concise("connection refused\nretry"),
            "connection refused retry"
        );
    }
}
