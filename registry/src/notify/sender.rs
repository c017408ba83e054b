//! One task per endpoint: takes the oldest queued event, POSTs it, and only
//! removes it once the endpoint answered 2xx/3xx (distribution's success
//! range); on failure it waits `backoff`, doubling after `threshold`
//! consecutive failures (capped at a minute), and tries the same event again.

use super::config::EndpointConfig;
use super::event::ENVELOPE_MEDIA_TYPE;
use super::queue::Queue;
use crate::metrics::NotifyCounters;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

const MAX_DELAY: Duration = Duration::from_secs(60);

pub struct Endpoint {
    pub config: EndpointConfig,
    pub queue: Queue,
    pub counters: Arc<NotifyCounters>,
    /// Wakes the sender when an event is queued.
    pub wake: tokio::sync::Notify,
}

pub async fn run(ep: Arc<Endpoint>) {
    let client = match reqwest::Client::builder()
        .timeout(ep.config.timeout)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(endpoint = %ep.config.name, error = %e, "notifications: no HTTP client");
            return;
        }
    };
    let mut failures: u32 = 0;
    loop {
        let Some((seq, body)) = ep.queue.peek() else {
            ep.wake.notified().await;
            continue;
        };
        match post(&client, &ep.config, body).await {
            Ok(()) => {
                ep.queue.ack(seq);
                ep.counters.sent.fetch_add(1, Ordering::Relaxed);
                failures = 0;
            }
            Err(e) => {
                ep.counters.failed.fetch_add(1, Ordering::Relaxed);
                failures = failures.saturating_add(1);
                let wait = delay(&ep.config, failures);
                tracing::warn!(endpoint = %ep.config.name, error = %e, retry_in = ?wait,
                    "notification not delivered");
                tokio::time::sleep(wait).await;
            }
        }
        ep.counters
            .pending
            .store(ep.queue.len() as u64, Ordering::Relaxed);
    }
}

async fn post(
    client: &reqwest::Client,
    config: &EndpointConfig,
    body: Vec<u8>,
) -> Result<(), String> {
    let mut req = client
        .post(&config.url)
        .header(reqwest::header::CONTENT_TYPE, ENVELOPE_MEDIA_TYPE)
        .body(body);
    for (name, values) in &config.headers {
        for v in values {
            req = req.header(name.as_str(), v.as_str());
        }
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    if status.is_success() || status.is_redirection() {
        Ok(())
    } else {
        Err(format!("{} answered {status}", config.url))
    }
}

/// The wait after the `failures`-th consecutive failure.
fn delay(config: &EndpointConfig, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(config.threshold.max(1)).min(16);
    (config.backoff * 2u32.pow(doublings)).min(MAX_DELAY.max(config.backoff))
}
