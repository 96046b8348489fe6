//! The in-process broker.
//!
//! Choose it for the embedded single-node mode (the default `cargo run`) and for tests: everything lives in
//! this process, so nothing is shared with other nodes, and a restart loses every topic's history (the new
//! process hands out new epochs, so clients that resume with an old one are told to resync). For more than
//! one node, use the Redis broker.
//!
//! Each topic has its own lock. Publishing holds it while the offset is assigned, the history appended and
//! the event handed to the sink, so subscribers see a topic's events in offset order and a reader never
//! sees an offset without its history entry. No lock is ever held across an `.await`. Because delivery
//! happens under the topic lock, a sink must not call back into the broker from `deliver`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;

use crate::broker::{Broker, BrokerSink, Position, Published, Replay};
use crate::{BrokerError, BrokerSettings};

/// Below this many entries a map is never swept; above it, a sweep runs each time the map doubles.
const MIN_SWEEP_LEN: usize = 1024;

/// The in-process `Broker`: one node, no network, history kept in memory.
pub struct MemoryBroker {
    settings: BrokerSettings,
    /// Every topic in use, by name. This lock is held only to find or create a topic (and, rarely, to
    /// sweep expired ones); the topic's own lock orders its publishes, so topics never wait on each other.
    topics: Mutex<Sweeping<Arc<Mutex<Topic>>>>,
    /// Where subscribed events go. Read on every delivery, written once at start-up, hence a `RwLock`.
    sink: RwLock<Option<Arc<dyn BrokerSink>>>,
    /// `publish_once` keys (scoped to their topic) and when each stops blocking a repeat.
    once: Mutex<Sweeping<Instant>>,
    /// Leases by name: the holder and when the lease lapses unless renewed.
    leases: Mutex<HashMap<String, (String, Instant)>>,
    /// Presence counts by key, then by node.
    presence: Mutex<HashMap<String, NodeCounts>>,
}

/// One presence key's counts by node, each with the instant it stops counting.
type NodeCounts = HashMap<String, (u64, Instant)>;

/// One topic's state. Guarded by its own mutex (see `MemoryBroker::topics`).
struct Topic {
    name: Arc<str>,
    epoch: Arc<str>,
    offset: u64,
    /// The newest `history_size` events, oldest first, with consecutive offsets ending at `offset`.
    history: VecDeque<Published>,
    subscribed: bool,
    /// When the history lapses unless published to again (mirrors the Redis keys' TTL): after this
    /// instant the topic starts over with a new epoch.
    expires_at: Instant,
    /// Set when a sweep dropped this topic from the map: whoever still holds the `Arc` must look the
    /// topic up again rather than publish into a state nobody else can see.
    removed: bool,
}

/// A map that drops its expired entries now and then, so that a long-running node does not keep every
/// topic or key it ever saw. A sweep runs when the map has doubled since the last one, which keeps the
/// cost amortised O(1) per insert.
struct Sweeping<V> {
    map: HashMap<String, V>,
    sweep_at: usize,
}

impl<V> Sweeping<V> {
    fn new() -> Self {
        Self {
            map: HashMap::new(),
            sweep_at: MIN_SWEEP_LEN,
        }
    }

    /// Sweeps with `keep` when the map has grown past the threshold; call before inserting.
    fn maybe_sweep(&mut self, mut keep: impl FnMut(&V) -> bool) {
        if self.map.len() < self.sweep_at {
            return;
        }
        self.map.retain(|_, v| keep(v));
        self.sweep_at = (self.map.len() * 2).max(MIN_SWEEP_LEN);
    }
}

/// Locks a mutex, ignoring poisoning: every critical section here leaves its state consistent before
/// anything that could panic (the sink is the only foreign code, and it is called last).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn new_epoch() -> Arc<str> {
    uuid::Uuid::new_v4().simple().to_string().into()
}

impl Topic {
    fn new(name: Arc<str>, ttl: Duration, now: Instant) -> Self {
        Self {
            name,
            epoch: new_epoch(),
            offset: 0,
            history: VecDeque::new(),
            subscribed: false,
            expires_at: now + ttl,
            removed: false,
        }
    }

    /// Starts the topic over with a new epoch when its history has lapsed, as Redis would after the TTL.
    fn refresh(&mut self, ttl: Duration, now: Instant) {
        if now >= self.expires_at {
            self.epoch = new_epoch();
            self.offset = 0;
            self.history.clear();
            self.expires_at = now + ttl;
        }
    }

    fn position(&self) -> Position {
        Position {
            offset: self.offset,
            epoch: self.epoch.clone(),
        }
    }
}

