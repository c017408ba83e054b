//! Event loops that serve connections, one per thread, as nginx's worker
//! processes do: each worker is a single-threaded tokio runtime, and a
//! connection stays on the worker it was handed to. One accept loop (on the
//! runtime that called `start`) hands each new connection to the worker
//! serving the fewest.
//!
//! Why not one multi-threaded runtime: measured on 2 cores with 16
//! keep-alive connections asking for one manifest, tokio's work-stealing
//! workers kept waking each other (futex wakes and context switches were
//! the top of the profile), so the server used 27 µs of CPU per request and
//! still left a core partly idle; with two workers like these it used 19-23 µs
//! (ARCHITECTURE.md, registry "Workers").
//! Why one accept loop and not one per worker over a shared socket: the
//! first worker to wake took a whole burst of connections (wrk's 16 all
//! landed on one worker in some runs, halving the rate); a hand-off keeps
//! the workers even. What a request hands to `spawn_blocking` (file writes,
//! fsync) still goes to its runtime's blocking pool, so a slow disk does not
//! stall a worker.
//!
//! Written here rather than taken from axum-server (whose `serve` owns its
//! accept loop and cannot be handed connections) or `axum::serve` (no TLS
//! acceptor, no bounded drain); hyper-util does each connection's HTTP.

