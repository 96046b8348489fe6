//! Request rate limits: a generic cell-rate (GCRA) limiter keyed by who is asking (a participant,
//! an IP address) and what (login, join, ideas, comments, votes). Each key costs one timestamp.
//!
//! Limits are per node: in a cluster of N nodes behind a balancer a client can reach at most N times
//! the limit, which is the intent of these limits (stopping floods and scripts, not metering).
//! Time comes from the injected clock, so tests move time instead of sleeping.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

/// `count` requests per `window_secs`, with bursts of up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub count: u32,
    pub window_secs: u32,
}

/// What a key is being limited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Login,
    Join,
    /// A welcome-page lookup (an invite-code guess), keyed by jam and address.
    Welcome,
    Idea,
    Comment,
    Vote,
    Flag,
    /// A search, keyed by the person searching.
    Search,
    /// A similar-ideas lookup (the idea form asks while someone types), keyed by the person.
    Similar,
    /// A new connection, keyed by the client address.
    Connect,
    /// A report of impressions, keyed by the participant.
    Impressions,
}

/// How many shards the key space is split into, so concurrent requests rarely share a lock.
const SHARDS: usize = 16;
/// Sweep expired keys from a shard once it holds this many.
const SWEEP_AT: usize = 4096;

/// Per key: the theoretical arrival time of the next request (GCRA's TAT).
type Shard = Mutex<HashMap<(Action, String), DateTime<Utc>>>;

pub struct RateLimiter {
    /// The key space split by hash, each part behind its own lock.
    shards: [Shard; SHARDS],
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

impl RateLimiter {
    /// Admits one request, or says how many seconds to wait.
    pub fn check(&self, action: Action, key: &str, rate: Rate, now: DateTime<Utc>) -> Result<(), u64> {
        if rate.count == 0 {
            return Err(u64::from(rate.window_secs.max(1)));
        }
        // In nanoseconds (at least one), so a high count per window keeps its burst: whole
        // milliseconds made 1,000,000 per minute an interval of 0 and a burst of 0, which refused a
        // request whose clock reading was a hair earlier than another worker's.
        let window_ns = i64::from(rate.window_secs).saturating_mul(1_000_000_000);
        let interval_ns = (window_ns / i64::from(rate.count)).max(1);
        let interval = Duration::nanoseconds(interval_ns);
        let burst = Duration::nanoseconds(interval_ns.saturating_mul(i64::from(rate.count) - 1));
        let map_key = (action, key.to_owned());
        let mut shard = self.shards[shard_of(&map_key)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let tat = shard.get(&map_key).copied().unwrap_or(now).max(now);
        if tat - now > burst {
            let wait = tat - burst - now;
            return Err((wait.num_milliseconds() as u64).div_ceil(1000).max(1));
        }
        shard.insert(map_key, tat + interval);
        if shard.len() >= SWEEP_AT {
            shard.retain(|_, tat| *tat > now);
        }
        Ok(())
    }
}

fn shard_of(key: &(Action, String)) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % SHARDS
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::milliseconds(ms)
    }

    #[test]
    fn a_count_above_the_window_in_milliseconds_keeps_its_burst() {
        let limiter = RateLimiter::default();
        let rate = Rate {
            count: 1_000_000,
            window_secs: 60,
        };
        for _ in 0..1000 {
            assert_eq!(limiter.check(Action::Vote, "p", rate, t(5)), Ok(()));
        }
        // Another worker read the clock a little earlier: still within the burst.
        assert_eq!(limiter.check(Action::Vote, "p", rate, t(4)), Ok(()));
    }

    #[test]
    fn a_burst_up_to_the_count_passes_then_the_next_waits() {
        let limiter = RateLimiter::default();
        let rate = Rate {
            count: 5,
            window_secs: 60,
        };
        for _ in 0..5 {
            assert_eq!(limiter.check(Action::Login, "1.2.3.4", rate, t(0)), Ok(()));
        }
        assert_eq!(limiter.check(Action::Login, "1.2.3.4", rate, t(0)), Err(12));
        // Another key and another action have their own budgets.
        assert_eq!(limiter.check(Action::Login, "5.6.7.8", rate, t(0)), Ok(()));
        assert_eq!(limiter.check(Action::Join, "1.2.3.4", rate, t(0)), Ok(()));
        // One interval later one more request passes.
        assert_eq!(limiter.check(Action::Login, "1.2.3.4", rate, t(12_000)), Ok(()));
        assert!(limiter.check(Action::Login, "1.2.3.4", rate, t(12_000)).is_err());
    }

    #[test]
    fn a_sustained_rate_at_the_limit_is_never_refused() {
        let limiter = RateLimiter::default();
        let rate = Rate {
            count: 10,
            window_secs: 1,
        };
        for i in 0..1000 {
            assert_eq!(
                limiter.check(Action::Vote, "p", rate, t(i * 100)),
                Ok(()),
                "request {i}"
            );
        }
    }

    #[test]
    fn a_zero_count_refuses_everything() {
        let limiter = RateLimiter::default();
        assert!(
            limiter
                .check(
                    Action::Flag,
                    "p",
                    Rate {
                        count: 0,
                        window_secs: 30
                    },
                    t(0)
                )
                .is_err()
        );
    }
}
