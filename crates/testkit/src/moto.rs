//! moto, the S3-compatible server the S3 driver is tested against: one
//! `moto_server -H 127.0.0.1 -p PORT` per test binary, started on first use.
//! Tests isolate themselves by bucket or key prefix.
//!
//! The server is spawned from a thread that never ends, with
//! PR_SET_PDEATHSIG, so the kernel kills it when the test binary exits (a
//! static guard would never be dropped).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Where `testdata/moto.sh install` puts its virtualenv (HOIST_MOTO_VENV overrides).
pub fn moto_server_path() -> Option<PathBuf> {
    let venv = std::env::var_os("HOIST_MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/hoist-moto"));
    let in_venv = venv.join("bin/moto_server");
    if in_venv.is_file() {
        return Some(in_venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("moto_server"))
        .find(|p| p.is_file())
}

/// A running moto server.
pub struct Moto {
    pub port: u16,
    pub pid: u32,
}

impl Moto {
    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto does not check signatures; an existing bucket is fine).
    pub fn create_bucket(&self, name: &str) {
        let status = http_request(self.port, "PUT", &format!("/{name}"));
        assert!(
            status == 200 || status == 409,
            "creating bucket {name} on moto: HTTP {status}"
        );
    }
}

/// The binary's moto server, or None (after `skip_or_fail`) when moto is not
/// installed.
pub fn shared_moto(test: &str) -> Option<&'static Moto> {
    static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
    let moto = MOTO.get_or_init(start).as_ref();
    if moto.is_none() {
        crate::skip_or_fail(
            test,
            "moto_server is not installed (run `bash testdata/moto.sh install`)",
        );
    }
    moto
}

fn start() -> Option<Moto> {
    let program = moto_server_path()?;
    let port = crate::free_port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new(program);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe; it only sets a flag on the child.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("start moto_server");
        tx.send(child.id()).unwrap();
        // This thread must outlive every test (the death signal follows
        // it): it waits on moto, which only ends with the test binary.
        let _ = child.wait();
    });
    let pid = rx.recv().ok()?;
    crate::wait_until(
        &format!("moto on 127.0.0.1:{port}"),
        Duration::from_secs(60),
        || TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    Some(Moto { port, pid })
}

/// A bodiless HTTP/1.1 request to 127.0.0.1:port; returns the status code.
pub fn http_request(port: u16, method: &str, path: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
