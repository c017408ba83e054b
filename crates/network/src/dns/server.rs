//! The responder process's main loop (`hoist __dns NETWORK`): UDP and TCP on the gateway's
//! port 53, one tokio thread. Local names are answered inline on the receiving path;
//! forwarded queries run as tasks so a slow upstream never holds up a local answer.

use super::answer::{decide, refused, servfail, Decision};
use super::clients::ClientFilter;
use super::error::DnsError;
use super::names::has_leases;
use super::pidfile::{self, Lock, PidRecord};
use super::scope::Watchers;
use super::upstream::{forward, Upstreams};
use super::{paths, record, DNS_PORT, IDLE_GRACE};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub store_root: PathBuf,
    pub network: String,
    pub listen: SocketAddr,
    /// Where the upstream resolvers are read from.
    pub resolv_conf: PathBuf,
    /// Exit after the network has had no lease this long.
    pub idle_grace: Duration,
}

impl ServeOptions {
    /// The responder as `ensure_responder` runs it: port 53 on `gateway`, the host's
    /// /etc/resolv.conf, the standard grace period.
    pub fn new(store_root: PathBuf, network: &str, gateway: Ipv4Addr) -> ServeOptions {
        ServeOptions {
            store_root,
            network: network.to_string(),
            listen: SocketAddr::new(gateway.into(), DNS_PORT),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            idle_grace: IDLE_GRACE,
        }
    }
}

/// The pipe on which the starter waits: "ok" once the responder listens, or
/// "err CODE MESSAGE" (the monitor's protocol).
pub struct Ready(Option<std::fs::File>);

impl Ready {
    pub fn new(fd: Option<OwnedFd>) -> Ready {
        Ready(fd.map(std::fs::File::from))
    }

