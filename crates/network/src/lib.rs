//! Container networks without a daemon (docker's model): a network is a record under the
//! store plus what it needs on the host, made on demand and removed with its last user.
//! The runtime asks this crate to attach a network namespace and to detach it; nothing here
//! knows containers beyond an id, a name and aliases.

pub mod dns;
