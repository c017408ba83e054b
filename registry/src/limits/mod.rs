//! What a hostile or broken client may hold, and for how long: header,
//! idle and body read timeouts per connection (`conn.rs`, `body.rs`), open
//! upload sessions per repository and in total (`sessions.rs`), and JSON
//! nesting in manifests (`json_depth.rs`). Each refusal is a clear error and
//! a count in `/metrics` (`hoist_registry_limit_refusals_total{limit=..}`).

pub mod body;
pub mod config;
pub mod conn;
pub mod json_depth;
pub mod sessions;

pub use config::LimitsConfig;
pub use sessions::{SessionLimit, Sessions};

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Refusals by limit, for /metrics.
#[derive(Default)]
pub struct Counters {
    pub header_timeouts: AtomicU64,
    pub body_timeouts: AtomicU64,
    pub upload_sessions: AtomicU64,
    pub json_depth: AtomicU64,
}

impl Counters {
    pub fn count(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The limits of one server: its config, the open sessions, the counts.
pub struct Limits {
    pub config: LimitsConfig,
    pub sessions: Sessions,
    pub counters: Arc<Counters>,
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Self {
        Limits {
            config: config.clone(),
            sessions: Sessions::new(
                config.max_upload_sessions_per_repository,
                config.max_upload_sessions,
                Duration::from_secs(config.upload_session_idle_seconds),
            ),
            counters: Arc::default(),
        }
    }

    /// The connection timeouts, for [`conn::TimedAcceptor`].
    pub fn timeouts(&self) -> conn::Timeouts {
        conn::Timeouts {
            header: self.config.header_timeout(),
            idle: self.config.idle_timeout(),
            counters: self.counters.clone(),
        }
    }

    /// Takes a place for a new upload session in `repo`; the error says
    /// which limit is hit and what to do.
    pub fn reserve_session(&self, repo: &str) -> Result<sessions::Reservation<'_>, String> {
        self.sessions.reserve(repo).map_err(|e| {
            self.counters.count(&self.counters.upload_sessions);
            e.to_string()
        })
    }

    /// Refuses a manifest body nested deeper than `max_json_depth`.
    pub fn check_json_depth(&self, body: &[u8]) -> Result<(), String> {
        let max = self.config.max_json_depth;
        match json_depth::excess_depth(body, max) {
            None => Ok(()),
            Some(_) => {
                self.counters.count(&self.counters.json_depth);
                Err(format!(
                    "JSON nested more than {max} levels deep (limits.max_json_depth); \
                     no manifest needs that"
                ))
            }
        }
    }

    /// Prometheus text for the refusal counts and the open sessions.
    pub fn render(&self) -> String {
        let c = &self.counters;
        let mut out = String::from(
            "# HELP hoist_registry_limit_refusals_total Requests refused or cut off by a limit.\n\
             # TYPE hoist_registry_limit_refusals_total counter\n",
        );
        for (limit, n) in [
            ("header_timeout", &c.header_timeouts),
            ("body_timeout", &c.body_timeouts),
            ("upload_sessions", &c.upload_sessions),
            ("json_depth", &c.json_depth),
        ] {
            let _ = writeln!(
                out,
                "hoist_registry_limit_refusals_total{{limit=\"{limit}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP hoist_registry_upload_sessions_open Upload sessions counted against the limits.\n\
             # TYPE hoist_registry_upload_sessions_open gauge\n\
             hoist_registry_upload_sessions_open {}",
            self.sessions.open_count()
        );
        out
    }
}
