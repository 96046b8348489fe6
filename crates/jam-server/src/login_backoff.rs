//! Per-account sign-in backoff: after `auth.login_failures_free` failed sign-ins for one e-mail
//! address, each further failure makes that address wait twice as long as the last
//! (`auth.login_backoff_secs`, doubling up to `auth.login_backoff_max_secs`) before any attempt is
//! checked again. Attempts while it waits get 429 with Retry-After, even with the right password, so
//! guessing one account's password from many addresses (which the per-address limit cannot see behind a
//! botnet) costs exponential time.
//!
//! The key is the address as typed (lowercased), whether or not an account has it: an unknown address
//! backs off exactly like a known one, so the answers never tell whether an account exists. A success
//! clears the address's failures. A failure older than the longest wait is forgotten.
//!
//! Per node, like the request limits: behind a balancer of N nodes an attacker gets N waits' worth of
//! attempts per period, a factor the doubling absorbs in log2(N) more failures.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Forget expired entries once the map holds this many.
const SWEEP_AT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Failures allowed before the first wait.
    pub free_failures: u32,
    /// The first wait, in seconds; each further failure doubles it.
    pub base_secs: u32,
    /// The longest wait, in seconds; also how long a failure is remembered after its wait.
    pub max_secs: u32,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// No attempt is checked before this.
    blocked_until: DateTime<Utc>,
    last_failure: DateTime<Utc>,
}

pub struct LoginBackoff {
    policy: BackoffPolicy,
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginBackoff {
    pub fn new(policy: BackoffPolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// Admits an attempt for `email`, or says how many seconds to wait.
    pub fn check(&self, email: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&Self::key(email)) {
            Some(e) if e.blocked_until > now => {
                let wait = (e.blocked_until - now).num_milliseconds().max(1) as u64;
                Err(wait.div_ceil(1000))
            }
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; returns the wait it starts, if any, in seconds.
    pub fn failed(&self, email: &str, now: DateTime<Utc>) -> Option<u64> {
        let p = self.policy;
        let memory = Duration::seconds(i64::from(p.max_secs));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| e.blocked_until.max(e.last_failure) + memory > now);
        }
        let entry = entries.entry(Self::key(email)).or_insert(Entry {
            failures: 0,
            blocked_until: now,
            last_failure: now,
        });
        if entry.blocked_until.max(entry.last_failure) + memory <= now {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        let over = entry.failures.checked_sub(p.free_failures).filter(|n| *n > 0)?;
        let wait = u64::from(p.base_secs)
            .saturating_mul(1u64 << (over - 1).min(32))
            .min(u64::from(p.max_secs));
        entry.blocked_until = now + Duration::seconds(wait as i64);
        Some(wait)
    }

    /// A correct sign-in: the address starts over.
    pub fn succeeded(&self, email: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&Self::key(email));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::seconds(secs)
    }

    const POLICY: BackoffPolicy = BackoffPolicy {
        free_failures: 3,
        base_secs: 30,
        max_secs: 100,
    };

    #[test]
    fn failures_past_the_free_ones_double_the_wait_up_to_the_cap() {
        let b = LoginBackoff::new(POLICY);
        for _ in 0..3 {
            assert_eq!(b.check("a@x.org", t(0)), Ok(()));
            assert_eq!(b.failed("a@x.org", t(0)), None);
        }
        assert_eq!(b.failed("a@x.org", t(0)), Some(30));
        assert_eq!(
            b.check("A@X.org ", t(10)),
            Err(20),
            "the key ignores case and spaces"
        );
        assert_eq!(b.check("a@x.org", t(30)), Ok(()));
        assert_eq!(b.failed("a@x.org", t(30)), Some(60));
        assert_eq!(b.failed("a@x.org", t(90)), Some(100), "capped");
        assert_eq!(b.failed("a@x.org", t(190)), Some(100));
        // Another address is untouched.
        assert_eq!(b.check("b@x.org", t(191)), Ok(()));
    }

    #[test]
    fn a_success_and_time_both_clear_the_failures() {
        let b = LoginBackoff::new(POLICY);
        for _ in 0..4 {
            b.failed("a@x.org", t(0));
        }
        b.succeeded("a@x.org");
        assert_eq!(b.check("a@x.org", t(0)), Ok(()));
        assert_eq!(b.failed("a@x.org", t(0)), None);
        for _ in 0..3 {
            b.failed("c@x.org", t(0));
        }
        // Remembered for max_secs after the last failure, then forgotten.
        assert_eq!(b.failed("c@x.org", t(101)), None);
    }

    #[test]
    fn unknown_and_known_addresses_back_off_alike() {
        // The policy sees only the typed address: nothing here can depend on an account existing.
        let b = LoginBackoff::new(POLICY);
        let waits = |who: &str| (0..6).map(|i| b.failed(who, t(i))).collect::<Vec<_>>();
        let known = waits("exists@x.org");
        assert_eq!(known, [None, None, None, Some(30), Some(60), Some(100)]);
        assert_eq!(known, waits("nobody@x.org"));
    }
}
