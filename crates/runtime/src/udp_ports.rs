//! Published UDP ports. UDP has no connections, so the proxy keeps a
//! session per client address, as docker-proxy does: one host socket per
//! published port receives every client's datagrams; the first datagram of a
//! client opens a backend socket inside the container's network namespace
//! (through the `ports::Connector`), connected to 127.0.0.1:PORT there, and
//! a thread of that session relays the answers back to the client from the
//! host socket (so the client sees replies from the address it sent to).
//!
//! Sessions end after `SESSION_IDLE` without a datagram either way
//! (docker-proxy's 90 s), when the container is restarted (the session's
//! socket is in the old namespace), or when the monitor ends. At most
//! `MAX_SESSIONS` live per port: beyond that new clients' datagrams are
//! dropped until a session expires, so a flood of spoofed source addresses
//! costs at most that many threads and sockets. While the gate is closed
//! (not running, not ready) no session is opened: new clients' datagrams
//! are dropped; open sessions keep flowing, like spliced TCP connections.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::gate::Gate;
use crate::ports::Connector;

/// How long a session lives without a datagram (docker-proxy's
/// UDPConnTrackTimeout; conntrack's own UDP stream timeout is 120 s).
pub const SESSION_IDLE: Duration = Duration::from_secs(90);
/// Sessions per published port.
pub const MAX_SESSIONS: usize = 1024;
/// How often an idle session thread wakes to check its age.
const TICK: Duration = Duration::from_secs(5);

/// The session limits (the constants; shorter in tests).
#[derive(Debug, Clone, Copy)]
struct Limits {
    idle: Duration,
    max_sessions: usize,
    tick: Duration,
}

const LIMITS: Limits = Limits {
    idle: SESSION_IDLE,
    max_sessions: MAX_SESSIONS,
    tick: TICK,
};
/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;
/// A session thread only relays datagrams.
const SESSION_STACK: usize = 64 * 1024;

struct Session {
    id: u64,
    backend: Arc<UdpSocket>,
    /// The container PID whose network namespace `backend` is in.
    pid: i32,
    /// Milliseconds since the proxy started, at the last datagram.
    last: Arc<AtomicU64>,
}

impl Session {
    /// Wakes its thread (blocked in recv) so it sees it was removed.
    fn close(&self) {
        // SAFETY: shutdown on a socket we own; the thread's recv returns.
        unsafe { libc::shutdown(self.backend.as_raw_fd(), libc::SHUT_RDWR) };
    }
}

struct Proxy {
    host: UdpSocket,
    port: u16,
    gate: Arc<Gate>,
    connector: Connector,
    sessions: Mutex<HashMap<SocketAddr, Session>>,
    clock: Instant,
    limits: Limits,
}

impl Proxy {
    fn now_ms(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }
}

/// Serves one published UDP port from its bound host socket.
pub fn start(host: UdpSocket, port: u16, gate: Arc<Gate>, connector: Connector) {
    start_with(host, port, gate, connector, LIMITS);
}

fn start_with(
    host: UdpSocket,
    port: u16,
    gate: Arc<Gate>,
    connector: Connector,
    limits: Limits,
) -> Arc<Proxy> {
    let proxy = Arc::new(Proxy {
        host,
        port,
        gate,
        connector,
        sessions: Mutex::new(HashMap::new()),
        clock: Instant::now(),
        limits,
    });
    let p = proxy.clone();
    std::thread::spawn(move || receive_loop(&p));
    proxy
}

/// Client -> container: every datagram on the host socket.
fn receive_loop(proxy: &Arc<Proxy>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut next_id = 0u64;
    loop {
        let (n, client) = match proxy.host.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) if transient(&e) => continue,
            Err(_) => return,
        };
        let backend = match session_for(proxy, client) {
            Some(b) => b,
            None => {
                next_id += 1;
                match open_session(proxy, client, next_id) {
                    Some(b) => b,
                    None => continue, // dropped: closed gate, full, or no backend
                }
            }
        };
        // A refused earlier datagram (nothing listened yet) is reported on
        // this send; the datagram itself is then sent by the retry.
        if let Err(e) = backend.send(&buf[..n]) {
            if e.kind() == ErrorKind::ConnectionRefused {
                let _ = backend.send(&buf[..n]);
            }
        }
    }
}

fn transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Interrupted | ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
    )
}

/// The client's live session, touched; a session of an earlier run of the
/// container is closed (its namespace is gone).
fn session_for(proxy: &Proxy, client: SocketAddr) -> Option<Arc<UdpSocket>> {
    let mut sessions = proxy.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let s = sessions.get(&client)?;
    if s.pid != proxy.gate.pid() {
        if let Some(stale) = sessions.remove(&client) {
            stale.close();
        }
        return None;
    }
    s.last.store(proxy.now_ms(), Ordering::Relaxed);
    Some(s.backend.clone())
}

