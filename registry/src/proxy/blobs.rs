//! Blobs through the proxy. A blob the repository holds is served by the
//! ordinary handler. Otherwise the first GET starts one fetch (single-flight
//! per repository and digest): upstream's bytes go to a spool file that every
//! waiting response reads as it grows, and at the same time into
//! `put_stream` at the blob's key. That stream ends cleanly only after the
//! digest matched, so a wrong or cut blob is never committed; then the
//! repository's link is written and later pulls are local.

use super::flight::{Flight, State};
use super::upstream::{header_str, Upstream, UpstreamError};
use super::Proxy;
use crate::digests::{Digest, StreamHasher};
use crate::driver::{ByteStream, Driver};
use crate::error::{RegistryError, Result};
use crate::storage::paths;
use axum::body::Body;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// Upstream bytes are appended to the spool and announced in pieces of at
/// least this much (fewer wake-ups of the readers and the blocking pool).
const SPOOL_BATCH: usize = 256 * 1024;

impl Proxy {
    /// Answers GET/HEAD of a blob `name` does not hold yet from upstream;
    /// None when it is local (or `name` is no upstream's), for the ordinary
    /// handler.
    pub async fn blob(&self, name: &str, digest: &Digest, head: bool) -> Result<Option<Response>> {
        let Some((up, repo)) = self.route(name) else {
            return Ok(None);
        };
        let data_key = paths::blob_data(digest);
        let link_key = paths::layer_link(name, digest);
        if self.driver.stat(&link_key).await?.is_some()
            && self.driver.stat(&data_key).await?.is_some()
        {
            self.counters.hit();
            return Ok(None);
        }
        let unknown = || RegistryError::BlobUnknown(digest.to_string());
        if head {
            let resp = up
                .request(Method::HEAD, &repo, &format!("blobs/{digest}"), &[])
                .await
                .map_err(|e| e.into_registry(unknown))?;
            if self.driver.stat(&data_key).await?.is_some() {
                // Stored already for another repository; upstream has
                // just confirmed this one may serve it.
                self.driver
                    .put(&link_key, Bytes::from(digest.to_string()))
                    .await?;
                self.counters.hit();
                return Ok(None);
            }
            let size = resp
                .content_length()
                .or_else(|| header_str(&resp, "content-length").and_then(|v| v.parse().ok()));
            return Ok(Some(blob_response(digest, size, Body::empty())));
        }
        let key = (name.to_string(), digest.clone());
        let flight = {
            let mut flights = self.flights.lock().await;
            match flights.get(&key) {
                Some(f) => f.clone(),
                None if self.driver.stat(&data_key).await?.is_some() => {
                    drop(flights);
                    up.request(Method::HEAD, &repo, &format!("blobs/{digest}"), &[])
                        .await
                        .map_err(|e| e.into_registry(unknown))?;
                    self.driver
                        .put(&link_key, Bytes::from(digest.to_string()))
                        .await?;
                    self.counters.hit();
                    return Ok(None);
                }
                None => {
                    self.counters.miss();
                    let flight = self.start_fetch(up, repo, name, digest)?;
                    flights.insert(key, flight.clone());
                    flight
                }
            }
        };
        match flight.started().await {
            Ok(size) => Ok(Some(blob_response(
                digest,
                Some(size),
                Body::from_stream(flight.reader()),
            ))),
            Err((true, _)) => Err(unknown()),
            Err((false, message)) => {
                Err(UpstreamError::Unavailable(message).into_registry(unknown))
            }
        }
    }

    /// Creates the spool and spawns the fetch; the caller registers it.
    fn start_fetch(
        &self,
        up: Arc<Upstream>,
        repo: String,
        name: &str,
        digest: &Digest,
    ) -> Result<Arc<Flight>> {
        let spool = tempfile::tempfile_in(&self.spool_dir).map_err(|e| {
            RegistryError::Storage(crate::driver::DriverError::io(
                &self.spool_dir.display().to_string(),
                e,
            ))
        })?;
        let writer = spool.try_clone().map_err(|e| {
            RegistryError::Storage(crate::driver::DriverError::io("proxy spool", e))
        })?;
        let (flight, state) = Flight::new(spool);
        let fetch = Fetch {
            up,
            repo,
            name: name.to_string(),
            digest: digest.clone(),
            driver: self.driver.clone(),
            counters: self.counters.clone(),
            state,
        };
        let flights = self.flights.clone();
        let key = (name.to_string(), digest.clone());
        tokio::spawn(async move {
            fetch.run(writer).await;
            // Only now, with the blob committed (or the fetch failed), do new
            // requests stop joining this flight and look at storage instead.
            flights.lock().await.remove(&key);
        });
        Ok(flight)
    }
}

/// One upstream fetch, run on its own task so that it completes (and the
/// blob is stored) even when the client that started it goes away.
struct Fetch {
    up: Arc<Upstream>,
    repo: String,
    name: String,
    digest: Digest,
    driver: Arc<dyn Driver>,
    counters: Arc<crate::metrics::ProxyCounters>,
    state: watch::Sender<State>,
}

