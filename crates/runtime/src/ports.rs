//! Published ports: a userspace TCP proxy in the monitor. It listens on the
//! host address and opens each backend connection from inside the container's
//! network namespace (a dedicated thread that entered it with setns), so no
//! bridge, NAT or extra address is needed.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc;

use crate::container::config::PortMapping;
use crate::error::{Result, RuntimeError};

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

/// Starts the proxies for a container whose PID 1 is `pid`.
pub fn start_proxies(listeners: Vec<(TcpListener, PortMapping)>, pid: i32) {
    if listeners.is_empty() {
        return;
    }
    let (tx, rx) = mpsc::channel::<ConnectRequest>();
    std::thread::spawn(move || connector(pid, rx));
    for (listener, m) in listeners {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
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

/// Lives in the container's network namespace and connects on request.
fn connector(pid: i32, rx: mpsc::Receiver<ConnectRequest>) {
    let entered = std::fs::File::open(format!("/proc/{pid}/ns/net")).and_then(|ns| {
        // SAFETY: setns affects only this thread's network namespace.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    });
    for (port, reply) in rx {
        let r = match &entered {
            Ok(()) => TcpStream::connect(("127.0.0.1", port)),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        };
        let _ = reply.send(r);
    }
}

/// Copies both ways until each side closes.
fn splice(a: TcpStream, b: TcpStream) {
    let (Ok(mut a2), Ok(mut b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let (mut a, mut b) = (a, b);
        let _ = std::io::copy(&mut a, &mut b);
        let _ = b.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut b2, &mut a2);
        let _ = a2.shutdown(std::net::Shutdown::Write);
    });
}
