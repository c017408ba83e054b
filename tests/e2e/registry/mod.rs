//! End-to-end tests of `hoist registry`: the real binary serving on a
//! loopback port, driven by real clients (skopeo) and raw HTTP.
//!
//! skopeo keeps a blob-info cache (for root, /var/lib/containers/cache/
//! blob-info-cache-v1.boltdb) that remembers where blobs were seen and makes
//! it try cross-repository mounts. These tests do not touch it: every test
//! makes fresh random layers and serves on a fresh port, so nothing cached by
//! another run can match. Credentials go to a per-test `--authfile`.

mod cli;
mod crash;
mod external_token;
mod hostile;
pub(crate) mod http;
pub(crate) mod layout;
mod proxy;
mod proxy_tags;
mod read_cache;
mod retention;
mod retention_s3;
mod secure;
mod skopeo;
mod uploads;

use crate::common::hoist;
use hoist_testkit::{Peer, TempRoot};
use std::path::PathBuf;

/// `hoist registry serve` on a fresh loopback port over a temp root.
pub struct Server {
    pub peer: Peer,
    pub root: TempRoot,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        let root = TempRoot::new();
        Self::start_in(root, extra)
    }

    /// Starts (again) over an existing root.
    pub fn start_in(root: TempRoot, extra: &[&str]) -> Server {
        let port = hoist_testkit::free_port();
        let log = root.join(format!("server-{port}.log"));
        let mut cmd = hoist(root.path());
        cmd.args(["registry", "serve", "--addr", &format!("127.0.0.1:{port}")])
            .arg("--storage-root")
            .arg(root.join("registry"))
            .args(extra);
        let peer = Peer::start(&mut cmd, port, &log);
        Server {
            peer,
            root,
            port,
            log,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the server (SIGKILL) and hands back its root.
    pub fn kill(mut self) -> TempRoot {
        self.peer.guard.kill();
        self.root
    }
}
