//! A loopback TCP relay that a test can cut and restore: the "network to
//! the object store goes away" fault, without killing the store (moto keeps
//! its data only in memory, so restarting it would lose acknowledged blobs).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct TcpProxy {
    pub port: u16,
    target: u16,
    state: Arc<ProxyState>,
}

struct ProxyState {
    up: AtomicBool,
    connections: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    /// Relays 127.0.0.1:<new port> to 127.0.0.1:target.
    pub fn start(target: u16) -> TcpProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let proxy = TcpProxy {
            port,
            target,
            state: Arc::new(ProxyState {
                up: AtomicBool::new(true),
                connections: Mutex::new(Vec::new()),
            }),
        };
        proxy.accept_on(listener);
        proxy
    }

    fn accept_on(&self, listener: TcpListener) {
        let state = self.state.clone();
        let target = self.target;
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !state.up.load(Ordering::SeqCst) {
                    // Cut: refuse by closing at once; stop listening.
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                {
                    let mut live = state.connections.lock().unwrap();
                    live.push(client.try_clone().unwrap());
                    live.push(server.try_clone().unwrap());
                }
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
    }

    /// Cuts every connection and stops accepting (new connects are refused).
    pub fn cut(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        // Wake the accept loop so it drops the listener.
        let _ =
            TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1));
        for c in self.state.connections.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Listens again on the same port.
    pub fn restore(&self) {
        let listener =
            crate::wait_until_ok("proxy port free again", Duration::from_secs(10), || {
                TcpListener::bind(("127.0.0.1", self.port)).ok()
            });
        self.state.up.store(true, Ordering::SeqCst);
        self.accept_on(listener);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
