//! The client's `WWW-Authenticate` challenge parser (a registry, or anyone
//! in the middle, chooses these bytes).
#![no_main]

#[path = "../bodies/www_authenticate.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
