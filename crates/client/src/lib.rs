//! hoist's registry client: credentials (docker config.json, containers
//! auth.json), authentication (anonymous, basic, bearer token flow), and
//! push/pull between the local store and any OCI registry with parallel,
//! resumable, digest-verified transfers. Reports progress through events and
//! never prints.

pub mod auth;
pub mod blob_thread;
pub mod credentials;
pub mod credhelper;
pub mod download;
pub mod error;
pub mod layer_check;
pub mod local;
pub mod manifest;
pub mod mirrors;
pub mod progress;
pub mod pull;
pub mod push;
pub mod retry;
pub mod sources;
pub mod transport;
pub mod upload;

pub use credentials::{Credential, CredentialFiles};
pub use error::{ClientError, Result, Site};
pub use transport::{ClientOptions, Registry};
