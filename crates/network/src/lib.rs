//! Container networks without a daemon (docker's model): a network is a record under the
//! store plus what it needs on the host, made on demand and removed with its last user.
//! The runtime asks this crate to attach a network namespace and to detach it; nothing here
//! knows containers beyond an id, a name and aliases.

pub mod attach;
pub mod dns;
pub mod error;
pub mod firewall;
pub mod host;
pub mod lease;
mod lock;
pub mod netlink;
pub mod record;
pub mod rootless;
pub mod subnet;
pub mod subnet6;
mod xtables;

pub use attach::{plumb, release, reserve, Attachment, Endpoint, Request};
pub use error::{NetworkError, Result};
pub use lease::{Lease, Owner};
pub use record::{CreateOptions, Network, DEFAULT_NETWORK};
