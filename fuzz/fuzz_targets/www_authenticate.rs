//! The client's `WWW-Authenticate` challenge parser (a registry, or anyone
//! in the middle, chooses these bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(c) = hoist_client::auth::challenge::parse(text) {
            assert!(!c.scheme.is_empty());
            let _ = (c.is_bearer(), c.is_basic());
        }
    }
});
