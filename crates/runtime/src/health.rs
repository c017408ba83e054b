//! HEALTHCHECK with docker's semantics: the image config's `Healthcheck` (or
//! the --health-* flags), checks run inside the container by the monitor,
//! `starting` → `healthy` / `unhealthy` after `Retries` consecutive failures,
//! failures during the start period not counted, a check that outlives its
//! timeout killed. The last five results are kept with their output.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// docker's config.Healthcheck (durations in nanoseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(default)]
    pub test: Vec<String>,
    #[serde(default)]
    pub interval: u64,
    #[serde(default)]
    pub timeout: u64,
    #[serde(default)]
    pub start_period: u64,
    #[serde(default)]
    pub start_interval: u64,
    #[serde(default)]
    pub retries: u32,
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: u32 = 3;
/// docker keeps this many results and this much output per result.
pub const MAX_LOG: usize = 5;
pub const MAX_OUTPUT: usize = 4096;

fn dur(ns: u64, default: Duration) -> Duration {
    if ns == 0 {
        default
    } else {
        Duration::from_nanos(ns)
    }
}

impl Healthcheck {
    /// The command to run, or None for `NONE` / an empty test.
    pub fn command(&self) -> Option<Vec<String>> {
        match self.test.first().map(String::as_str) {
            Some("CMD") => Some(self.test[1..].to_vec()).filter(|v| !v.is_empty()),
            Some("CMD-SHELL") => Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                self.test.get(1).cloned().unwrap_or_default(),
            ]),
            _ => None,
        }
    }
    pub fn interval(&self) -> Duration {
        dur(self.interval, DEFAULT_INTERVAL)
    }
    pub fn timeout(&self) -> Duration {
        dur(self.timeout, DEFAULT_TIMEOUT)
    }
    pub fn start_period(&self) -> Duration {
        Duration::from_nanos(self.start_period)
    }
    pub fn start_interval(&self) -> Duration {
        dur(self.start_interval, DEFAULT_START_INTERVAL)
    }
    pub fn retries(&self) -> u32 {
        if self.retries == 0 {
            DEFAULT_RETRIES
        } else {
            self.retries
        }
    }
}

/// Applies the --health-* flags over the image's check (docker's rules:
/// --no-healthcheck disables; --health-cmd replaces the test; each other flag
/// replaces its field).
pub fn merge(
    image: Option<Healthcheck>,
    o: &crate::container::config::HealthOverrides,
) -> Option<Healthcheck> {
    if o.none {
        return None;
    }
    let mut h = image.unwrap_or_default();
    if let Some(cmd) = &o.cmd {
        h.test = vec!["CMD-SHELL".into(), cmd.clone()];
    }
    let ns = |d: Duration| d.as_nanos() as u64;
    if let Some(d) = o.interval {
        h.interval = ns(d);
    }
    if let Some(d) = o.timeout {
        h.timeout = ns(d);
    }
    if let Some(d) = o.start_period {
        h.start_period = ns(d);
    }
    if let Some(d) = o.start_interval {
        h.start_interval = ns(d);
    }
    if let Some(r) = o.retries {
        h.retries = r;
    }
    h.command().is_some().then_some(h)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i32,
    pub output: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthState {
    /// starting, healthy or unhealthy
    pub status: String,
    pub failing_streak: u32,
    pub log: Vec<HealthResult>,
}

impl HealthState {
    pub fn starting() -> HealthState {
        HealthState {
            status: "starting".into(),
            ..Default::default()
        }
    }

    /// Records one result. `in_start_period`: a failure then does not count.
    pub fn record(&mut self, result: HealthResult, retries: u32, in_start_period: bool) {
        if result.exit_code == 0 {
            self.status = "healthy".into();
            self.failing_streak = 0;
        } else if !in_start_period || self.status != "starting" {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = "unhealthy".into();
            }
        }
        self.log.push(result);
        if self.log.len() > MAX_LOG {
            self.log.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i32) -> HealthResult {
        HealthResult {
            exit_code: code,
            ..Default::default()
        }
    }

    #[test]
    fn streaks_and_start_period() {
        let mut s = HealthState::starting();
        s.record(result(1), 2, true);
        assert_eq!((s.status.as_str(), s.failing_streak), ("starting", 0));
        s.record(result(0), 2, true);
        assert_eq!(s.status, "healthy");
        s.record(result(1), 2, false);
        assert_eq!((s.status.as_str(), s.failing_streak), ("healthy", 1));
        s.record(result(1), 2, false);
        assert_eq!(s.status, "unhealthy");
        for _ in 0..10 {
            s.record(result(1), 2, false);
        }
        assert_eq!(s.log.len(), MAX_LOG);
    }

    #[test]
    fn overrides() {
        let img = Healthcheck {
            test: vec!["CMD".into(), "true".into()],
            retries: 5,
            ..Default::default()
        };
        let o = crate::container::config::HealthOverrides {
            cmd: Some("exit 1".into()),
            interval: Some(Duration::from_millis(100)),
            ..Default::default()
        };
        let h = merge(Some(img.clone()), &o).unwrap();
        assert_eq!(h.command().unwrap()[2], "exit 1");
        assert_eq!((h.retries(), h.interval()), (5, Duration::from_millis(100)));
        let none = crate::container::config::HealthOverrides {
            none: true,
            ..Default::default()
        };
        assert!(merge(Some(img), &none).is_none());
        let nonecmd = Healthcheck {
            test: vec!["NONE".into()],
            ..Default::default()
        };
        assert!(merge(Some(nonecmd), &Default::default()).is_none());
    }
}
