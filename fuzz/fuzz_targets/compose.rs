//! The compose loader, whole: YAML, interpolation, merge, normalization and
//! validation of a compose.yaml written to a fresh directory on /dev/shm.
#![no_main]

#[path = "../bodies/compose.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
