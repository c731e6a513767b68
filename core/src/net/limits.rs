//! Timeouts, body bounds and the retry schedule: a stalling or flooding server cannot hang or
//! exhaust the app, and only idempotent requests are ever repeated.

use std::time::Duration;

/// Largest response body the core accepts (JSON pages are far smaller).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// TCP connect (per address tried), and through a proxy the CONNECT.
    pub connect: Duration,
    /// Longest silence between two reads once connected (a server that stalls after the
    /// handshake, or mid-body).
    pub read: Duration,
    /// Whole request: connect, TLS, request, response and body.
    pub total: Duration,
    /// Response body bound; larger bodies are refused without being buffered.
    pub max_body: usize,
    /// Extra attempts for idempotent requests (GET) after a connection failure, a timeout or
    /// 429/502/503/504. Never for POST, never after a certificate refusal.
    pub retries: u32,
    /// First backoff; doubled each attempt (250 ms, 500 ms, …), capped by `Retry-After` ≤ 5 s.
    pub backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(10),
            total: Duration::from_secs(30),
            max_body: MAX_BODY_BYTES,
            retries: 2,
            backoff: Duration::from_millis(250),
        }
    }
}

impl Limits {
    /// Wait before attempt `n` (1-based retry number), honouring a short `Retry-After`.
    pub fn backoff_for(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .backoff
            .saturating_mul(1u32 << n.saturating_sub(1).min(8));
        match retry_after {
            Some(ra) => exp.max(ra.min(Duration::from_secs(5))),
            None => exp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_transport_rules() {
        let l = Limits::default();
        assert_eq!(l.connect, Duration::from_secs(10));
        assert_eq!(l.total, Duration::from_secs(30));
        assert!(l.read < l.total);
        assert_eq!(l.max_body, 8 * 1024 * 1024);
    }

    #[test]
    fn backoff_doubles_and_caps_retry_after() {
        let l = Limits::default();
        assert_eq!(l.backoff_for(1, None), Duration::from_millis(250));
        assert_eq!(l.backoff_for(2, None), Duration::from_millis(500));
        assert_eq!(
            l.backoff_for(1, Some(Duration::from_secs(60))),
            Duration::from_secs(5)
        );
    }
}
