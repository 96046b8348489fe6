//! The loop: one step per tick, or at once when poked (a facilitator opened a session by hand).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jam_broker::Broker;
use jam_domain::Clock;
use jam_store::sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::OrchestratorError;
use crate::sync::{self, StepReport};

#[derive(Debug, Clone)]
pub struct OrchestratorConfig {
    /// Names this node in claims; unique per process.
    pub node_id: String,
    pub tick: Duration,
    pub claim_timeout: Duration,
}

/// Counters shared between the runner and whoever renders `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    pub recorded: AtomicU64,
    pub published: AtomicU64,
    pub steps: AtomicU64,
    pub step_errors: AtomicU64,
}

/// A cheap handle the web routes keep: wake the runner, read its counters.
#[derive(Clone, Default)]
pub struct Handle {
    /// Wakes the loop before its next tick.
    wake: Arc<Notify>,
    counters: Arc<Counters>,
}

impl Handle {
    /// Ask for a step now (after a manual open/close/schedule), instead of at the next tick.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// Transitions this node recorded and published so far.
    pub fn recorded(&self) -> u64 {
        self.counters.recorded.load(Ordering::Relaxed)
    }

    pub fn published(&self) -> u64 {
        self.counters.published.load(Ordering::Relaxed)
    }

    pub fn step_errors(&self) -> u64 {
        self.counters.step_errors.load(Ordering::Relaxed)
    }
}

pub struct Orchestrator {
    db: DatabaseConnection,
    broker: Arc<dyn Broker>,
    clock: Arc<dyn Clock>,
    config: OrchestratorConfig,
    handle: Handle,
}

impl Orchestrator {
    pub fn new(
        db: DatabaseConnection,
        broker: Arc<dyn Broker>,
        clock: Arc<dyn Clock>,
        config: OrchestratorConfig,
        handle: Handle,
    ) -> Self {
        Self {
            db,
            broker,
            clock,
            config,
            handle,
        }
    }

    /// One record-and-publish pass at the clock's current time.
    pub async fn step(&self) -> Result<StepReport, OrchestratorError> {
        let now = self.clock.now();
        let recorded = sync::record_due(&self.db, now).await?;
        let stale_before = now - chrono::Duration::from_std(self.config.claim_timeout).unwrap_or_default();
        let published =
            sync::publish_pending(&self.db, &*self.broker, &self.config.node_id, now, stale_before).await?;
        let counters = &self.handle.counters;
        counters.recorded.fetch_add(recorded as u64, Ordering::Relaxed);
        counters.published.fetch_add(published as u64, Ordering::Relaxed);
        counters.steps.fetch_add(1, Ordering::Relaxed);
        Ok(StepReport { recorded, published })
    }

    /// Runs until `shutdown` completes. Errors (database or broker down) are logged and retried at
    /// the next tick; nothing is lost because unpublished transitions stay in the database.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(node = %self.config.node_id, tick_ms = self.config.tick.as_millis() as u64, "schedule runner started");
        loop {
            if let Err(error) = self.step().await {
                self.handle.counters.step_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "schedule step failed; retrying next tick");
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.config.tick) => {}
                _ = self.handle.wake.notified() => {}
            }
        }
        tracing::info!("schedule runner stopped");
    }
}
