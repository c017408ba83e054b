//! The per-network DNS responder: answers container names and aliases of one network and
//! forwards every other name to the host's resolvers.
//!
//! There is no resident daemon. `ensure_responder` starts `hoist __dns NETWORK` on demand
//! (one process per network, found again through a pidfile that carries the process start
//! time), the responder binds UDP and TCP port 53 on the network's gateway address, answers
//! from the lease files the IPAM writes under `networks/<name>/leases/` (its own network's,
//! and those of the asking container's other networks), and exits by itself
//! once the network has had no lease for `IDLE_GRACE`. `stop_responder` ends it at once
//! (`network rm`).

mod answer;
mod clients;
mod error;
mod lifecycle;
mod names;
mod paths;
mod pidfile;
mod record;
mod resolv;
mod scope;
mod server;
mod upstream;

pub use error::DnsError;
pub use lifecycle::{ensure_responder, responder_pid, stop_responder, ResponderInfo};
pub use resolv::ResolvConf;
pub use server::{serve, Ready, ServeOptions};

use std::time::Duration;

/// How long a network may have no lease before its responder exits by itself. Long
/// enough that `rm a && run b` in a script does not restart it in between.
pub const IDLE_GRACE: Duration = Duration::from_secs(5);

/// The port the responder listens on (containers' resolv.conf cannot name another).
pub const DNS_PORT: u16 = 53;

/// TTL of the answers for container names: 0, so a removed container stops resolving
/// at once even behind a caching stub inside a container.
pub const NAME_TTL: u32 = 0;