    fn send(&mut self, line: &str) {
        if let Some(mut f) = self.0.take() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// How often the idle check runs.
const IDLE_TICK: Duration = Duration::from_millis(500);
/// A TCP client that sends nothing this long is dropped.
const TCP_IDLE: Duration = Duration::from_secs(10);

struct Shared {
    /// This network's names and those of the other networks a client may be on.
    names: Mutex<Watchers>,
    upstreams: Mutex<Upstreams>,
    may_forward: bool,
    clients: ClientFilter,
}

/// Runs the responder until SIGTERM/SIGINT or until the network has been without leases
/// for the grace period. Binds before reporting ready, writes the pidfile, and removes
/// it (and closes its sockets) before returning.
pub fn serve(opts: &ServeOptions, mut ready: Ready) -> Result<(), DnsError> {
    let me = PidRecord::of_self();
    let pid_path = paths::pidfile(&opts.store_root, &opts.network);
    let Prepared {
        udp,
        tcp,
        view,
        runtime,
    } = match prepare(opts, &pid_path, me) {
        Ok(p) => p,
        Err(e) => {
            ready.send(&format!("err 125 {e}"));
            return Err(e);
        }
    };
    let shared = Arc::new(Shared {
        names: Mutex::new(Watchers::new(&opts.store_root, &opts.network)),
        upstreams: Mutex::new(Upstreams::new(opts.resolv_conf.clone(), opts.listen.ip())),
        may_forward: !view.internal,
        clients: ClientFilter::new(view.subnet(), opts.listen.ip()),
    });
    tracing::info!(network = %opts.network, listen = %opts.listen, internal = view.internal, "DNS responder listening");
    ready.send("ok");
    let outcome = runtime.block_on(main_loop(opts, shared, udp, tcp));
    // Close the sockets (every task holding one) before the pidfile goes, so that a
    // responder started right after this one can bind the same address.
    drop(runtime);
    pidfile::remove_if_ours(&pid_path, me);
    let _idle_lock = outcome?;
    Ok(())
}

/// Everything that can fail before the responder reports ready.
struct Prepared {
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    view: record::NetworkView,
    runtime: tokio::runtime::Runtime,
}

fn prepare(opts: &ServeOptions, pid_path: &Path, me: PidRecord) -> Result<Prepared, DnsError> {
    let view = record::read(&opts.store_root, &opts.network)?;
    let bind_err = |source| DnsError::Bind {
        addr: opts.listen,
        source,
    };
    let udp = std::net::UdpSocket::bind(opts.listen).map_err(bind_err)?;
    // std's TcpListener sets SO_REUSEADDR: a restart is not refused over TIME_WAIT.
    let tcp = std::net::TcpListener::bind(opts.listen).map_err(bind_err)?;
    for r in [udp.set_nonblocking(true), tcp.set_nonblocking(true)] {
        r.map_err(bind_err)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DnsError::Runtime(format!("starting the DNS responder's runtime: {e}")))?;
    pidfile::write(pid_path, me)?;
    Ok(Prepared {
        udp,
        tcp,
        view,
        runtime,
    })
}

/// Returns the lock held for an idle exit (kept until the pidfile is gone), or None for
/// an exit on a signal (the stopper holds the lock then).
async fn main_loop(
    opts: &ServeOptions,
    shared: Arc<Shared>,
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
) -> Result<Option<Lock>, DnsError> {
    let rt_err = |e: std::io::Error| DnsError::Runtime(format!("DNS responder: {e}"));
    let udp = Arc::new(UdpSocket::from_std(udp).map_err(rt_err)?);
    let tcp = TcpListener::from_std(tcp).map_err(rt_err)?;
    let mut term = signal(SignalKind::terminate()).map_err(rt_err)?;
    let mut int = signal(SignalKind::interrupt()).map_err(rt_err)?;
    let mut tick = tokio::time::interval(IDLE_TICK);
    let leases = paths::leases_dir(&opts.store_root, &opts.network);
    let lock_path = paths::lock(&opts.store_root, &opts.network);
    let mut empty_since: Option<Instant> = None;
    let mut buf = vec![0u8; 65535];
    loop {
        tokio::select! {
            r = udp.recv_from(&mut buf) => {
                let Ok((n, peer)) = r else { continue };
                answer_udp(&shared, &udp, &buf[..n], peer).await;
            }
            r = tcp.accept() => {
                if let Ok((stream, peer)) = r {
                    tokio::spawn(serve_tcp(shared.clone(), stream, peer.ip()));
                }
            }
            _ = term.recv() => {
                tracing::info!(network = %opts.network, "stopped (SIGTERM): DNS responder exits");
                return Ok(None);
            }
            _ = int.recv() => return Ok(None),
            _ = tick.tick() => {
                shared.names.lock().expect("names lock").revalidate();
                if has_leases(&leases) {
                    empty_since = None;
                    continue;
                }
                let since = *empty_since.get_or_insert_with(Instant::now);
                if since.elapsed() < opts.idle_grace {
                    continue;
                }
                // Decide under the starters' lock: a start that saw this responder
                // alive has already returned, and its container's lease is on disk.
                if let Some(lock) = Lock::try_acquire(&lock_path)? {
                    if !has_leases(&leases) {
                        tracing::info!(network = %opts.network, "no containers left: DNS responder exits");
                        return Ok(Some(lock));
                    }
                    empty_since = None;
                }
            }
        }
    }
}

/// Local names are answered here, on the receiving path; a forward runs as a task.
async fn answer_udp(shared: &Arc<Shared>, sock: &Arc<UdpSocket>, query: &[u8], peer: SocketAddr) {
    if !shared.clients.allows(peer.ip()) {
        if let Some(bytes) = refused(query) {
            let _ = sock.send_to(&bytes, peer).await;
        }
        return;
    }
    match decide_for(shared, query, peer.ip(), true) {
        Decision::Reply(bytes) => {
            let _ = sock.send_to(&bytes, peer).await;
        }
        Decision::Drop => {}
        Decision::Forward { udp_limit } => {
            let (shared, sock, query) = (shared.clone(), sock.clone(), query.to_vec());
            tokio::spawn(async move {
                if let Some(bytes) = forwarded(&shared, &query, udp_limit).await {
                    let _ = sock.send_to(&bytes, peer).await;
                }
            });
        }
    }
}

/// Decides with the names `peer` may resolve (the lock is released before any await).
fn decide_for(shared: &Shared, query: &[u8], peer: IpAddr, udp: bool) -> Decision {
    let mut names = shared.names.lock().expect("names lock");
    decide(query, &names.scope_for(peer), shared.may_forward, udp)
}

async fn forwarded(shared: &Shared, query: &[u8], udp_limit: Option<usize>) -> Option<Vec<u8>> {
    let servers = shared.upstreams.lock().expect("upstreams lock").current();
    match forward(query, &servers, udp_limit).await {
        Some(answer) => Some(answer),
        None => {
            tracing::debug!("no upstream resolver answered: SERVFAIL");
            servfail(query)
        }
    }
}

/// DNS over TCP: two-byte length, message; several queries per connection. A client
/// from outside the network gets REFUSED for each.
async fn serve_tcp(shared: Arc<Shared>, mut stream: TcpStream, peer: IpAddr) {
    let allowed = shared.clients.allows(peer);
    loop {
        let len = match tokio::time::timeout(TCP_IDLE, stream.read_u16()).await {
            Ok(Ok(n)) => usize::from(n),
            _ => return,
        };
        let mut query = vec![0u8; len];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        let answer = if allowed {
            match decide_for(&shared, &query, peer, false) {
                Decision::Reply(bytes) => Some(bytes),
                Decision::Drop => None,
                Decision::Forward { udp_limit } => forwarded(&shared, &query, udp_limit).await,
            }
        } else {
            refused(&query)
        };
        let Some(answer) = answer else { return };
        let Ok(n) = u16::try_from(answer.len()) else {
            return;
        };
        let mut framed = n.to_be_bytes().to_vec();
        framed.extend_from_slice(&answer);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}
