//! `[limits]` in the registry's config file: how long and how much a client
//! may hold the server's resources.

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// A request's head (request line and headers) must arrive within this
    /// many seconds of its first byte; else 408 and the connection closes.
    pub header_timeout_seconds: f64,
    /// A connection that starts no request for this long is closed (the
    /// keep-alive idle time).
    pub idle_timeout_seconds: f64,
    /// A request body may stall (no byte arriving while the server waits
    /// for one) at most this long; it is also the grace time of the rate
    /// rule below.
    pub body_timeout_seconds: f64,
    /// While the server reads a body, it must arrive at this many bytes per
    /// second on average (after `body_timeout_seconds` of grace): one byte a
    /// second cannot hold a connection for ever. 0 turns the rule off.
    pub body_min_bytes_per_second: u64,
    /// Upload sessions open at once in one repository.
    pub max_upload_sessions_per_repository: usize,
    /// Upload sessions open at once in the whole registry.
    pub max_upload_sessions: usize,
    /// A session with no request for this long no longer counts against the
    /// limits above (it stays resumable until `registry gc` removes it).
    pub upload_session_idle_seconds: u64,
    /// Deepest nesting of JSON arrays and objects accepted in a manifest.
    pub max_json_depth: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            header_timeout_seconds: 30.0,
            idle_timeout_seconds: 120.0,
            body_timeout_seconds: 60.0,
            body_min_bytes_per_second: 1024,
            max_upload_sessions_per_repository: 256,
            max_upload_sessions: 4096,
            upload_session_idle_seconds: 3600,
            max_json_depth: 32,
        }
    }
}

impl LimitsConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("header_timeout_seconds", self.header_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
            ("body_timeout_seconds", self.body_timeout_seconds),
        ] {
            if !(v > 0.0 && v <= 86_400.0) {
                return Err(format!(
                    "limits.{name} = {v}: must be more than 0 and at most 86400 seconds"
                ));
            }
        }
        for (name, v) in [
            (
                "max_upload_sessions_per_repository",
                self.max_upload_sessions_per_repository,
            ),
            ("max_upload_sessions", self.max_upload_sessions),
            ("max_json_depth", self.max_json_depth),
        ] {
            if v == 0 {
                return Err(format!("limits.{name} = 0: must be at least 1"));
            }
        }
        Ok(())
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.header_timeout_seconds)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.idle_timeout_seconds)
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.body_timeout_seconds)
    }
}
