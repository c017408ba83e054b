//! Stopping and signalling a running container, through its monitor's
//! socket, or on its cgroup directly when its monitor died and left
//! processes behind (container/unsupervised.rs).

use std::time::{Duration, Instant};

use super::Lifecycle;
use crate::container::{self, state, ContainerRecord, Status};
use crate::error::{Result, RuntimeError};
use crate::monitor::control::{call, Request};

/// How to stop: `signal` (default: the image's STOPSIGNAL, else SIGTERM),
/// then SIGKILL after `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopOptions {
    pub timeout: Duration,
    pub signal: Option<i32>,
}

impl Default for StopOptions {
    /// docker's: 10 s, the container's stop signal.
    fn default() -> StopOptions {
        StopOptions {
            timeout: Duration::from_secs(10),
            signal: None,
        }
    }
}

impl StopOptions {
    /// The monitor takes whole seconds; a fraction counts as one more.
    fn timeout_secs(&self) -> u64 {
        self.timeout.as_secs() + u64::from(self.timeout.subsec_nanos() > 0)
    }
}

/// "SIGTERM", "TERM", "15" -> 15.
pub fn parse_signal(s: &str) -> Result<i32> {
    crate::monitor::parse_signal(s).ok_or_else(|| RuntimeError::UnknownSignal(s.to_string()))
}

impl Lifecycle {
    /// Stops the container if it runs (or waits to restart) and returns once
    /// nothing of it runs. Its restart policy will not undo this stop.
    pub fn stop(&self, rec: &ContainerRecord, opts: StopOptions) -> Result<()> {
        let dir = self.dir(rec);
        let failed = |message: String| RuntimeError::Stop {
            name: rec.name.clone(),
            message,
        };
        // The monitor checks this flag before every restart (restart.rs).
        crate::restart::request_stop(&dir);
        self.thaw_if_paused(rec)?;
        let secs = opts.timeout_secs();
        let deadline = Instant::now() + Duration::from_secs(secs + 30);
        loop {
            let st = state::read_live(&dir);
            match st.status {
                // Its monitor died and left processes behind: nobody to ask.
                Status::Running if st.unsupervised => {
                    let sig = opts
                        .signal
                        .unwrap_or_else(|| crate::monitor::stop_signal(rec));
                    container::unsupervised::stop(self.root(), rec, opts.timeout, sig);
                    return Ok(());
                }
                Status::Running => {
                    let req = Request::Stop {
                        timeout: secs,
                        signal: opts.signal,
                    };
                    match call(&dir, &req, Some(Duration::from_secs(secs + 30))) {
                        Ok(reply) => {
                            if let Some(e) = reply.error {
                                return Err(failed(e));
                            }
                            wait_monitor_gone(&st);
                            return Ok(());
                        }
                        // Between two runs of a restarting container the
                        // socket is briefly gone: try again.
                        Err(e) if Instant::now() >= deadline => return Err(failed(e.to_string())),
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
                Status::Restarting => {
                    wait_monitor_gone(&st);
                    if Instant::now() >= deadline {
                        return Err(failed("its monitor does not end".into()));
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Sends `signal` to the container's main process.
    pub fn kill(&self, rec: &ContainerRecord, signal: i32) -> Result<()> {
        let dir = self.dir(rec);
        let st = state::read_live(&dir);
        if st.status != Status::Running {
            return Err(RuntimeError::NotRunning(rec.name.clone()));
        }
        self.thaw_if_paused(rec)?;
        if st.unsupervised {
            if !container::unsupervised::signal(rec, signal) {
                return Err(RuntimeError::NotRunning(rec.name.clone()));
            }
            return Ok(());
        }
        let reply = call(
            &dir,
            &Request::Kill { signal },
            Some(Duration::from_secs(10)),
        )?;
        match reply.error {
            Some(message) => Err(RuntimeError::Kill {
                name: rec.name.clone(),
                message,
            }),
            None => Ok(()),
        }
    }
}

/// Waits (briefly) until the monitor process has gone, so that after `stop`
/// returns nothing of the container is left running.
fn wait_monitor_gone(st: &state::State) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while state::monitor_alive(st) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_seconds() {
        let secs = |ms| {
            StopOptions {
                timeout: Duration::from_millis(ms),
                signal: None,
            }
            .timeout_secs()
        };
        assert_eq!(secs(0), 0);
        assert_eq!(secs(1), 1);
        assert_eq!(secs(1000), 1);
        assert_eq!(secs(10_500), 11);
    }

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("sigkill").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("1").unwrap(), libc::SIGHUP);
        let err = parse_signal("SIGNOPE").unwrap_err();
        assert!(err.to_string().contains("SIGNOPE"), "{err}");
    }
}
