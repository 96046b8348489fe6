//! The `Broker` contract. Every implementation (memory, Redis) passes the same behaviour suite
//! (`tests/behaviour.rs`), so the hub and the orchestrator never care which one they hold.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::BrokerError;

/// One event as the broker stored and delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub topic: Arc<str>,
    /// Offsets of a topic start at 1 and increase by exactly 1 per publish within one epoch.
    pub offset: u64,
    /// Names the history the offset belongs to. A new epoch means earlier events may be lost.
    pub epoch: Arc<str>,
    /// The serialized event, shared (not copied) by every local subscriber.
    pub payload: Bytes,
}

/// Where a topic stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub epoch: Arc<str>,
}

/// The answer to "what did I miss since offset N of epoch E?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Exactly the events with offset > N, in order, then the position after them.
    Events {
        events: Vec<Published>,
        position: Position,
    },
    /// The gap cannot be replayed (other epoch, or older than the bounded history): refetch state.
    Resync { position: Position },
}

/// Receives what the broker delivers to this node. Called from the broker's reader task: it must not
/// block or await (hand the message to a bounded queue and return).
pub trait BrokerSink: Send + Sync + 'static {
    /// An event on a topic this node subscribed to, from any node (including this one).
    fn deliver(&self, event: Published);
    /// A broadcast (`Broker::broadcast`) on a topic this node subscribed to, from any node (including
    /// this one). It has no offset and no epoch: nothing about the topic's events changes.
    fn broadcast(&self, topic: Arc<str>, payload: Bytes);
    /// The node lost its broker connection and has it back: events published meanwhile may never
    /// reach it, so every local subscriber must be told to resync.
    fn reconnected(&self);
}

/// Publish/subscribe with per-topic offsets, bounded history, idempotent publishing and leases, plus
/// broadcasts without offsets or history.
///
/// A node holds one `Broker`; the hub subscribes a topic when its first local client does and
/// unsubscribes after the last one leaves (the broker itself does not reference-count).
#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// A short name for logs and `/readyz` (`"memory"`, `"redis"`).
    fn kind(&self) -> &'static str;

    /// Installs the sink that receives subscribed events. Called once, before `subscribe`.
    fn set_sink(&self, sink: Arc<dyn BrokerSink>);

    /// Assigns the topic's next offset, appends the event to the topic's bounded history and fans it
    /// out to every node subscribed to the topic, atomically: no reader can observe the offset
    /// without the history entry, and offsets are never reused within an epoch.
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<Published, BrokerError>;

    /// Like `publish`, but at most once per `key` within `ttl`: a repeated call publishes nothing and
    /// returns `None`. Used for work that may be retried after a crash (schedule transitions).
    /// The key is scoped to the topic (with Redis it shares the topic's hash slot).
    async fn publish_once(
        &self,
        topic: &str,
        key: &str,
        ttl: Duration,
        payload: Bytes,
    ) -> Result<Option<Published>, BrokerError>;

    /// Fans the payload out to every node subscribed to the topic (their sinks' `broadcast`), and does
    /// nothing else: no offset is assigned, no history is kept, no key is written, and the topic's
    /// position, epoch and expiry stay as they were. A node that is not subscribed at that moment (or
    /// whose broker connection is down) never sees it, and `replay` never returns it. For messages a
    /// client can do without because it refetches their state on `resync` anyway (coalesced tallies).
    /// On one topic, broadcasts reach each node in the order they were sent.
    async fn broadcast(&self, topic: &str, payload: Bytes) -> Result<(), BrokerError>;

    /// Starts delivering the topic's future events and broadcasts to the sink. Idempotent.
    async fn subscribe(&self, topic: &str) -> Result<(), BrokerError>;

    /// Stops delivering the topic. Idempotent.
    async fn unsubscribe(&self, topic: &str) -> Result<(), BrokerError>;

    /// The topic's current offset and epoch (offset 0 for a topic never published to; the epoch is
    /// created on first use and stays until the history is lost).
    async fn position(&self, topic: &str) -> Result<Position, BrokerError>;

    /// The events after `since` when `epoch` is the topic's current epoch and all of them are still in
    /// the history; otherwise `Resync`.
    async fn replay(&self, topic: &str, since: u64, epoch: &str) -> Result<Replay, BrokerError>;

    /// Takes or renews the lease `name` for `holder` for `ttl`. True when `holder` holds it now.
    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, BrokerError>;

    /// Gives the lease up if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), BrokerError>;

    /// Records this node's count for a presence key (e.g. `jam:{id}`), valid for `ttl`.
    async fn set_presence(&self, key: &str, node: &str, count: u64, ttl: Duration)
    -> Result<(), BrokerError>;

    /// The sum of the unexpired counts of every node for the key.
    async fn presence(&self, key: &str) -> Result<u64, BrokerError>;

    /// Cheap round trip for `/readyz`.
    async fn ping(&self) -> Result<(), BrokerError>;
}
