//! `hoist kube play`: Kubernetes objects as hoist's desired state, planned and applied by
//! the shared reconciler (crates/reconcile), one workload at a time.
//!
//! ```text
//! read (YAML documents) → object (k8s-openapi types) → manifest (+ warnings) → check
//!   → desired (per workload) → reconcile::plan_up → apply through KubeDriver → keepers
//! ```

pub mod apply;
pub mod check;
pub mod deadline;
pub mod desired;
pub mod driver;
pub mod error;
pub mod fields;
pub mod keeper;
pub mod labels;
pub mod manifest;
pub mod object;
pub mod read;
pub mod service;
pub mod spec;
pub mod units;

pub use apply::{down, play, PlayError, PlayOptions};
pub use error::{KubeError, Result};
pub use manifest::{load, Manifest};

#[cfg(test)]
mod tests;
