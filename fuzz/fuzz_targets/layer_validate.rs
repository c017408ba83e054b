//! The layer tar validator (`hoist import`, pulls): gzip, zstd or plain tar
//! bytes are judged safe or refused with an error, within the limits.
#![no_main]

#[path = "../bodies/layer_validate.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
