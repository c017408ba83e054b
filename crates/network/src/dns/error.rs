//! Errors of the DNS responder and of starting or stopping it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("network {network:?} has no record at {} (create it with `hoist network create`)", path.display())]
    NoNetwork { network: String, path: PathBuf },
    #[error("network record {}: {source}", path.display())]
    BadRecord {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "cannot listen for DNS on {addr}: {source} (another DNS server may hold that address: stop it, or give the network another gateway)"
    )]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("starting the DNS responder of network {network:?}: {message}")]
    Start { network: String, message: String },
    #[error("the DNS responder of network {network:?} (pid {pid}) did not exit after SIGKILL")]
    WontStop { network: String, pid: i32 },
    #[error("{0}")]
    Runtime(String),
}

impl DnsError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DnsError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
