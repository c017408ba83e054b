//! Notifications: distribution's event envelope POSTed to configured
//! endpoints on manifest push, manifest and blob pull, and deletes.
//!
//! Handlers only enqueue (a small file write); each endpoint's sender task
//! does the network, so a slow or dead endpoint never holds up a request.
//!
//! config.rs   `[[notifications.endpoints]]`, distribution's keys
//! event.rs    the envelope's JSON
//! queue.rs    the bounded on-disk queue per endpoint
//! sender.rs   delivery with retries and backoff

pub mod config;
pub mod event;
mod queue;
mod sender;

pub use config::{EndpointConfig, NotificationsConfig};
pub use event::{Action, RequestInfo, Target};

use crate::metrics::Metrics;
use event::{Actor, Envelope, Event, Source};
use sender::Endpoint;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

pub struct Notifier {
    endpoints: Vec<Arc<Endpoint>>,
    source: Source,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Notifier {
    /// Opens each enabled endpoint's queue under `<queue_root>/<name>`.
    /// Sender tasks start with `start`, on the server's runtime.
    pub fn new(
        config: &NotificationsConfig,
        queue_root: &Path,
        source_addr: &str,
        metrics: &Metrics,
    ) -> Result<Notifier, String> {
        let mut endpoints = Vec::new();
        for ep in config.endpoints.iter().filter(|e| !e.disabled) {
            let dir = queue_root.join(&ep.name);
            let queue = queue::Queue::open(&dir, ep.queue_max_events, ep.queue_max_bytes)
                .map_err(|e| format!("notification queue {}: {e}", dir.display()))?;
            let counters = metrics.notify_endpoint(&ep.name);
            counters
                .pending
                .store(queue.len() as u64, Ordering::Relaxed);
            endpoints.push(Arc::new(Endpoint {
                config: ep.clone(),
                queue,
                counters,
                wake: tokio::sync::Notify::new(),
            }));
        }
        Ok(Notifier {
            endpoints,
            source: Source {
                addr: source_addr.to_string(),
                instance_id: event::new_id(),
            },
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Starts one sender per endpoint; events queued before (by a previous
    /// run) are sent first.
    pub fn start(&self) {
        let mut tasks = self.tasks.lock().unwrap();
        for ep in &self.endpoints {
            tasks.push(tokio::spawn(sender::run(ep.clone())));
        }
    }

    /// Stops the senders; queued events stay on disk for the next start.
    pub fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// Whether any endpoint is configured: without one, requests build nothing for
    /// notifications (the per-request path stays as cheap as before).
    pub fn enabled(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// Queues an event for every endpoint whose filters admit it. Never
    /// waits on the network; a queue that cannot be written is logged and
    /// counted as a drop, never an error for the request.
    pub fn emit(&self, action: Action, target: Target, request: &RequestInfo, actor: Option<&str>) {
        if self.endpoints.is_empty() {
            return;
        }
        let event = Event {
            id: event::new_id(),
            timestamp: crate::api::ops::rfc3339_now(),
            action,
            target,
            request: request.clone(),
            actor: Actor {
                name: actor.unwrap_or("").to_string(),
            },
            source: self.source.clone(),
        };
        let body = match serde_json::to_vec(&Envelope { events: [&event] }) {
            Ok(b) => b,
            Err(_) => return,
        };
        for ep in &self.endpoints {
            if !admits(&ep.config, &event) {
                continue;
            }
            match ep.queue.push(&body) {
                Ok(dropped) => {
                    ep.counters.queued.fetch_add(1, Ordering::Relaxed);
                    ep.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
                }
                Err(e) => {
                    ep.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(endpoint = %ep.config.name, error = %e,
                        "notification queue write failed; event dropped");
                }
            }
            ep.counters
                .pending
                .store(ep.queue.len() as u64, Ordering::Relaxed);
            ep.wake.notify_one();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The endpoint's `ignoredmediatypes` and `ignore` filters.
fn admits(config: &EndpointConfig, event: &Event) -> bool {
    let media = &event.target.media_type;
    let ignored_media = config
        .ignoredmediatypes
        .iter()
        .chain(&config.ignore.mediatypes)
        .any(|m| m == media);
    let ignored_action = config
        .ignore
        .actions
        .iter()
        .any(|a| a == event.action.as_str());
    !ignored_media && !ignored_action
}
