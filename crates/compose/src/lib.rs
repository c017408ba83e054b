//! The Compose Specification, the pure half: find and read compose files, interpolate
//! variables, merge files, normalize every short syntax into one typed model, filter by
//! profile and validate; then (`desired`) the project as the reconciler's desired state.
//! Nothing here touches containers: hoist-reconcile plans and applies.

pub mod error;
pub mod yaml;

pub use error::{ComposeError, Result};
pub mod desired;
pub mod envfile;
pub mod interpolate;
pub mod merge;
pub mod model;
pub mod normalize;
pub mod project;
pub mod units;
pub mod validate;

pub use model::{Project, Warning};
pub use project::{load, Loaded, Options};
pub mod render;
