//! What happens to a request body the handler did not read. An early answer
//! (401 before a PATCH's chunk, 404 for an unknown session, a refused PUT)
//! leaves the body on the wire; hyper then closes the connection after the
//! response without saying so, and a client that sends its retry (say, with
//! credentials) on the same connection reads EOF — Go's HTTP client, used by
//! most CI tools, fails the upload that way.
//!
//! So every request body goes to the handler through a `Lent` wrapper that
//! hands back whatever the handler left unread. Afterwards, a small remainder
//! is read and discarded before the answer goes out, keeping the connection
//! usable; a large one, one that does not arrive in time, or one the client
//! is holding back for `Expect: 100-continue` gets `Connection: close` on the
//! answer instead, so the client knows to open a new connection (RFC 9110
//! §15.2.1 asks a server answering before the whole body to say which).

use axum::body::{Body, BodyDataStream, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// Unread bytes the server discards to keep a connection open. Covers any
/// manifest (4 MiB by default) and small blobs; larger remainders close.
pub const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;

/// How long the remainder may take to arrive before the connection closes.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Middleware: lends the body to the handler, then settles what it left.
pub async fn settle(req: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    if req.body().is_end_stream() {
        return next(req).await;
    }
    let expects_continue = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = req.into_parts();
    let slot = Arc::new(Slot::default());
    let lent = Lent {
        inner: Some(body.into_data_stream()),
        slot: slot.clone(),
    };
    let mut response = next(Request::from_parts(parts, Body::from_stream(lent))).await;
    let Some(rest) = slot.rest.lock().unwrap().take() else {
        return response;
    };
    // Untouched and held back for 100-continue: the client has not sent
    // it, and asking for it (which polling does) would only waste it.
    let held_back = expects_continue && !slot.polled.load(Ordering::Relaxed);
    let too_big = declared.is_some_and(|n| n > DRAIN_LIMIT);
    if held_back || too_big || !drain(rest).await {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and discards the rest of a body; true when it ended within the
/// limits (the connection can carry the next request).
async fn drain(mut rest: BodyDataStream) -> bool {
    let read = async {
        let mut seen = 0u64;
        while let Some(chunk) = rest.next().await {
            match chunk {
                Ok(bytes) => seen += bytes.len() as u64,
                Err(_) => return false,
            }
            if seen > DRAIN_LIMIT {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, read)
        .await
        .unwrap_or(false)
}

/// Where a dropped `Lent` leaves the unread body.
#[derive(Default)]
struct Slot {
    rest: Mutex<Option<BodyDataStream>>,
    /// The handler asked for the body (so hyper sent any 100 Continue).
    polled: AtomicBool,
}

/// The request body as the handler sees it.
struct Lent {
    /// None once the body ended (or failed): nothing left to settle.
    inner: Option<BodyDataStream>,
    slot: Arc<Slot>,
}

impl Stream for Lent {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        this.slot.polled.store(true, Ordering::Relaxed);
        let next = Pin::new(inner).poll_next(cx);
        if matches!(next, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.inner = None;
        }
        next
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(rest) = self.inner.take() {
            *self.slot.rest.lock().unwrap() = Some(rest);
        }
    }
}