use axum::Router;
use axum_server::accept::Accept;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many workers `configured` asks for: 0 means one per CPU.
pub fn count(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Stops the accept loop and the workers: `graceful` stops accepting and
/// asks every connection to finish its request in flight; connections
/// still open `drain` later are closed.
#[derive(Clone)]
pub struct Shutdown {
    graceful: CancellationToken,
    drain: Duration,
}

impl Shutdown {
    pub fn new(drain: Duration) -> Self {
        Shutdown {
            graceful: CancellationToken::new(),
            drain,
        }
    }

    pub fn begin(&self) {
        self.graceful.cancel();
    }
}

/// Serving: the accept loop with worker 0 on the caller's runtime, the
/// other workers on their threads.
pub struct Serving {
    main: tokio::task::JoinHandle<()>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Serving {
    /// Waits until every worker has ended (after `Shutdown::begin`).
    pub async fn wait(self) -> io::Result<()> {
        self.main.await.map_err(io::Error::other)?;
        let threads = self.threads;
        tokio::task::spawn_blocking(move || {
            for t in threads {
                t.join()
                    .map_err(|_| io::Error::other("a registry worker panicked"))?;
            }
            Ok(())
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// Serves one connection handed to a worker until it closes; the tokens
/// are the shutdown's `graceful` and the worker's drain-time `close`.
type ServeOne = dyn Fn(TcpStream, CancellationToken, CancellationToken) -> futures::future::BoxFuture<'static, ()>
    + Send
    + Sync;

/// One worker as the accept loop sees it.
struct Slot {
    to: mpsc::UnboundedSender<std::net::TcpStream>,
    /// Connections handed to it and not yet closed.
    open: Arc<AtomicUsize>,
}

/// Serves `listener` with `router` on `workers` workers, each accepted
/// stream going through `acceptor` (timeouts, lingering close, TLS) on its
/// worker. Must be called on a tokio runtime: worker 0 and the accept loop
/// run on it.
pub fn start<A>(
    workers: usize,
    listener: std::net::TcpListener,
    acceptor: A,
    router: Router,
    shutdown: &Shutdown,
) -> io::Result<Serving>
where
    A: Accept<TcpStream, Router> + Clone + Send + Sync + 'static,
    A::Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A::Service: Send,
    A::Future: Send,
    TowerToHyperService<A::Service>: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Send
        + 'static,
    <TowerToHyperService<A::Service> as hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
    >>::Future: Send + 'static,
{
    let builder = Arc::new(Builder::new(TokioExecutor::new()));
    // One connection, from accepted stream to close: the acceptor's
    // wrapping, then hyper, asked to finish at `graceful` and cut at `close`.
    let serve: Arc<ServeOne> = Arc::new(move |stream, graceful, close| {
        let accepted = acceptor.accept(stream, router.clone());
        let builder = builder.clone();
        Box::pin(async move {
            let Ok((stream, service)) = accepted.await else {
                return;
            };
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            tokio::pin!(connection);
            tokio::select! {
                biased;
                _ = graceful.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    tokio::select! {
                        _ = close.cancelled() => {}
                        _ = &mut connection => {}
                    }
                }
                _ = &mut connection => {}
            }
        })
    });
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut slots = Vec::with_capacity(workers);
    let mut threads = Vec::new();
    let mut first = None;
    for i in 0..workers.max(1) {
        let (to, from) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        let work = worker(from, open.clone(), serve.clone(), shutdown.clone());
        slots.push(Slot { to, open });
        if i == 0 {
            first = Some(work);
            continue;
        }
        let thread = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .and_then(|runtime| {
                std::thread::Builder::new()
                    .name(format!("hoist-registry-{i}"))
                    .spawn(move || runtime.block_on(work))
            });
        match thread {
            Ok(t) => threads.push(t),
            Err(e) => {
                // The workers already started end with the shutdown
                // (nobody else would ever begin it).
                shutdown.begin();
                return Err(e);
            }
        }
    }
    let first = first.expect("at least one worker");
    let graceful = shutdown.graceful.clone();
    let main = tokio::spawn(async move {
        tokio::join!(accept_loop(listener, slots, graceful), first);
    });
    Ok(Serving { main, threads })
}

/// Accepts until the shutdown begins, handing each connection to the
/// worker with the fewest open. Dropping the listener then refuses new
/// connections at once, and dropping the senders ends the workers' queues.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    slots: Vec<Slot>,
    graceful: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = graceful.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted.and_then(|(s, _)| s.into_std()) {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors or memory: wait rather than spin, as
                // axum-server does; connections wait in the backlog.
                tracing::warn!(error = %e, "accepting a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = slots
            .iter()
            .min_by_key(|s| s.open.load(Ordering::Relaxed))
            .expect("at least one worker");
        slot.open.fetch_add(1, Ordering::Relaxed);
        if let Err(returned) = slot.to.send(stream) {
            // That worker has ended (only during shutdown): the stream is
            // dropped, which closes it.
            drop(returned);
            slot.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// One worker: serves each connection it is handed until the shutdown,
/// then lets them finish for the drain time.
async fn worker(
    mut from: mpsc::UnboundedReceiver<std::net::TcpStream>,
    open: Arc<AtomicUsize>,
    serve: Arc<ServeOne>,
    shutdown: Shutdown,
) {
    let connections = TaskTracker::new();
    // Connections still open when the drain time is up are closed by this.
    let close = CancellationToken::new();
    loop {
        let stream = tokio::select! {
            biased;
            _ = shutdown.graceful.cancelled() => break,
            stream = from.recv() => match stream {
                Some(s) => s,
                None => break,
            },
        };
        let open = Closes(open.clone());
        let stream = match TcpStream::from_std(stream) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "registering a connection");
                continue;
            }
        };
        let serving = serve(stream, shutdown.graceful.clone(), close.clone());
        connections.spawn(async move {
            let _open = open;
            serving.await;
        });
    }
    // Connections handed over but not taken yet are closed unserved.
    from.close();
    while let Ok(stream) = from.try_recv() {
        drop(Closes(open.clone()));
        drop(stream);
    }
    connections.close();
    if tokio::time::timeout(shutdown.drain, connections.wait())
        .await
        .is_err()
    {
        close.cancel();
        connections.wait().await;
    }
}

/// Counts a connection as closed when dropped.
struct Closes(Arc<AtomicUsize>);

impl Drop for Closes {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum_server::accept::DefaultAcceptor;
    use std::io::{Read, Write};

    /// One GET / on a kept-alive connection; the answer's body.
    fn ask(conn: &mut std::net::TcpStream) -> std::io::Result<String> {
        conn.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")?;
        let mut got = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            let n = conn.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&got).into_owned();
            let Some(end) = text.find("\r\n\r\n") else {
                continue;
            };
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            if got.len() >= end + 4 + len {
                return Ok(text[end + 4..end + 4 + len].to_string());
            }
        }
    }

    fn bound() -> (std::net::TcpListener, std::net::SocketAddr) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    }

    /// Two workers serving `router` with `drain`, and one request sent
    /// whose handler has been entered (it sends on `entered`).
    async fn in_flight(
        router: Router,
        drain: Duration,
        entered: std::sync::mpsc::Receiver<()>,
    ) -> (
        Shutdown,
        Serving,
        std::net::SocketAddr,
        tokio::task::JoinHandle<std::io::Result<String>>,
    ) {
        let (listener, addr) = bound();
        let shutdown = Shutdown::new(drain);
        let serving = start(2, listener, DefaultAcceptor::new(), router, &shutdown).unwrap();
        let client = tokio::task::spawn_blocking(move || {
            let mut conn = std::net::TcpStream::connect(addr).unwrap();
            ask(&mut conn)
        });
        tokio::task::spawn_blocking(move || entered.recv().unwrap())
            .await
            .unwrap();
        (shutdown, serving, addr, client)
    }

    #[tokio::test]
    async fn connections_are_spread_evenly_and_stay_on_their_worker() {
        let router = Router::new().route(
            "/",
            get(|| async { std::thread::current().name().unwrap_or("?").to_string() }),
        );
        let (listener, addr) = bound();
        let shutdown = Shutdown::new(Duration::from_secs(5));
        let serving = start(3, listener, DefaultAcceptor::new(), router, &shutdown).unwrap();
        let names = tokio::task::spawn_blocking(move || {
            // All six are accepted before any asks, so the hand-out alone
            // decides where each goes.
            let mut conns: Vec<_> = (0..6)
                .map(|_| std::net::TcpStream::connect(addr).unwrap())
                .collect();
            let first: Vec<_> = conns.iter_mut().map(|c| ask(c).unwrap()).collect();
            let again: Vec<_> = conns.iter_mut().map(|c| ask(c).unwrap()).collect();
            (first, again)
        })
        .await
        .unwrap();
        let (first, again) = names;
        assert_eq!(first, again, "a connection moved between workers");
        let mut counts = std::collections::BTreeMap::new();
        for n in &first {
            *counts.entry(n.clone()).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 3, "three workers should serve: {counts:?}");
        assert!(counts.values().all(|&c| c == 2), "uneven: {counts:?}");
        assert!(counts.contains_key("hoist-registry-1") && counts.contains_key("hoist-registry-2"));
        shutdown.begin();
        serving.wait().await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_finishes_requests_in_flight_and_refuses_new_connections() {
        let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
        let release = Arc::new(tokio::sync::Notify::new());
        let entered = Arc::new(std::sync::Mutex::new(entered_tx));
        let gate = release.clone();
        let router = Router::new().route(
            "/",
            get(move || {
                let entered = entered.clone();
                let gate = gate.clone();
                async move {
                    entered.lock().unwrap().send(()).unwrap();
                    gate.notified().await;
                    "finished".to_string()
                }
            }),
        );
        let (shutdown, serving, addr, client) =
            in_flight(router, Duration::from_secs(30), entered_rx).await;
        shutdown.begin();
        // The accept loop ends at once: a new connection is refused (or,
        // if it raced into the backlog, closed unserved).
        let refused = tokio::task::spawn_blocking(move || {
            for _ in 0..200 {
                match std::net::TcpStream::connect(addr) {
                    Err(e) => return e.kind(),
                    Ok(mut c) => {
                        if ask(&mut c).is_err() {
                            std::thread::sleep(Duration::from_millis(10));
                            continue;
                        }
                        panic!("a connection made after the shutdown was served");
                    }
                }
            }
            panic!("the listener still accepts after the shutdown");
        })
        .await
        .unwrap();
        assert_eq!(refused, std::io::ErrorKind::ConnectionRefused);
        release.notify_waiters();
        assert_eq!(client.await.unwrap().unwrap(), "finished");
        serving.wait().await.unwrap();
    }

    #[tokio::test]
    async fn connections_still_open_after_the_drain_time_are_closed() {
        let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
        let entered = Arc::new(std::sync::Mutex::new(entered_tx));
        let router = Router::new().route(
            "/",
            get(move || {
                let entered = entered.clone();
                async move {
                    entered.lock().unwrap().send(()).unwrap();
                    std::future::pending::<String>().await
                }
            }),
        );
        let (shutdown, serving, _, client) =
            in_flight(router, Duration::from_millis(200), entered_rx).await;
        shutdown.begin();
        tokio::time::timeout(Duration::from_secs(10), serving.wait())
            .await
            .expect("the workers ended after the drain time")
            .unwrap();
        assert!(
            client.await.unwrap().is_err(),
            "the stuck request was answered"
        );
    }
}
