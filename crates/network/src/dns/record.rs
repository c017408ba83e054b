//! What the responder needs from a network's record (`networks/<name>.json`, written by
//! the network side): whether the network is internal, its subnet, whether its names
//! resolve. Other fields are
//! ignored, so the record can grow without the responder knowing.

use super::error::DnsError;
use super::paths;
use serde::Deserialize;
use std::net::Ipv4Addr;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
pub struct NetworkView {
    /// An internal network has no way out: its responder never forwards.
    #[serde(default)]
    pub internal: bool,
    /// "10.89.0.0/24": only clients inside it are answered.
    #[serde(default)]
    pub subnet: Option<String>,
    /// False for the default network (docker's has no names): its leases are never
    /// answered, not even to a client that shares it with the target.
    #[serde(default)]
    pub dns_enabled: bool,
}

impl NetworkView {
    /// The subnet as (network address, prefix length), when the record has a valid one.
    pub fn subnet(&self) -> Option<(Ipv4Addr, u8)> {
        let (addr, len) = self.subnet.as_deref()?.split_once('/')?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        Some((addr.parse().ok()?, len))
    }
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
