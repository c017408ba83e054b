//! The registry server's request parsing: path routing (names with `/`,
//! percent escapes, digests), query strings, `Range` and `Content-Range`.
#![no_main]

#[path = "../bodies/registry_http.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
