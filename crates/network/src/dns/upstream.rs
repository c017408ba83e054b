//! Forwarding a query the network does not know to the host's resolvers (read from the
//! host's resolv.conf, re-read when it changes): over UDP, again over TCP when the UDP
//! answer is truncated, the next resolver when one fails.
//!
//! The responder runs in the namespace hoist runs in, so loopback resolvers such as
//! systemd-resolved's 127.0.0.53 are reachable from it and are used like any other.

use super::resolv::ResolvConf;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout, timeout_at};

/// Per resolver: one slow resolver still leaves time for the next.
const UDP_TIMEOUT: Duration = Duration::from_secs(2);
const TCP_TIMEOUT: Duration = Duration::from_secs(3);
/// For the whole forward: under glibc's 5 s, so a client gets our SERVFAIL (and moves on
/// to its next search domain) instead of timing out and asking again.
const FORWARD_BUDGET: Duration = Duration::from_secs(4);

/// The host's resolvers, from a resolv.conf re-read whenever its mtime changes (one stat
/// per forwarded query: NetworkManager and resolvconf rewrite it at run time).
pub struct Upstreams {
    path: PathBuf,
    /// Never forwarded to: the responder's own address (a host whose resolv.conf names
    /// the gateway would otherwise loop).
    own: IpAddr,
    /// (mtime, inode, length) of the file read: a rewrite in the same clock tick, or a
    /// new file renamed into place, still changes one of them.
    seen: Option<(SystemTime, u64, u64)>,
    servers: Vec<SocketAddr>,
}

impl Upstreams {
    pub fn new(path: PathBuf, own: IpAddr) -> Upstreams {
        Upstreams {
            path,
            own,
            seen: None,
            servers: Vec::new(),
        }
    }

    pub fn current(&mut self) -> Vec<SocketAddr> {
        let stamp = std::fs::metadata(&self.path)
            .and_then(|m| Ok((m.modified()?, m.ino(), m.len())))
            .ok();
        if stamp.is_none() || stamp != self.seen {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            // A rootless hoist's responder is in the rootless network
            // namespace, where the host's loopback resolvers (127.0.0.53)
            // are not: it asks them through the shared slirp4netns'
            // forwarder instead, as podman rewrites them.
            let rootless = crate::rootless::netns::active();
            let mut servers: Vec<SocketAddr> = Vec::new();
            for ip in ResolvConf::parse(&text).nameservers {
                let ip = match ip {
                    ip if rootless && ip.is_loopback() => IpAddr::V4(crate::rootless::DNS),
                    ip => ip,
                };
                let addr = SocketAddr::new(ip, 53);
                if ip != self.own && !servers.contains(&addr) {
                    servers.push(addr);
                }
            }
            self.servers = servers;
            self.seen = stamp;
        }
        self.servers.clone()
    }
}

/// Asks `servers` in turn; the first usable answer is returned as received. `limit` is
/// the most the client takes over UDP (None: it asked over TCP). None when every
/// resolver failed (the caller answers SERVFAIL).
pub async fn forward(
    query: &[u8],
    servers: &[SocketAddr],
    limit: Option<usize>,
) -> Option<Vec<u8>> {
    let deadline = tokio::time::Instant::now() + FORWARD_BUDGET;
    timeout_at(deadline, forward_in_turn(query, servers, limit))
        .await
        .ok()
        .flatten()
}

async fn forward_in_turn(
    query: &[u8],
    servers: &[SocketAddr],
    limit: Option<usize>,
) -> Option<Vec<u8>> {
    let mut last = None;
    for server in servers {
        let Some(mut answer) = udp_exchange(*server, query).await else {
            continue;
        };
        if truncated(&answer) {
            let full = tcp_exchange(*server, query).await;
            match (full, limit) {
                (Some(full), None) => answer = full,
                (Some(full), Some(max)) if full.len() <= max => answer = full,
                // Too long for the client's UDP: it gets TC and asks us over TCP.
                _ => {}
            }
        }
        if retry_elsewhere(&answer) {
            last = Some(answer);
            continue;
        }
        return Some(answer);
    }
    last
}

async fn udp_exchange(server: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let any: SocketAddr = match server {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    // A fresh socket per query: a random source port, and no id bookkeeping.
    let sock = UdpSocket::bind(any).await.ok()?;
    sock.connect(server).await.ok()?;
    sock.send(query).await.ok()?;
    let mut buf = vec![0u8; 65535];
    timeout(UDP_TIMEOUT, async {
        loop {
            let n = sock.recv(&mut buf).await.ok()?;
            if is_answer_to(&buf[..n], query) {
                return Some(buf[..n].to_vec());
            }
        }
    })
    .await
    .ok()
    .flatten()
}

async fn tcp_exchange(server: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(query.len()).ok()?;
    timeout(TCP_TIMEOUT, async {
        let mut s = TcpStream::connect(server).await.ok()?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        s.write_all(&framed).await.ok()?;
        let n = s.read_u16().await.ok()?;
        let mut buf = vec![0u8; usize::from(n)];
        s.read_exact(&mut buf).await.ok()?;
        is_answer_to(&buf, query).then_some(buf)
    })
    .await
    .ok()
    .flatten()
}

/// A response (QR set) with the query's id.
fn is_answer_to(answer: &[u8], query: &[u8]) -> bool {
    answer.len() >= 12 && query.len() >= 2 && answer[..2] == query[..2] && answer[2] & 0x80 != 0
}

fn truncated(answer: &[u8]) -> bool {
    answer[2] & 0x02 != 0
}

/// SERVFAIL or REFUSED: glibc asks the next resolver then, so do we.
fn retry_elsewhere(answer: &[u8]) -> bool {
    matches!(answer[3] & 0x0f, 2 | 5)
}