impl MemoryBroker {
    pub fn new(settings: BrokerSettings) -> Self {
        Self {
            settings,
            topics: Mutex::new(Sweeping::new()),
            sink: RwLock::new(None),
            once: Mutex::new(Sweeping::new()),
            leases: Mutex::new(HashMap::new()),
            presence: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` on the topic's state under its lock, creating the topic (and its epoch) on first use.
    fn with_topic<R>(&self, topic: &str, f: impl FnOnce(&mut Topic) -> R) -> R {
        let ttl = self.settings.history_ttl;
        loop {
            let now = Instant::now();
            let entry = {
                let mut topics = lock(&self.topics);
                match topics.map.get(topic) {
                    Some(entry) => entry.clone(),
                    None => {
                        topics.maybe_sweep(|entry| {
                            let mut t = lock(entry);
                            let keep = t.subscribed || now < t.expires_at;
                            t.removed = !keep;
                            keep
                        });
                        let entry = Arc::new(Mutex::new(Topic::new(topic.into(), ttl, now)));
                        topics.map.insert(topic.to_owned(), entry.clone());
                        entry
                    }
                }
            };
            let mut state = lock(&entry);
            // A sweep may have dropped the topic between the lookup and the lock: look it up again.
            if !state.removed {
                state.refresh(ttl, now);
                return f(&mut state);
            }
        }
    }

    fn sink(&self) -> Option<Arc<dyn BrokerSink>> {
        self.sink.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn publish_now(&self, topic: &str, payload: Bytes) -> Published {
        let history_size = self.settings.history_size;
        let ttl = self.settings.history_ttl;
        self.with_topic(topic, |t| {
            t.offset += 1;
            t.expires_at = Instant::now() + ttl;
            let event = Published {
                topic: t.name.clone(),
                offset: t.offset,
                epoch: t.epoch.clone(),
                payload,
            };
            if history_size > 0 {
                while t.history.len() >= history_size {
                    t.history.pop_front();
                }
                t.history.push_back(event.clone());
            }
            if t.subscribed {
                // Delivered under the topic lock: the next publish on this topic waits, so delivery order
                // is offset order. The sink's contract is that it does not block.
                if let Some(sink) = self.sink() {
                    sink.deliver(event.clone());
                }
            }
            event
        })
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn set_sink(&self, sink: Arc<dyn BrokerSink>) {
        *self.sink.write().unwrap_or_else(PoisonError::into_inner) = Some(sink);
    }

    async fn publish(&self, topic: &str, payload: Bytes) -> Result<Published, BrokerError> {
        Ok(self.publish_now(topic, payload))
    }

    async fn publish_once(
        &self,
        topic: &str,
        key: &str,
        ttl: Duration,
        payload: Bytes,
    ) -> Result<Option<Published>, BrokerError> {
        let now = Instant::now();
        {
            // The key is scoped to the topic, as in the Redis broker (where it must share the topic's slot).
            let scoped = format!("{topic}\u{0}{key}");
            let mut once = lock(&self.once);
            if once.map.get(&scoped).is_some_and(|until| now < *until) {
                return Ok(None);
            }
            once.maybe_sweep(|until| now < *until);
            once.map.insert(scoped, now + ttl);
        }
        Ok(Some(self.publish_now(topic, payload)))
    }

    async fn broadcast(&self, topic: &str, payload: Bytes) -> Result<(), BrokerError> {
        // Never creates a topic: one that nobody subscribed has no state to find, and a broadcast
        // leaves none behind.
        let Some(entry) = lock(&self.topics).map.get(topic).cloned() else {
            return Ok(());
        };
        let state = lock(&entry);
        if state.subscribed
            && !state.removed
            && let Some(sink) = self.sink()
        {
            // Under the topic lock, like `publish`, so a node sees the topic's events and broadcasts in
            // the order they were sent.
            sink.broadcast(state.name.clone(), payload);
        }
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> Result<(), BrokerError> {
        self.with_topic(topic, |t| t.subscribed = true);
        Ok(())
    }

    async fn unsubscribe(&self, topic: &str) -> Result<(), BrokerError> {
        let exists = lock(&self.topics).map.contains_key(topic);
        if exists {
            self.with_topic(topic, |t| t.subscribed = false);
        }
        Ok(())
    }

    async fn position(&self, topic: &str) -> Result<Position, BrokerError> {
        Ok(self.with_topic(topic, |t| t.position()))
    }

    async fn replay(&self, topic: &str, since: u64, epoch: &str) -> Result<Replay, BrokerError> {
        Ok(self.with_topic(topic, |t| {
            let position = t.position();
            if *t.epoch != *epoch || since > t.offset {
                return Replay::Resync { position };
            }
            let missing = t.offset - since;
            let Ok(missing) = usize::try_from(missing) else {
                return Replay::Resync { position };
            };
            if missing > t.history.len() {
                return Replay::Resync { position };
            }
            let events = t
                .history
                .iter()
                .skip(t.history.len() - missing)
                .cloned()
                .collect();
            Replay::Events { events, position }
        }))
    }

    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, BrokerError> {
        let now = Instant::now();
        let mut leases = lock(&self.leases);
        match leases.get_mut(name) {
            Some((current, until)) if now < *until && current != holder => Ok(false),
            Some((current, until)) => {
                holder.clone_into(current);
                *until = now + ttl;
                Ok(true)
            }
            None => {
                leases.insert(name.to_owned(), (holder.to_owned(), now + ttl));
                Ok(true)
            }
        }
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), BrokerError> {
        let mut leases = lock(&self.leases);
        if leases.get(name).is_some_and(|(current, _)| current == holder) {
            leases.remove(name);
        }
        Ok(())
    }

    async fn set_presence(
        &self,
        key: &str,
        node: &str,
        count: u64,
        ttl: Duration,
    ) -> Result<(), BrokerError> {
        let now = Instant::now();
        let mut presence = lock(&self.presence);
        let nodes = presence.entry(key.to_owned()).or_default();
        nodes.retain(|_, (_, until)| now < *until);
        if count == 0 {
            nodes.remove(node);
        } else {
            nodes.insert(node.to_owned(), (count, now + ttl));
        }
        if nodes.is_empty() {
            presence.remove(key);
        }
        Ok(())
    }

    async fn presence(&self, key: &str) -> Result<u64, BrokerError> {
        let now = Instant::now();
        let mut presence = lock(&self.presence);
        let Some(nodes) = presence.get_mut(key) else {
            return Ok(0);
        };
        nodes.retain(|_, (_, until)| now < *until);
        let sum = nodes.values().map(|(count, _)| *count).sum();
        if nodes.is_empty() {
            presence.remove(key);
        }
        Ok(sum)
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        Ok(())
    }
}
