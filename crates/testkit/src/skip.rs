//! Skipping tests honestly: a skip prints why, and under `HOIST_TEST_STRICT=1`
//! (set by CI) a skip is a failure, so nothing passes in CI by not running.

/// True when `HOIST_TEST_STRICT=1`.
pub fn strict() -> bool {
    std::env::var("HOIST_TEST_STRICT")
        .map(|v| v == "1")
        .unwrap_or(false)
}

/// True when running as root (uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Prints why a test is skipped, or panics with that reason when strict.
pub fn skip_or_fail(test: &str, reason: &str) {
    if strict() {
        panic!("{test}: cannot run ({reason}) and HOIST_TEST_STRICT=1 forbids skipping");
    }
    eprintln!("SKIPPED {test}: {reason}");
}

/// Returns from the current test (skipping it) unless running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::is_root() {
            $crate::skip_or_fail(module_path!(), "needs root");
            return;
        }
    };
}

/// Returns from the current test (skipping it) unless `program` is on PATH.
#[macro_export]
macro_rules! require_program {
    ($program:expr) => {
        if !$crate::have_program($program) {
            $crate::skip_or_fail(
                module_path!(),
                &format!("`{}` is not installed (.ci/run installs it)", $program),
            );
            return;
        }
    };
}
