//! Manifests, indexes and image configs as a registry or an archive sends
//! them: the oci crate's parser under every declared media type, the
//! client's digest-validating parser, and the image config.
//!
//! The body of fuzz target `manifest`, shared by fuzz_targets/manifest.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

use hoist_oci::media_types;
use hoist_oci::oci_spec::image::ImageConfiguration;

const DECLARED: [Option<&str>; 5] = [
    None,
    Some(media_types::OCI_MANIFEST),
    Some(media_types::OCI_INDEX),
    Some(media_types::DOCKER_MANIFEST),
    Some(media_types::DOCKER_MANIFEST_LIST),
];

pub fn run(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let declared = DECLARED[usize::from(selector) % DECLARED.len()];
    let _ = hoist_oci::parse_manifest(declared, bytes);
    let site = hoist_client::Site::new("registry.fuzz", "repo", "fuzz");
    let _ = hoist_client::manifest::parse(bytes, declared.unwrap_or(""), &site);
    let _ = serde_json::from_slice::<ImageConfiguration>(bytes);
}
