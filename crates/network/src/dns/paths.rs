//! Where a network's DNS state lives under the store root (the contract with the IPAM:
//! `networks/<name>.json` is the record, `networks/<name>/leases/<ipv4>` one file per address).

use std::path::{Path, PathBuf};

pub fn record(root: &Path, network: &str) -> PathBuf {
    root.join("networks").join(format!("{network}.json"))
}

pub fn network_dir(root: &Path, network: &str) -> PathBuf {
    root.join("networks").join(network)
}

pub fn leases_dir(root: &Path, network: &str) -> PathBuf {
    network_dir(root, network).join("leases")
}

/// "PID START_TIME": the running responder, guarded against PID reuse.
pub fn pidfile(root: &Path, network: &str) -> PathBuf {
    network_dir(root, network).join("dns.pid")
}

/// Held (flock) while a responder is started, stopped, or decides to exit idle, so
/// that two concurrent starts make one process and an idle exit never races a start.
pub fn lock(root: &Path, network: &str) -> PathBuf {
    network_dir(root, network).join("dns.lock")
}

pub fn log(root: &Path, network: &str) -> PathBuf {
    network_dir(root, network).join("dns.log")
}
