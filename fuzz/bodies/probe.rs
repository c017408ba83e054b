//! The probe syntax of `--readiness`/`--liveness`/`--startup`
//! (`http :8080/healthz period=5s`, `tcp :6379`, `exec cat /tmp/ready`).
//!
//! The body of fuzz target `probe`, shared by fuzz_targets/probe.rs and the
//! e2e corpus replay (tests/e2e/fuzz_corpus.rs).

use hoist_runtime::probe::Probe;

pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = Probe::parse("--readiness", text) {
            let _ = p.port();
        }
    }
}
