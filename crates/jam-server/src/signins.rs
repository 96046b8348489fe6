//! A node's cache of sign-ins, so that a request (a vote, most often) does not read its sign-in from
//! the database every time.
//!
//! An entry is kept for `auth.cache_secs` at most, and never past the sign-in's own expiry. A
//! sign-out ends the entry on this node at once ([`SignInCache::sign_out`]) and on every other node
//! through the broker: a broadcast on [`SIGNED_OUT`] carrying the token hash, which each node's hub
//! hands to its cache ([`ControlSink`]). When the broker reconnects, notices may have been lost, so
//! every cache starts over ([`ControlSink::missed`]).
//!
//! Ending many sign-ins at once (a staff account disabled or its password changed, a participant
//! voided) is one notice carrying their hashes, one per line ([`SignInCache::end`]); each node's hub
//! also closes its live connections of those sign-ins with 4001 when the notice arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};
use jam_broker::Broker;
use jam_hub::ControlSink;
use jam_store::auth::SignedIn;

/// The broker topic of sign-out notices (payload: token hashes, one per line).
pub const SIGNED_OUT: &str = jam_hub::SIGNED_OUT;

/// Entries beyond which the cache starts over (each is a few hundred bytes; this is about 60 MiB).
const MAX_ENTRIES: usize = 200_000;

pub struct SignInCache {
    ttl: Duration,
    /// By token hash: the sign-in and until when it may be reused. Held only to look up, insert or
    /// remove one entry, never across an await.
    entries: Mutex<HashMap<String, (SignedIn, DateTime<Utc>)>>,
}

impl SignInCache {
    /// A cache that keeps entries `ttl` at most; a zero `ttl` keeps nothing.
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl: Duration::from_std(ttl).unwrap_or(Duration::zero()),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, (SignedIn, DateTime<Utc>)>> {
        // Critical sections only insert, remove and clone one entry.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached sign-in for `token_hash`, if it may still be reused at `now`.
    pub fn get(&self, token_hash: &str, now: DateTime<Utc>) -> Option<SignedIn> {
        let mut entries = self.entries();
        match entries.get(token_hash) {
            Some((signed_in, until)) if now < *until => Some(signed_in.clone()),
            Some(_) => {
                entries.remove(token_hash);
                None
            }
            None => None,
        }
    }

    /// Remembers a sign-in just read from the database at `now`.
    pub fn put(&self, token_hash: &str, signed_in: &SignedIn, now: DateTime<Utc>) {
        if self.ttl <= Duration::zero() {
            return;
        }
        let until = (now + self.ttl).min(signed_in.expires_at);
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token_hash.to_owned(), (signed_in.clone(), until));
    }

    /// Drops the entry on this node.
    pub fn forget(&self, token_hash: &str) {
        self.entries().remove(token_hash);
    }

    /// Ends these sign-ins (their rows already deleted) everywhere: drops them from this node's
    /// cache, closes this node's live connections of them with 4001, and tells every other node to do
    /// the same. This node acts at once, so the broker's round trip (or an outage) never delays it.
    pub async fn end(&self, broker: &dyn Broker, hub: &jam_hub::Hub, token_hashes: &[String]) {
        if token_hashes.is_empty() {
            return;
        }
        for hash in token_hashes {
            self.forget(hash);
        }
        let refs: Vec<&str> = token_hashes.iter().map(String::as_str).collect();
        hub.end_sign_ins(&refs);
        if let Err(error) = broker
            .broadcast(SIGNED_OUT, bytes::Bytes::from(token_hashes.join("\n")))
            .await
        {
            tracing::warn!(%error, "ended sign-ins not announced to the other nodes; their caches expire them");
        }
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ControlSink for SignInCache {
    fn control(&self, topic: &str, payload: &[u8]) {
        if topic == SIGNED_OUT
            && let Ok(token_hashes) = std::str::from_utf8(payload)
        {
            for token_hash in token_hashes.lines() {
                self.forget(token_hash);
            }
        }
    }

    fn missed(&self) {
        self.entries().clear();
    }
}

/// Installs `cache` as the hub's control sink and subscribes the broker to sign-out notices.
pub async fn listen(
    cache: Arc<SignInCache>,
    hub: &jam_hub::Hub,
    broker: &dyn Broker,
) -> Result<(), jam_broker::BrokerError> {
    hub.set_control(cache);
    broker.subscribe(SIGNED_OUT).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jam_domain::{AudienceId, JamId, ParticipantId, Principal};

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(1_800_000_000 + secs)
    }

    fn signed_in(expires: i64) -> SignedIn {
        SignedIn {
            principal: Principal::Participant {
                id: ParticipantId::new(),
                jam_id: JamId::new(),
                audience_id: AudienceId::new(),
            },
            display_name: "Ada".into(),
            expires_at: t(expires),
        }
    }

    #[test]
    fn an_entry_lives_for_the_ttl_and_never_past_the_sign_in() {
        let cache = SignInCache::new(std::time::Duration::from_secs(30));
        cache.put("long", &signed_in(3600), t(0));
        cache.put("short", &signed_in(10), t(0));
        assert!(cache.get("long", t(29)).is_some());
        assert!(cache.get("long", t(30)).is_none(), "the ttl is over");
        assert!(cache.get("short", t(9)).is_some());
        assert!(cache.get("short", t(10)).is_none(), "the sign-in itself ended");
        assert!(cache.is_empty(), "expired entries are dropped when looked up");
    }

    #[test]
    fn a_sign_out_notice_drops_the_entry_and_a_missed_notice_drops_them_all() {
        let cache = SignInCache::new(std::time::Duration::from_secs(30));
        for token in ["a", "b", "c"] {
            cache.put(token, &signed_in(3600), t(0));
        }
        cache.control(SIGNED_OUT, b"a");
        cache.control("control:other", b"b");
        cache.put("d", &signed_in(3600), t(0));
        cache.put("e", &signed_in(3600), t(0));
        cache.control(SIGNED_OUT, b"d\ne");
        assert!(
            cache.get("d", t(1)).is_none() && cache.get("e", t(1)).is_none(),
            "one notice ends several sign-ins"
        );
        assert!(cache.get("a", t(1)).is_none());
        assert!(
            cache.get("b", t(1)).is_some(),
            "another topic's notice changes nothing"
        );
        cache.missed();
        assert!(cache.is_empty());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = SignInCache::new(std::time::Duration::ZERO);
        cache.put("a", &signed_in(3600), t(0));
        assert!(cache.get("a", t(0)).is_none());
    }
}
