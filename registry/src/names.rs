//! Name grammar checks (repository names, tags) as hoist-oci defines them.

pub use hoist_oci::{validate_repository_name, validate_tag};
