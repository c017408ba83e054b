//! Test helpers shared by hoist's crates: skipping tests that need root or a
//! peer tool (and failing instead under `HOIST_TEST_STRICT=1`), loopback
//! ports, temporary store roots, child processes that die with the test, and
//! waiting for a condition instead of sleeping.

mod dockerd;
mod moto;
mod netns;
mod process;
mod proxy;
mod skip;
mod wait;

pub use dockerd::Dockerd;
pub use moto::{http_request, moto_server_path, shared_moto, Moto};
pub use netns::Netns;
pub use process::{ChildGuard, Peer};
pub use proxy::TcpProxy;
pub use skip::{is_root, skip_or_fail, strict};
pub use wait::{wait_until, wait_until_ok};

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

/// A fresh loopback address with a port that was free a moment ago.
pub fn loopback_addr() -> SocketAddr {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().unwrap()
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    loopback_addr().port()
}

/// A temporary directory removed when dropped; `path()` is a store root.
pub struct TempRoot {
    dir: tempfile::TempDir,
}

impl TempRoot {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hoist-test-")
            .tempdir()
            .expect("create temp dir");
        TempRoot { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(p)
    }
}

impl Default for TempRoot {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a program is on PATH.
pub fn have_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}
