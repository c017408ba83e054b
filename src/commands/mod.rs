//! One function per verb: arguments in, library calls, rendered output.

pub mod build;
pub mod compose;
pub mod container;
pub mod dns;
pub mod events;
pub mod groups;
pub mod image;
pub mod kube;
pub mod network;
pub mod registry;
pub mod system;
pub mod transfer;

use std::fmt;

/// An error that carries the process exit code it should end with
/// (docker's conventions: 125 for hoist's own failure in `run`, 126, 127, ...).
pub struct Coded {
    pub code: i32,
    pub inner: anyhow::Error,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.inner)
    }
}

impl fmt::Debug for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.inner)
    }
}

impl std::error::Error for Coded {}

/// Wraps an error so that the process exits with `code`.
#[allow(dead_code)] // used by the container verbs
pub fn coded(code: i32, inner: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(Coded { code, inner })
}

/// The exit code for an error: its own when it carries one, else 1.
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Coded>().map(|c| c.code))
        .unwrap_or(1)
}
