//! hoist's Dockerfile builder: `dockerfile` parses (pure), `plan` orders the
//! stages, `cache` remembers finished steps, `exec` runs them against the store.

pub mod config;
pub mod context;
pub mod dockerfile;
pub mod error;
pub mod glob;
pub mod ignore;
pub mod plan;
