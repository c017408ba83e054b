//! Image references, repository names, tags and digests. A reference that
//! parses must print to text that parses back to the same reference.
#![no_main]

#[path = "../bodies/reference.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
