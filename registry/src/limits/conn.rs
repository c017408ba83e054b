//! Header and idle timeouts per connection. hyper (as axum-server runs it)
//! reads a request head for as long as the client takes, so a client
//! sending one byte a second, or nothing at all, held its connection (a
//! socket, a task and buffers) for ever. `Timed` wraps every accepted
//! stream (above TLS, so it sees HTTP) and follows where the connection is:
//!
//! - idle (before the first request, or after an answer): closed quietly
//!   after `idle_timeout` — what keep-alive timeouts do everywhere;
//! - reading a head (from its first byte to the blank line ending it): cut
//!   off after `header_timeout` with a 408 written first;
//! - anything after (the body, the handler, the answer): not timed here;
//!   bodies have their own rule (`body.rs`);
//! - HTTP/2 (its preface read first; TLS clients negotiate it by ALPN):
//!   not followed, its binary frames have no heads to time here.

use super::Counters;
use axum_server::accept::Accept;
use futures::future::BoxFuture;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What a client that was too slow with its head is told before the close.
const HEAD_TIMEOUT_REPLY: &str = "HTTP/1.1 408 Request Timeout\r\n\
    Content-Type: application/json\r\nConnection: close\r\nContent-Length: ";

#[derive(Clone)]
pub struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
    pub counters: Arc<Counters>,
}

/// Wraps what `inner` accepts in [`Timed`].
#[derive(Clone)]
pub struct TimedAcceptor<A> {
    inner: A,
    timeouts: Timeouts,
}

impl<A> TimedAcceptor<A> {
    pub fn new(inner: A, timeouts: Timeouts) -> Self {
        TimedAcceptor { inner, timeouts }
    }
}

impl<I, S, A> Accept<I, S> for TimedAcceptor<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = Timed<A::Stream>;
    type Service = A::Service;
    type Future = BoxFuture<'static, io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let accepted = self.inner.accept(stream, service);
        let timeouts = self.timeouts.clone();
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((Timed::new(stream, timeouts), service))
        })
    }
}

enum Phase {
    /// Waiting for a request's first byte.
    Idle,
    /// Inside a request head; `tail` holds its last bytes (up to 3) so a
    /// `\r\n\r\n` split across reads is still found.
    Head { tail: Vec<u8> },
    /// Past the head.
    Rest,
    /// HTTP/2 (TLS with ALPN h2): binary frames and many streams, so this
    /// byte-level view does not apply; hyper's h2 manages the connection.
    Off,
}

pub struct Timed<S> {
    inner: S,
    timeouts: Timeouts,
    phase: Phase,
    /// Armed at or before `due`; moved out to `due` only when it fires
    /// early (see `extend`).
    deadline: Pin<Box<Sleep>>,
    /// When the current phase's time is up.
    due: Instant,
    /// The 408 still to be written (what of it is left).
    reply: Option<Vec<u8>>,
    /// Nothing was read yet (the HTTP/2 preface would come first).
    first_read: bool,
}

impl<S> Timed<S> {
    fn new(inner: S, timeouts: Timeouts) -> Self {
        let due = Instant::now() + timeouts.idle;
        let deadline = Box::pin(tokio::time::sleep_until(due));
        Timed {
            inner,
            timeouts,
            phase: Phase::Idle,
            deadline,
            due,
            reply: None,
            first_read: true,
        }
    }

    fn rearm(&mut self, after: Duration) {
        self.due = Instant::now() + after;
        self.deadline.as_mut().reset(self.due);
    }

    /// Like `rearm`, but a later deadline leaves the timer where it is:
    /// moving a timer costs a lock and a wheel update, and this runs after
    /// every answer. `passed` moves it when it fires early.
    fn extend(&mut self, after: Duration) {
        self.due = Instant::now() + after;
        if self.due < self.deadline.deadline() {
            self.deadline.as_mut().reset(self.due);
        }
    }

