//! The broker: publish with per-topic offsets, subscribe, replay history, broadcast without offsets,
//! leases and presence.
//!
//! Layout:
//! - `broker`: the `Broker` trait, the contract every backend keeps.
//! - `memory`: in-process backend for the embedded single-node mode and tests.
//! - `redis`: Redis backend for clusters (Lua for atomic offsets and history, plain `PUBLISH` for
//!   broadcasts, one pub/sub connection).
//! - `connect` (the function below): the one place that turns configuration into a backend.

mod broker;
mod memory;
mod redis;

pub use broker::{Broker, BrokerSink, Position, Published, Replay};
pub use memory::MemoryBroker;
pub use redis::RedisBroker;

use std::sync::Arc;

/// Settings shared by every backend.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// Events kept per topic for replay.
    pub history_size: usize,
    /// How long a topic's history (and its offset and epoch) outlives its last publish.
    pub history_ttl: std::time::Duration,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self {
            history_size: 1000,
            history_ttl: std::time::Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Which backend, chosen by configuration.
#[derive(Debug, Clone)]
pub enum BrokerKind {
    Memory,
    Redis { url: String },
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    #[error("broker protocol error: {0}")]
    Protocol(String),
}

/// Builds the configured backend. The only place that matches on the kind.
pub async fn connect(kind: &BrokerKind, settings: BrokerSettings) -> Result<Arc<dyn Broker>, BrokerError> {
    match kind {
        BrokerKind::Memory => Ok(Arc::new(MemoryBroker::new(settings))),
        BrokerKind::Redis { url } => Ok(Arc::new(RedisBroker::connect(url, settings).await?)),
    }
}
