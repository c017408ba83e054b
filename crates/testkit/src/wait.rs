//! Waiting for a condition with a deadline, polling quickly: tests never sleep
//! a fixed time hoping something happened.

use std::time::{Duration, Instant};

/// Polls `cond` until it is true; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        if cond() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Polls `f` until it returns `Some`, and returns the value.
pub fn wait_until_ok<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let mut out = None;
    wait_until(what, timeout, || {
        out = f();
        out.is_some()
    });
    out.unwrap()
}