fn open_session(proxy: &Arc<Proxy>, client: SocketAddr, id: u64) -> Option<Arc<UdpSocket>> {
    if !proxy.gate.open() {
        return None;
    }
    if proxy
        .sessions
        .lock()
        .map_or(true, |s| s.len() >= proxy.limits.max_sessions)
    {
        return None;
    }
    let (socket, pid) = proxy.connector.udp(proxy.port).ok()?;
    socket.set_read_timeout(Some(proxy.limits.tick)).ok()?;
    let backend = Arc::new(socket);
    let last = Arc::new(AtomicU64::new(proxy.now_ms()));
    let session = Session {
        id,
        backend: backend.clone(),
        pid,
        last: last.clone(),
    };
    // In the map before its thread looks for it there.
    proxy
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(client, session);
    let (p, b) = (proxy.clone(), backend.clone());
    let spawned = std::thread::Builder::new()
        .name("udp-session".into())
        .stack_size(SESSION_STACK)
        .spawn(move || answer_loop(&p, client, id, &b, &last));
    if spawned.is_err() {
        remove(proxy, client, id);
        return None;
    }
    Some(backend)
}

/// Container -> client: the answers on one session's backend socket, until
/// the session is idle too long or removed.
fn answer_loop(proxy: &Proxy, client: SocketAddr, id: u64, backend: &UdpSocket, last: &AtomicU64) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let got = backend.recv(&mut buf);
        if !still_open(proxy, client, id, last) {
            return;
        }
        match got {
            Ok(n) => {
                last.store(proxy.now_ms(), Ordering::Relaxed);
                let _ = proxy.host.send_to(&buf[..n], client);
            }
            // Timeouts and "nothing listens" (ICMP port unreachable for an
            // earlier datagram) keep the session: the server may come up.
            Err(e)
                if transient(&e)
                    || matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                remove(proxy, client, id);
                return;
            }
        }
    }
}

/// Whether session `id` is still the client's and not idle too long
/// (removing it when it is).
fn still_open(proxy: &Proxy, client: SocketAddr, id: u64, last: &AtomicU64) -> bool {
    let mut sessions = proxy.sessions.lock().unwrap_or_else(|e| e.into_inner());
    if sessions.get(&client).map(|s| s.id) != Some(id) {
        return false;
    }
    let idle = proxy.now_ms().saturating_sub(last.load(Ordering::Relaxed));
    if idle >= proxy.limits.idle.as_millis() as u64 {
        sessions.remove(&client);
        return false;
    }
    true
}

fn remove(proxy: &Proxy, client: SocketAddr, id: u64) {
    let mut sessions = proxy.sessions.lock().unwrap_or_else(|e| e.into_inner());
    if sessions.get(&client).map(|s| s.id) == Some(id) {
        sessions.remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP echo server on 127.0.0.1 (answers "DATA@SOURCEPORT").
    fn echo() -> u16 {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                let mut answer = buf[..n].to_vec();
                answer.extend_from_slice(format!("@{}", from.port()).as_bytes());
                let _ = s.send_to(&answer, from);
            }
        });
        port
    }

    fn client() -> UdpSocket {
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        c
    }

    fn ask(c: &UdpSocket, port: u16, msg: &str) -> Option<String> {
        c.send_to(msg.as_bytes(), ("127.0.0.1", port)).ok()?;
        let mut buf = [0u8; 2048];
        let n = c.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// The relay with short limits in our own network namespace (the
    /// connector `setns`es into it: root only).
    fn relay(max_sessions: usize, gate: &Arc<Gate>) -> (Arc<Proxy>, u16) {
        gate.set_pid(std::process::id() as i32);
        let host = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = host.local_addr().unwrap().port();
        let limits = Limits {
            idle: Duration::from_secs(3),
            max_sessions,
            tick: Duration::from_millis(50),
        };
        let proxy = start_with(
            host,
            echo(),
            gate.clone(),
            Connector::start(gate.clone()),
            limits,
        );
        (proxy, port)
    }

    fn live(proxy: &Proxy) -> usize {
        proxy.sessions.lock().unwrap().len()
    }

    #[test]
    fn sessions_are_capped_and_expire_when_idle() {
        hoist_testkit::require_root!();
        let gate = Arc::new(Gate::default());
        let (proxy, port) = relay(2, &gate);
        let (a, b, c) = (client(), client(), client());
        let first = ask(&a, port, "a").expect("a answered");
        assert!(first.starts_with("a@"), "{first}");
        assert!(ask(&b, port, "b").is_some_and(|x| x.starts_with("b@")));
        assert_eq!(live(&proxy), 2);
        // Full: the third client's datagram is dropped.
        assert_eq!(ask(&c, port, "c"), None);
        // A session is the client's own backend socket.
        assert_eq!(
            ask(&a, port, "a2").unwrap().split('@').nth(1),
            first.split('@').nth(1)
        );
        hoist_testkit::wait_until("idle sessions expire", Duration::from_secs(10), || {
            live(&proxy) == 0
        });
        assert!(ask(&c, port, "c").is_some_and(|x| x.starts_with("c@")));
    }

    #[test]
    fn a_closed_gate_opens_no_session_but_keeps_open_ones() {
        hoist_testkit::require_root!();
        let gate = Arc::new(Gate::default());
        let (proxy, port) = relay(8, &gate);
        let (a, b) = (client(), client());
        assert!(ask(&a, port, "a").is_some());
        gate.set_ready(false);
        assert_eq!(ask(&b, port, "b"), None);
        assert_eq!(live(&proxy), 1);
        assert!(ask(&a, port, "a").is_some_and(|x| x.starts_with("a@")));
    }
}
