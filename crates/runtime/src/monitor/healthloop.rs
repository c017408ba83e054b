//! The monitor's health-check loop: run the check inside the container every
//! interval (start interval during the start period), kill it at its timeout,
//! record the result in state.json.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::Shared;
use crate::exec::{exec_in, ExecOptions};
use crate::health::{HealthResult, Healthcheck, MAX_OUTPUT};

pub fn run(shared: &Shared, h: &Healthcheck) {
    let started = Instant::now();
    loop {
        let in_start = started.elapsed() < h.start_period();
        let pause = if in_start && h.start_interval > 0 {
            h.start_interval()
        } else {
            h.interval()
        };
        if shared.wait_exit(Some(pause)).is_some() {
            return;
        }
        let in_start = started.elapsed() < h.start_period();
        let result = check_once(shared, h);
        if shared.exited() {
            return;
        }
        shared.update(|s| {
            let health = s
                .health
                .get_or_insert_with(crate::health::HealthState::starting);
            health.record(result, h.retries(), in_start);
        });
    }
}

/// Runs the check once (also used by `hoist healthcheck run`).
pub fn check_once(shared: &Shared, h: &Healthcheck) -> HealthResult {
    run_check(&shared.root, &shared.rec, h)
}

/// Runs `h` in the container and returns the result (exit code -1 when it
/// could not run or was killed at the timeout, like docker).
pub fn run_check(
    root: &std::path::Path,
    rec: &crate::container::ContainerRecord,
    h: &Healthcheck,
) -> HealthResult {
    let start = crate::time::now();
    let done = |code: i32, output: String| HealthResult {
        start: start.clone(),
        end: crate::time::now(),
        exit_code: code,
        output,
    };
    let Some(argv) = h.command() else {
        return done(-1, "no health check command".into());
    };
    let (r, w) = match crate::core::spawn::pipe() {
        Ok(p) => p,
        Err(e) => return done(-1, e.to_string()),
    };
    let null = match std::fs::File::open("/dev/null") {
        Ok(f) => f,
        Err(e) => return done(-1, e.to_string()),
    };
    let opts = ExecOptions {
        argv,
        ..Default::default()
    };
    let pid = match exec_in(
        root,
        rec,
        &opts,
        [null.as_raw_fd(), w.as_raw_fd(), w.as_raw_fd()],
    ) {
        Ok(pid) => pid,
        Err(e) => return done(-1, e.to_string()),
    };
    drop(w);
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::fs::File::from(r)
            .take(MAX_OUTPUT as u64 * 4)
            .read_to_end(&mut buf);
        buf.truncate(MAX_OUTPUT);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let deadline = Instant::now() + h.timeout();
    let mut timed_out = false;
    let code = loop {
        let mut status = 0;
        // SAFETY: polling our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG | libc::__WALL) };
        if r == pid {
            break crate::core::exit_code_of_status(status);
        }
        if r < 0 {
            break -1;
        }
        if Instant::now() >= deadline {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, libc::__WALL);
            }
            timed_out = true;
            break -1;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = if timed_out {
        format!("Health check exceeded timeout ({:?})", h.timeout())
    } else {
        reader.join().unwrap_or_default()
    };
    done(code, output)
}
