//! Published ports: a userspace TCP proxy in the monitor. It listens on the
//! host address and opens each backend connection from inside the container's
//! network namespace (a dedicated thread that entered it with setns), so no
//! bridge, NAT or extra address is needed.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{mpsc, Arc};

use crate::container::config::PortMapping;
use crate::error::{Result, RuntimeError};
use crate::gate::Gate;

/// Binds every published port (port 0 gets a free one); fails like docker
/// when an address is in use.
pub fn bind_all(ports: &[PortMapping]) -> Result<Vec<(TcpListener, PortMapping)>> {
    ports
        .iter()
        .map(|m| {
            let addr = SocketAddr::new(m.host_ip, m.host_port);
            let l = TcpListener::bind(addr).map_err(|e| {
                RuntimeError::io(format!("publishing port {addr} (is it in use?)"), e)
            })?;
            let mut bound = *m;
            bound.host_port = l.local_addr().map(|a| a.port()).unwrap_or(m.host_port);
            Ok((l, bound))
        })
        .collect()
}

type ConnectRequest = (u16, mpsc::Sender<std::io::Result<TcpStream>>);

/// Starts the proxies; they follow `gate` (the current PID, readiness)
/// across restarts of the container.
pub fn start_proxies(listeners: Vec<(TcpListener, PortMapping)>, gate: Arc<Gate>) {
    if listeners.is_empty() {
        return;
    }
    let (tx, rx) = mpsc::channel::<ConnectRequest>();
    let g = gate.clone();
    std::thread::spawn(move || connector(&g, rx));
    for (listener, m) in listeners {
        let tx = tx.clone();
        let gate = gate.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !gate.open() {
                    drop(client); // not running or not ready: refuse new connections
                    continue;
                }
                let (rtx, rrx) = mpsc::channel();
                if tx.send((m.container_port, rtx)).is_err() {
                    return;
                }
                match rrx.recv() {
                    Ok(Ok(backend)) => splice(client, backend),
                    _ => drop(client),
                }
            }
        });
    }
}

/// Lives in the network namespace of the gate's current PID (entering the
/// new one after a restart) and connects on request.
fn connector(gate: &Gate, rx: mpsc::Receiver<ConnectRequest>) {
    let mut entered_pid = 0;
    for (port, reply) in rx {
        let pid = gate.pid();
        let r = if pid != entered_pid {
            enter_netns(pid).map(|()| entered_pid = pid)
        } else {
            Ok(())
        };
        let r = r.and_then(|()| TcpStream::connect(("127.0.0.1", port)));
        let _ = reply.send(r);
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