    /// Whether the current phase's time is up (registering for a wakeup
    /// when it is not).
    fn passed(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return false;
            }
            if self.deadline.deadline() >= self.due {
                return true;
            }
            let due = self.due;
            self.deadline.as_mut().reset(due);
        }
    }

    /// Follows the bytes just read through the phases.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if std::mem::take(&mut self.first_read) && bytes.starts_with(b"PRI * HTTP/2") {
            self.phase = Phase::Off;
            return;
        }
        let starts = matches!(self.phase, Phase::Idle);
        if starts {
            self.phase = Phase::Head { tail: Vec::new() };
        }
        if let Phase::Head { tail } = &mut self.phase {
            let mut window = std::mem::take(tail);
            window.extend_from_slice(bytes);
            // A head ends at the first blank line; what follows is body.
            if window.windows(4).any(|w| w == b"\r\n\r\n") {
                self.phase = Phase::Rest;
            } else {
                *tail = window.split_off(window.len().saturating_sub(3));
                // A head arriving whole in one read (most do) never waits
                // for more, so only one that does is timed.
                if starts {
                    self.rearm(self.timeouts.header);
                }
            }
        }
    }
}

fn head_timeout_reply(seconds: f64) -> Vec<u8> {
    let body = format!(
        "{{\"errors\":[{{\"code\":\"REQUEST_TIMEOUT\",\"message\":\"the request head \
         (request line and headers) did not arrive within {seconds} s \
         (limits.header_timeout_seconds); send it at once\"}}]}}"
    );
    format!("{HEAD_TIMEOUT_REPLY}{}\r\n\r\n{body}", body.len()).into_bytes()
}

impl<S: AsyncRead + AsyncWrite + Unpin> Timed<S> {
    /// The deadline passed while idle or in a head: the connection ends.
    fn expire(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Phase::Idle = self.phase {
            // Like a client closing its idle connection: hyper ends quietly.
            return Poll::Ready(Ok(()));
        }
        if self.reply.is_none() {
            self.timeouts
                .counters
                .count(&self.timeouts.counters.header_timeouts);
            self.reply = Some(head_timeout_reply(self.timeouts.header.as_secs_f64()));
            // The answer gets a moment to go out, no more.
            self.rearm(Duration::from_secs(1));
        }
        let reply = self.reply.as_mut().expect("set above");
        while !reply.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, reply) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    reply.drain(..n);
                }
                Poll::Pending if self.deadline.as_mut().poll(cx).is_pending() => {
                    return Poll::Pending
                }
                _ => break,
            }
        }
        if Pin::new(&mut self.inner).poll_flush(cx).is_pending()
            && self.deadline.as_mut().poll(cx).is_pending()
        {
            return Poll::Pending;
        }
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "request head not received in time",
        )))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Timed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // A head still open at its deadline ends even while bytes keep
        // trickling in (each read would otherwise return data first).
        if this.reply.is_some()
            || (matches!(this.phase, Phase::Head { .. })
                && this.deadline.is_elapsed()
                && this.deadline.deadline() >= this.due)
        {
            return this.expire(cx);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if !matches!(this.phase, Phase::Rest | Phase::Off) {
                    this.saw(&buf.filled()[before..]);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.phase {
                Phase::Rest | Phase::Off => Poll::Pending,
                Phase::Idle | Phase::Head { .. } => {
                    if this.passed(cx) {
                        this.expire(cx)
                    } else {
                        Poll::Pending
                    }
                }
            },
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Timed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        // An answer is going out: the next bytes read start a new request.
        // `100 Continue` is not an answer; the body follows it.
        if written > 0 && !buf.starts_with(b"HTTP/1.1 100 ") && !matches!(this.phase, Phase::Off) {
            this.phase = Phase::Idle;
            this.extend(this.timeouts.idle);
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let starts_continue = bufs
            .iter()
            .find(|b| !b.is_empty())
            .is_some_and(|b| b.starts_with(b"HTTP/1.1 100 "));
        let written = std::task::ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        if written > 0 && !starts_continue && !matches!(this.phase, Phase::Off) {
            this.phase = Phase::Idle;
            this.extend(this.timeouts.idle);
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
