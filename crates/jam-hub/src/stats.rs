//! Counters for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the hub's counters. Gauges (`connections`, `subscriptions`, `topics`) are current
/// values; the rest count since the hub started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Open WebSocket connections on this node.
    pub connections: u64,
    /// Topic subscriptions held by this node's connections.
    pub subscriptions: u64,
    /// Distinct topics with at least one local subscriber (each is subscribed once at the broker).
    pub topics: u64,
    /// WebSocket text frames written (a coalesced array counts once).
    pub frames_out: u64,
    /// Bytes of text frames written (payload, without WebSocket framing).
    pub bytes_out: u64,
    /// Frames dropped because a connection's queue was full (each answered by a `resync` or a 4008).
    pub queue_drops: u64,
    /// Connections with frames queued that their socket's task has not taken yet (a gauge): how far
    /// the node's writes are behind its fan-out.
    pub behind: u64,
}

/// The live counters behind `HubStats`. Relaxed atomics: they are statistics, not synchronization.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicU64,
    pub(crate) subscriptions: AtomicU64,
    frames_out: AtomicU64,
    bytes_out: AtomicU64,
    queue_drops: AtomicU64,
}

impl Counters {
    pub(crate) fn frame_out(&self, bytes: u64) {
        self.frames_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn queue_drop(&self) {
        self.queue_drops.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, topics: u64, behind: u64) -> HubStats {
        HubStats {
            connections: self.connections.load(Ordering::Relaxed),
            subscriptions: self.subscriptions.load(Ordering::Relaxed),
            topics,
            frames_out: self.frames_out.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            queue_drops: self.queue_drops.load(Ordering::Relaxed),
            behind,
        }
    }
}
