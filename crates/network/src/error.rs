//! The errors of network operations: each says what went wrong and, where the
//! user can act, what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found (hoist network ls lists the networks)")]
    NotFound(String),
    #[error("network {0} already exists")]
    Exists(String),
    #[error("invalid network name {0:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit")]
    BadName(String),
    #[error("{0}")]
    Invalid(String),
    #[error("subnet {subnet} overlaps {other}; choose another with --subnet")]
    Overlap { subnet: String, other: String },
    #[error("no free subnet left in hoist's pools; give one with --subnet")]
    NoSubnet,
    #[error("address {ip} is already in use on network {network}")]
    AddressInUse { ip: String, network: String },
    #[error("address {ip} is not usable in network {network}'s subnet {subnet}")]
    AddressOutside {
        ip: String,
        network: String,
        subnet: String,
    },
    #[error("no free address left on network {0}")]
    Exhausted(String),
    #[error(
        "network {network} is in use by {users}; remove or disconnect them first (or --force)"
    )]
    InUse { network: String, users: String },
    #[error("network {0} is predefined and cannot be removed")]
    Predefined(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("netlink {step}: {source}")]
    Netlink {
        step: String,
        #[source]
        source: std::io::Error,
    },
    #[error("nftables: {0} (is the nftables package installed?)")]
    Firewall(String),
    #[error("{binary} could not be started ({source}): rootless containers reach the network through it; install the Debian package {package} (apt-get install {package}), or run with --network none or --network private")]
    HelperMissing {
        binary: String,
        package: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the rootless network helper {binary} {message}")]
    HelperFailed { binary: String, message: String },
    #[error("/dev/net/tun cannot be opened ({source}; its mode here: {mode}): slirp4netns makes the container's network device with it, so it must be readable and writable by this user (Debian's default mode is 0666: as root, chmod 0666 /dev/net/tun); or run with --network private")]
    TunUnavailable {
        mode: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, NetworkError>;

impl NetworkError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> NetworkError {
        NetworkError::Io {
            context: context.into(),
            source,
        }
    }
}

/// `.ctx(|| "what was being done")` on io results.
pub trait IoContext<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| NetworkError::io(what(), e))
    }
}
