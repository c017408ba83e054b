//! The Dockerfile parser: any text is a Dockerfile or a positioned error.
#![no_main]

#[path = "../bodies/dockerfile.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
