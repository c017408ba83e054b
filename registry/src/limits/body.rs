//! Request body pacing. A body must keep coming while the server waits
//! for it: a stall (no byte while the server is waiting) longer than
//! `body_timeout`, or an average below `body_min_bytes_per_second` after
//! `body_timeout` of grace (Apache's mod_reqtimeout rule: the allowance
//! grows by one second per `rate` bytes received), ends the request with
//! 408 and the connection. Only time spent waiting on the client counts:
//! while the server is busy storing a chunk it does not poll, and that
//! time is the server's own.

use super::Limits;
use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The middleware: paces every request body, and turns a body that was
/// too slow into a 408 whatever the handler made of the cut-off.
pub async fn pace(
    limits: &Limits,
    req: Request,
    next: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    // No body (a GET, a HEAD, an empty PUT): nothing to pace, and no wrapper
    // to allocate on the requests a registry answers most.
    if req.body().is_end_stream() {
        return next(req).await;
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let grace = limits.config.body_timeout();
    let rate = limits.config.body_min_bytes_per_second;
    let (parts, body) = req.into_parts();
    let paced = Paced {
        inner: body.into_data_stream(),
        grace,
        rate,
        received: 0,
        waited: Duration::ZERO,
        waiting_since: None,
        sleep: None,
        timed_out: timed_out.clone(),
    };
    let response = next(Request::from_parts(parts, Body::from_stream(paced))).await;
    if !timed_out.load(Ordering::Relaxed) {
        return response;
    }
    limits.counters.count(&limits.counters.body_timeouts);
    let rule = if rate > 0 {
        format!(" or below {rate} bytes/s on average (limits.body_min_bytes_per_second)")
    } else {
        String::new()
    };
    let message = format!(
        "the request body stalled for {} s (limits.body_timeout_seconds){rule}; \
         send the body at once, or in smaller chunks",
        grace.as_secs_f64()
    );
    let mut r = (
        StatusCode::REQUEST_TIMEOUT,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({"errors": [{"code": "REQUEST_TIMEOUT", "message": message}]})
            .to_string(),
    )
        .into_response();
    // The rest of the body is still on the wire: this connection is done.
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The body was too slow (the error its reader sees).
#[derive(Debug)]
pub struct BodyTooSlow;

impl std::fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body too slow")
    }
}

impl std::error::Error for BodyTooSlow {}

struct Paced<S> {
    inner: S,
    grace: Duration,
    rate: u64,
    received: u64,
    /// Time spent waiting on the client in earlier waits.
    waited: Duration,
    /// When the current wait started.
    waiting_since: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl<S> Paced<S> {
    /// When the current wait (begun at `since`) must end.
    fn deadline(&self, since: Instant) -> Instant {
        let stall = since + self.grace;
        if self.rate == 0 {
            return stall;
        }
        let allowance =
            self.grace + Duration::from_secs_f64(self.received as f64 / self.rate as f64);
        stall.min(since + allowance.saturating_sub(self.waited))
    }

    fn too_slow(&self) -> Poll<Option<Result<Bytes, io::Error>>> {
        self.timed_out.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            BodyTooSlow,
        ))))
    }
}

impl<S, E> Stream for Paced<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.timed_out.load(Ordering::Relaxed) {
            return this.too_slow();
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => {
                if let Some(since) = this.waiting_since.take() {
                    this.waited += since.elapsed();
                }
                Poll::Ready(item.map(|r| {
                    r.inspect(|bytes| this.received += bytes.len() as u64)
                        .map_err(io::Error::other)
                }))
            }
            Poll::Pending => {
                let since = *this.waiting_since.get_or_insert_with(Instant::now);
                let deadline = this.deadline(since);
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    return this.too_slow();
                }
                Poll::Pending
            }
        }
    }
}
