//! The client's `WWW-Authenticate` challenge parser (a registry, or anyone
//! in the middle, chooses these bytes).
//!
//! The body of fuzz target `www_authenticate`, shared by fuzz_targets/www_authenticate.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(c) = hoist_client::auth::challenge::parse(text) {
            assert!(!c.scheme.is_empty());
            let _ = (c.is_bearer(), c.is_basic());
        }
    }
}
