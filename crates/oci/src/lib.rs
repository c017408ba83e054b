//! OCI vocabulary for hoist: image references, content digests, media types,
//! and manifests (OCI via `oci-spec`, plus Docker schema2 read and converted).
//! Pure: nothing here touches the filesystem or the network.

mod digest;
mod error;
pub mod media_types;
mod reference;
pub mod schema2;

pub use digest::{Algorithm, Digest, Hasher};
pub use error::OciError;
pub use oci_spec;
pub use reference::{validate_repository_name, validate_tag, Reference, DEFAULT_REGISTRY};
pub use schema2::{parse_manifest, AnyManifest};
