//! The probe syntax of `--readiness`/`--liveness`/`--startup`
//! (`http :8080/healthz period=5s`, `tcp :6379`, `exec cat /tmp/ready`).
#![no_main]

use hoist_runtime::probe::Probe;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = Probe::parse("--readiness", text) {
            let _ = p.port();
        }
    }
});
