//! The reconciler over hoist's own runtime: the container specification front-ends fill in
//! ([`ContainerSpec`]), reading what exists from the containers' labels ([`observe`]), and
//! the [`Driver`](crate::Driver) that carries a plan out through the runtime's lifecycle API
//! ([`RuntimeDriver`]).

mod driver;
mod observe;

pub use driver::{DriverError, RuntimeDriver};
pub use observe::{observe, LabelKeys};

use hoist_runtime::container::config::RunOptions;
use hoist_runtime::probe::Probes;

/// What one replica of a service is created from. `options.name` is set per replica.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// An image name or ID in the store.
    pub image: String,
    pub options: RunOptions,
    pub probes: Probes,
    /// Overrides the image's STOPSIGNAL.
    pub stop_signal: Option<String>,
    /// The label that records the replica's number (compose's
    /// `com.docker.compose.container-number`), added per replica.
    pub number_label: Option<String>,
}
