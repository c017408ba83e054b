//! The Dockerfile parser: any text is a Dockerfile or a positioned error.
//!
//! The body of fuzz target `dockerfile`, shared by fuzz_targets/dockerfile.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = hoist_builder::dockerfile::parse("Dockerfile", text) {
            // Rendering the error (with its source excerpt) must not panic either.
            let _ = e.to_string();
        }
    }
}
