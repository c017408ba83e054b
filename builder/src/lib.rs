//! hoist's Dockerfile builder: `dockerfile` parses (pure), `plan` orders the
//! stages, `cache` remembers finished steps, `exec` runs them against the
//! store (COPY/ADD directly, RUN in a container from the runtime).

pub mod cache;
pub mod cache_export;
pub mod cachemount;
pub mod config;
pub mod context;
pub mod dockerfile;
pub mod error;
pub mod exec;
pub mod export;
pub mod filehash;
pub mod glob;
pub mod ignore;
pub mod multi;
pub mod plan;
pub mod platform;
pub mod secrets;

pub use error::{BuildError, Result};
pub use exec::{build, BuildOptions, Built, Event, Events, NamedContext, Network, PullMissing};
pub use multi::build_platforms;
pub use secrets::SecretSource;
