//! What the responder needs from a network's record (`networks/<name>.json`, written by
//! the network side): only whether the network is internal. Other fields are ignored, so
//! the record can grow without the responder knowing.

use super::error::DnsError;
use super::paths;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
pub struct NetworkView {
    /// An internal network has no way out: its responder never forwards.
    #[serde(default)]
    pub internal: bool,
}

pub fn read(root: &Path, network: &str) -> Result<NetworkView, DnsError> {
    let path = paths::record(root, network);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DnsError::NoNetwork {
                network: network.to_string(),
                path,
            })
        }
        Err(e) => return Err(DnsError::io("reading", path, e)),
    };
    serde_json::from_slice(&data).map_err(|source| DnsError::BadRecord { path, source })
}
