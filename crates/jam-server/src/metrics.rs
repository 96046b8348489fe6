//! Prometheus text-format counters and gauges, kept as atomics so the hot paths pay one add.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub http_errors_5xx: AtomicU64,
    pub http_errors_4xx: AtomicU64,
    pub logins: AtomicU64,
    pub login_failures: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `extra` appends other components' series as (name, help, type, value),
    /// type being "counter" or "gauge".
    pub fn render(&self, extra: &[(&str, &str, &str, u64)]) -> String {
        let mut out = String::new();
        let series = [
            (
                "jam_http_requests_total",
                "HTTP requests answered.",
                self.http_requests.load(Ordering::Relaxed),
            ),
            (
                "jam_http_responses_4xx_total",
                "HTTP 4xx answers.",
                self.http_errors_4xx.load(Ordering::Relaxed),
            ),
            (
                "jam_http_responses_5xx_total",
                "HTTP 5xx answers.",
                self.http_errors_5xx.load(Ordering::Relaxed),
            ),
            (
                "jam_logins_total",
                "Successful staff sign-ins.",
                self.logins.load(Ordering::Relaxed),
            ),
            (
                "jam_login_failures_total",
                "Failed staff sign-ins.",
                self.login_failures.load(Ordering::Relaxed),
            ),
        ];
        let own = series
            .iter()
            .map(|&(name, help, value)| (name, help, "counter", value));
        for (name, help, kind, value) in own.chain(extra.iter().copied()) {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        out
    }
}
