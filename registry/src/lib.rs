//! hoist's registry server: the OCI Distribution Spec v1.1 over a pluggable
//! byte store, with auth (htpasswd, bearer tokens), TLS, metrics and GC.
//!
//! Layers, each using only the one below: `api` (HTTP) -> `storage` (what
//! blobs, manifests, tags and uploads mean, and where they live) -> `driver`
//! (bytes by key). `auth`, `metrics` and `gc` sit beside them.

pub mod api;
pub mod auth;
pub mod config;
pub mod digests;
pub mod driver;
pub mod error;
pub mod gc;
pub mod limits;
mod linger;
pub mod media;
pub mod metrics;
pub mod names;
pub mod notify;
pub mod proxy;
pub mod retention;
pub mod scrub;
pub mod server;
pub mod storage;
pub mod workers;

pub use config::Config;
pub use error::RegistryError;
pub use server::{build, start, Running, ServeError};
