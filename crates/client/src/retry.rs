//! Backoff between attempts of a request that failed for a reason that may
//! pass (connection dropped, 5xx, 429): exponential with a little jitter so
//! parallel transfers do not retry in lockstep.

use std::time::Duration;

/// How many times a transient failure is retried before it is reported.
pub const DEFAULT_RETRIES: u32 = 4;

/// The pause before retry number `attempt` (0-based).
pub fn delay(attempt: u32) -> Duration {
    let base = Duration::from_millis(100) * 2u32.saturating_pow(attempt.min(6));
    let capped = base.min(Duration::from_secs(3));
    // Jitter from the clock's low bits: good enough to spread retries, and
    // needs no random number generator.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    capped + Duration::from_millis(u64::from(nanos % 50))
}

#[cfg(test)]
mod tests {
    #[test]
    fn grows_and_is_capped() {
        assert!(super::delay(0) < super::delay(3));
        assert!(super::delay(30) <= std::time::Duration::from_millis(3050));
    }
}
