//! Prometheus metrics kept in plain atomics and one small map, rendered in
//! the text exposition format at /metrics.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Metrics {
    /// Counted for every request, under one lock taken once per request.
    counts: Mutex<RequestCounts>,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub uploads_started: AtomicU64,
    pub uploads_completed: AtomicU64,
    pub storage_errors: AtomicU64,
    /// The pull-through cache's counters (proxy/), shared with it.
    pub proxy: Arc<ProxyCounters>,
    /// Per notification endpoint (notify/), in configuration order.
    notifications: Mutex<Vec<(String, Arc<NotifyCounters>)>>,
    /// Scheduled retention and GC rounds (retention/schedule.rs).
    pub gc: crate::retention::schedule::GcCounters,
}

#[derive(Default)]
struct RequestCounts {
    /// (route, method, status) -> count
    requests: BTreeMap<(&'static str, Cow<'static, str>, u16), u64>,
    /// (route) -> (sum of seconds, count), for mean latency per route
    durations: BTreeMap<&'static str, (f64, u64)>,
}

/// The label of a request method: HTTP's own methods without an allocation
/// (this runs for every request), any other spelled as it came.
fn method_label(method: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    match KNOWN.iter().find(|k| **k == method) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(method.to_string()),
    }
}

/// Picks one counter out of an endpoint's set.
type CounterOf = fn(&NotifyCounters) -> &AtomicU64;

/// One notification endpoint's counters: events queued for it, delivered,
/// failed delivery attempts, dropped (queue full or unwritable), and the
/// events waiting on disk now.
#[derive(Default)]
pub struct NotifyCounters {
    pub queued: AtomicU64,
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub pending: AtomicU64,
}

/// Pull-through cache counters: requests answered from the cache, requests
/// that fetched content from upstream, and the body bytes fetched.
#[derive(Default)]
pub struct ProxyCounters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub upstream_bytes: AtomicU64,
}

impl ProxyCounters {
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn record(&self, route: &'static str, method: &str, status: u16, seconds: f64) {
        let mut counts = self.counts.lock().unwrap();
        *counts
            .requests
            .entry((route, method_label(method), status))
            .or_default() += 1;
        let e = counts.durations.entry(route).or_default();
        e.0 += seconds;
        e.1 += 1;
    }

    /// The counters of notification endpoint `name` (made on first use).
    pub fn notify_endpoint(&self, name: &str) -> Arc<NotifyCounters> {
        let mut all = self.notifications.lock().unwrap();
        if let Some((_, c)) = all.iter().find(|(n, _)| n == name) {
            return c.clone();
        }
        let c = Arc::new(NotifyCounters::default());
        all.push((name.to_string(), c.clone()));
        c
    }

    fn render_notifications(&self, out: &mut String) {
        let all = self.notifications.lock().unwrap();
        if all.is_empty() {
            return;
        }
        let families: [(&str, &str, &str, CounterOf); 5] = [
            (
                "queued_total",
                "counter",
                "Events queued for a notification endpoint.",
                |c| &c.queued,
            ),
            (
                "sent_total",
                "counter",
                "Events a notification endpoint accepted.",
                |c| &c.sent,
            ),
            (
                "failed_total",
                "counter",
                "Failed notification delivery attempts (retried).",
                |c| &c.failed,
            ),
            (
                "dropped_total",
                "counter",
                "Events dropped: the endpoint's queue was full or unwritable.",
                |c| &c.dropped,
            ),
            (
                "pending",
                "gauge",
                "Events waiting in the endpoint's on-disk queue.",
                |c| &c.pending,
            ),
        ];
        for (suffix, kind, help, field) in families {
            let name = format!("hoist_registry_notifications_{suffix}");
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (endpoint, c) in all.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{endpoint=\"{endpoint}\"}} {}",
                    field(c).load(Ordering::Relaxed)
                );
            }
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP hoist_registry_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE hoist_registry_requests_total counter\n");
        let counts = self.counts.lock().unwrap();
        for ((route, method, status), n) in counts.requests.iter() {
            let _ = writeln!(
                out,
                "hoist_registry_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP hoist_registry_request_seconds Time spent answering requests by route.\n",
        );
        out.push_str("# TYPE hoist_registry_request_seconds summary\n");
        for (route, (sum, count)) in counts.durations.iter() {
            let _ = writeln!(
                out,
                "hoist_registry_request_seconds_sum{{route=\"{route}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "hoist_registry_request_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        drop(counts);
        let counters = [
            (
                "hoist_registry_bytes_received_total",
                "Request body bytes received.",
                &self.bytes_in,
            ),
            (
                "hoist_registry_bytes_sent_total",
                "Response body bytes sent.",
                &self.bytes_out,
            ),
            (
                "hoist_registry_uploads_started_total",
                "Blob upload sessions started.",
                &self.uploads_started,
            ),
            (
                "hoist_registry_uploads_completed_total",
                "Blob uploads verified and stored.",
                &self.uploads_completed,
            ),
            (
                "hoist_registry_storage_errors_total",
                "Storage backend failures.",
                &self.storage_errors,
            ),
            (
                "hoist_registry_proxy_hits_total",
                "Pull-through requests answered from the cache.",
                &self.proxy.hits,
            ),
            (
                "hoist_registry_proxy_misses_total",
                "Pull-through requests that fetched content from upstream.",
                &self.proxy.misses,
            ),
            (
                "hoist_registry_proxy_upstream_bytes_total",
                "Manifest and blob bytes fetched from upstream.",
                &self.proxy.upstream_bytes,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        self.render_notifications(&mut out);
        self.gc.render(&mut out);
        out
    }
}
