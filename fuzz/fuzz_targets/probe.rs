//! The probe syntax of `--readiness`/`--liveness`/`--startup`
//! (`http :8080/healthz period=5s`, `tcp :6379`, `exec cat /tmp/ready`).
#![no_main]

#[path = "../bodies/probe.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
