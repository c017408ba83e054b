//! A loopback TCP proxy for transfer tests: counts the bytes going each way,
//! can cut one connection once after N bytes in one direction (to test
//! resume), and can flip a byte of every response stream at a given offset
//! (to test digest verification). Plain threads and std sockets.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    /// Client to registry (uploads).
    Up,
    /// Registry to client (downloads).
    Down,
}

#[derive(Default)]
struct Shared {
    up: AtomicU64,
    down: AtomicU64,
    /// Bytes in the cut direction when the cut happened (u64::MAX: not yet).
    cut_at_total: AtomicU64,
    cut_armed: AtomicBool,
    stop: AtomicBool,
    /// Client-to-registry bytes per second per connection (0: unlimited).
    up_rate: AtomicU64,
    /// Requests seen whose request line starts with `GET /token`.
    token_requests: AtomicU64,
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
    cut: Option<(Dir, u64)>,
}

impl Proxy {
    /// Forwards 127.0.0.1:<new port> to 127.0.0.1:`upstream`.
    /// `cut`: cut the first connection that carries more than N bytes in
    /// that direction, once. `corrupt_down_at`: flip the byte at that offset
    /// of every registry-to-client stream.
    pub fn start(upstream: u16, cut: Option<(Dir, u64)>, corrupt_down_at: Option<u64>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        shared.cut_at_total.store(u64::MAX, Ordering::SeqCst);
        shared.cut_armed.store(cut.is_some(), Ordering::SeqCst);
        let sh = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sh.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (sh1, sh2) = (sh.clone(), sh.clone());
                std::thread::spawn(move || pump(client, server, Dir::Up, sh1, cut, None));
                std::thread::spawn(move || pump(s2, c2, Dir::Down, sh2, cut, corrupt_down_at));
            }
        });
        Proxy { port, shared, cut }
    }

    pub fn bytes(&self, dir: Dir) -> u64 {
        match dir {
            Dir::Up => self.shared.up.load(Ordering::SeqCst),
            Dir::Down => self.shared.down.load(Ordering::SeqCst),
        }
    }

    /// Slows uploads to about `bytes_per_sec` per connection.
    pub fn throttle_up(&self, bytes_per_sec: u64) {
        self.shared.up_rate.store(bytes_per_sec, Ordering::SeqCst);
    }

    /// How many token requests went through (hoist's registry advertises
    /// its realm at the address the client used, so they pass here).
    pub fn token_requests(&self) -> u64 {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    /// Whether the cut happened, and how many bytes went in its direction after it.
    pub fn bytes_after_cut(&self) -> Option<u64> {
        let (dir, _) = self.cut?;
        let at = self.shared.cut_at_total.load(Ordering::SeqCst);
        (at != u64::MAX).then(|| self.bytes(dir) - at)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so its thread ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    dir: Dir,
    sh: Arc<Shared>,
    cut: Option<(Dir, u64)>,
    corrupt_at: Option<u64>,
) {
    let counter = if dir == Dir::Up { &sh.up } else { &sh.down };
    let cut_after = cut.filter(|(d, _)| *d == dir).map(|(_, n)| n);
    let mut seen: u64 = 0;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &mut buf[..n];
        if dir == Dir::Up && chunk.starts_with(b"GET /token") {
            sh.token_requests.fetch_add(1, Ordering::SeqCst);
        }
        let rate = sh.up_rate.load(Ordering::SeqCst);
        if dir == Dir::Up && rate > 0 {
            // Pacing, not waiting for a condition: this is the slow link.
            std::thread::sleep(std::time::Duration::from_micros(
                n as u64 * 1_000_000 / rate,
            ));
        }
        if let Some(at) = corrupt_at {
            if at >= seen && at < seen + n as u64 {
                chunk[(at - seen) as usize] ^= 0xff;
            }
        }
        if let Some(limit) = cut_after {
            if seen + n as u64 > limit && sh.cut_armed.swap(false, Ordering::SeqCst) {
                let keep = (limit.saturating_sub(seen)) as usize;
                let _ = to.write_all(&chunk[..keep]);
                let total = counter.fetch_add(keep as u64, Ordering::SeqCst) + keep as u64;
                sh.cut_at_total.store(total, Ordering::SeqCst);
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
        }
        if to.write_all(chunk).is_err() {
            break;
        }
        seen += n as u64;
        counter.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
