//! The Dockerfile parser: any text is a Dockerfile or a positioned error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = hoist_builder::dockerfile::parse("Dockerfile", text) {
            // Rendering the error (with its source excerpt) must not panic either.
            let _ = e.to_string();
        }
    }
});