impl Fetch {
    async fn run(self, spool: std::fs::File) {
        let verified = Arc::new(AtomicBool::new(false));
        let (mut to_store, store_rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
        let store = {
            let driver = self.driver.clone();
            let key = paths::blob_data(&self.digest);
            let body = guarded(store_rx, verified.clone());
            tokio::spawn(async move { driver.put_stream(&key, body).await })
        };
        let outcome = self.pump(spool, &mut to_store).await;
        match outcome {
            Ok(size) => {
                verified.store(true, Ordering::SeqCst);
                drop(to_store);
                let _ = self.state.send(State::Verified { size });
                match store.await {
                    Ok(Ok(_)) => {
                        let link = paths::layer_link(&self.name, &self.digest);
                        let linked = self
                            .driver
                            .put(&link, Bytes::from(self.digest.to_string()))
                            .await;
                        if let Err(e) = linked {
                            tracing::warn!(digest = %self.digest, error = %e, "proxy: linking a fetched blob failed");
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(digest = %self.digest, error = %e, "proxy: storing a fetched blob failed; the next pull fetches it again")
                    }
                    Err(e) => tracing::warn!(error = %e, "proxy: store task failed"),
                }
            }
            Err((not_found, message)) => {
                // Ends put_stream with an error: nothing is committed.
                let _ = to_store
                    .send(Err(std::io::Error::other(message.clone())))
                    .await;
                drop(to_store);
                let _ = store.await;
                tracing::warn!(digest = %self.digest, repo = %self.repo, %message, "proxy: blob fetch failed");
                let _ = self.state.send(State::Failed { not_found, message });
            }
        }
    }

    /// Copies upstream's body to the spool and the store; Ok(size) when it
    /// was complete and matched the digest.
    async fn pump(
        &self,
        spool: std::fs::File,
        to_store: &mut mpsc::Sender<std::io::Result<Bytes>>,
    ) -> std::result::Result<u64, (bool, String)> {
        let resp = self
            .up
            .request(
                Method::GET,
                &self.repo,
                &format!("blobs/{}", self.digest),
                &[],
            )
            .await
            .map_err(|e| (matches!(e, UpstreamError::NotFound), e.to_string()))?;
        let size = resp.content_length().ok_or((
            false,
            "upstream sent the blob without a Content-Length".to_string(),
        ))?;
        let _ = self.state.send(State::Running { size, written: 0 });
        let mut hasher =
            StreamHasher::for_digest(&self.digest).map_err(|e| (false, e.to_string()))?;
        let spool = Arc::new(spool);
        let mut store_open = true;
        // Bytes in the spool (announced to readers), and bytes taken from
        // upstream into batches.
        let (mut written, mut taken) = (0u64, 0u64);
        // The spool write in progress: upstream is read (and hashed) while
        // the previous batch is written, one write at a time.
        let mut writing: Option<tokio::task::JoinHandle<std::io::Result<u64>>> = None;
        let mut batch = BytesMut::new();
        let mut body = resp.bytes_stream();
        loop {
            let chunk = body.next().await;
            let end = chunk.is_none();
            if let Some(chunk) = chunk {
                let chunk = chunk.map_err(|e| (false, format!("upstream cut the blob: {e}")))?;
                if taken + (batch.len() + chunk.len()) as u64 > size {
                    return Err((false, "upstream sent more than its Content-Length".into()));
                }
                hasher.update(&chunk);
                crate::metrics::Metrics::add(&self.counters.upstream_bytes, chunk.len() as u64);
                batch.extend_from_slice(&chunk);
            }
            if batch.len() >= SPOOL_BATCH || (end && !batch.is_empty()) {
                let piece = batch.split().freeze();
                // The store gets batches too: fewer channel hops and file
                // writes than upstream's small chunks.
                if store_open && to_store.send(Ok(piece.clone())).await.is_err() {
                    // Storage failed; clients are still served from the spool.
                    store_open = false;
                }
                if let Some(previous) = writing.take() {
                    written += spooled(previous).await?;
                    let _ = self.state.send(State::Running { size, written });
                }
                let (file, at) = (spool.clone(), taken);
                taken += piece.len() as u64;
                writing = Some(tokio::task::spawn_blocking(move || {
                    use std::os::unix::fs::FileExt;
                    file.write_all_at(&piece, at).map(|_| piece.len() as u64)
                }));
            }
            if end {
                break;
            }
        }
        if let Some(last) = writing.take() {
            written += spooled(last).await?;
            let _ = self.state.send(State::Running { size, written });
        }
        if written != size {
            return Err((false, format!("upstream sent {written} of {size} bytes")));
        }
        let actual = hasher.finish();
        if actual != self.digest {
            return Err((
                false,
                format!("upstream's blob is {actual}, not {}", self.digest),
            ));
        }
        Ok(size)
    }
}

/// Waits for one spool write; the bytes it wrote.
async fn spooled(
    write: tokio::task::JoinHandle<std::io::Result<u64>>,
) -> std::result::Result<u64, (bool, String)> {
    write
        .await
        .map_err(|e| (false, e.to_string()))?
        .map_err(|e| (false, format!("writing the proxy spool: {e}")))
}

/// The store's input: what the fetch sends, ending cleanly only once
/// `verified` is set. A fetch that stops any other way (its task dropped at
/// shutdown included) ends the stream with an error, so the driver leaves
/// nothing at the key.
fn guarded(rx: mpsc::Receiver<std::io::Result<Bytes>>, verified: Arc<AtomicBool>) -> ByteStream {
    Box::pin(futures::stream::unfold(Some(rx), move |rx| {
        let verified = verified.clone();
        async move {
            let mut rx = rx?;
            match rx.next().await {
                Some(item) => Some((item, Some(rx))),
                None if verified.load(Ordering::SeqCst) => None,
                None => Some((
                    Err(std::io::Error::other("the proxy fetch ended unverified")),
                    None,
                )),
            }
        }
    }))
}

fn blob_response(digest: &Digest, size: Option<u64>, body: Body) -> Response {
    let mut r = Response::builder()
        .status(200)
        .header("content-type", "application/octet-stream")
        .header("docker-content-digest", digest.to_string())
        .header("etag", format!("\"{digest}\""));
    if let Some(size) = size {
        r = r.header("content-length", size);
    }
    r.body(body).expect("valid response")
}
