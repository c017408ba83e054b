//! The layer unpacker, into a fresh directory on /dev/shm (tmpfs) removed
//! after every input. Whatever the tar says, nothing may land outside it.
#![no_main]

#[path = "../bodies/layer_unpack.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
