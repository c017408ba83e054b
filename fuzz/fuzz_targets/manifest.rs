//! Manifests, indexes and image configs as a registry or an archive sends
//! them: the oci crate's parser under every declared media type, the
//! client's digest-validating parser, and the image config.
#![no_main]

#[path = "../bodies/manifest.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
