//! Published ports: a userspace proxy in the monitor. It listens on the host
//! address and opens each backend connection (TCP) or session socket (UDP,
//! `udp_ports.rs`) from inside the container's network namespace (a
//! dedicated thread that entered it with setns), so no bridge, NAT or extra
//! address is needed.

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::{mpsc, Arc};

use crate::container::config::{PortMapping, Protocol};
use crate::error::{Result, RuntimeError};
use crate::gate::Gate;

/// A bound host socket of one published port.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// Binds every published port (port 0 gets a free one); fails like docker
/// when an address is in use.
pub fn bind_all(ports: &[PortMapping]) -> Result<Vec<(Listener, PortMapping)>> {
    ports
        .iter()
        .map(|m| {
            let addr = SocketAddr::new(m.host_ip, m.host_port);
            let in_use = |e: std::io::Error| {
                // Rootless: the host's namespace is the initial user
                // namespace's; below its unprivileged start only root binds.
                let why = if e.kind() == std::io::ErrorKind::PermissionDenied
                    && crate::rootless::active()
                {
                    "ports below net.ipv4.ip_unprivileged_port_start (1024) need root: \
                     publish on a higher host port"
                } else {
                    "is it in use?"
                };
                RuntimeError::io(format!("publishing port {addr}/{} ({why})", m.protocol), e)
            };
            let (listener, local) = match m.protocol {
                Protocol::Tcp => {
                    let l = TcpListener::bind(addr).map_err(in_use)?;
                    let local = l.local_addr();
                    (Listener::Tcp(l), local)
                }
                Protocol::Udp => {
                    let s = UdpSocket::bind(addr).map_err(in_use)?;
                    let local = s.local_addr();
                    (Listener::Udp(s), local)
                }
            };
            let mut bound = *m;
            bound.host_port = local.map(|a| a.port()).unwrap_or(m.host_port);
            Ok((listener, bound))
        })
        .collect()
}

/// Starts the proxies; they follow `gate` (the current PID, readiness)
/// across restarts of the container.
pub fn start_proxies(listeners: Vec<(Listener, PortMapping)>, gate: Arc<Gate>) {
    if listeners.is_empty() {
        return;
    }
    let connector = Connector::start(gate.clone());
    for (listener, m) in listeners {
        let (gate, connector) = (gate.clone(), connector.clone());
        match listener {
            Listener::Tcp(l) => {
                std::thread::spawn(move || accept_loop(l, m.container_port, &gate, &connector));
            }
            Listener::Udp(s) => crate::udp_ports::start(s, m.container_port, gate, connector),
        }
    }
}

fn accept_loop(listener: TcpListener, port: u16, gate: &Gate, connector: &Connector) {
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        if !gate.open() {
            drop(client); // not running or not ready: refuse new connections
            continue;
        }
        match connector.tcp(port) {
            Ok(backend) => splice(client, backend),
            Err(_) => drop(client),
        }
    }
}

enum Request {
    Tcp(u16, mpsc::Sender<std::io::Result<TcpStream>>),
    Udp(u16, mpsc::Sender<std::io::Result<(UdpSocket, i32)>>),
}

/// The handle of the thread that lives in the network namespace of the
/// gate's current PID (entering the new one after a restart) and opens
/// backend sockets there on request: a socket stays in the namespace it was
/// created in, whichever thread uses it later.
#[derive(Clone)]
pub struct Connector {
    tx: mpsc::Sender<Request>,
}

impl Connector {
    pub(crate) fn start(gate: Arc<Gate>) -> Connector {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::spawn(move || serve_requests(&gate, rx));
        Connector { tx }
    }

    fn ask<T>(
        &self,
        make: impl FnOnce(mpsc::Sender<std::io::Result<T>>) -> Request,
    ) -> std::io::Result<T> {
        let gone = || std::io::Error::other("the port proxy's connector has ended");
        let (rtx, rrx) = mpsc::channel();
        self.tx.send(make(rtx)).map_err(|_| gone())?;
        rrx.recv().map_err(|_| gone())?
    }

    /// A TCP connection to 127.0.0.1:`port` inside the container.
    pub fn tcp(&self, port: u16) -> std::io::Result<TcpStream> {
        self.ask(|r| Request::Tcp(port, r))
    }

    /// A UDP socket inside the container connected to 127.0.0.1:`port`, and
    /// the PID whose namespace it is in.
    pub fn udp(&self, port: u16) -> std::io::Result<(UdpSocket, i32)> {
        self.ask(|r| Request::Udp(port, r))
    }
}

fn serve_requests(gate: &Gate, rx: mpsc::Receiver<Request>) {
    let mut entered_pid = 0;
    let mut enter = || -> std::io::Result<i32> {
        let pid = gate.pid();
        if pid != entered_pid {
            enter_netns(pid)?;
            entered_pid = pid;
        }
        Ok(pid)
    };
    for request in rx {
        match request {
            Request::Tcp(port, reply) => {
                let r = enter().and_then(|_| TcpStream::connect(("127.0.0.1", port)));
                let _ = reply.send(r);
            }
            Request::Udp(port, reply) => {
                let r = enter().and_then(|pid| {
                    let s = UdpSocket::bind(("127.0.0.1", 0))?;
                    s.connect(("127.0.0.1", port))?;
                    Ok((s, pid))
                });
                let _ = reply.send(r);
            }
        }
    }
}

/// Moves the calling thread into the network namespace of `pid`.
pub fn enter_netns(pid: i32) -> std::io::Result<()> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
    // SAFETY: setns affects only this thread's network namespace.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Copies both ways until each side closes.
fn splice(a: TcpStream, b: TcpStream) {
    let (Ok(mut a2), Ok(mut b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let (mut a, mut b) = (a, b);
        let _ = crate::relay::relay(&mut a, &mut b);
        let _ = b.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let _ = crate::relay::relay(&mut b2, &mut a2);
        let _ = a2.shutdown(std::net::Shutdown::Write);
    });
}
