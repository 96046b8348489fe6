//! The schedule runner. It turns the lifecycle functions of `jam_domain::lifecycle` into recorded
//! and published transitions (`jam.state`, `session.opened`, `session.closed`):
//!
//! 1. **Record**: every tick, for each scheduled jam, replay the state changes of the jam and each
//!    session since the last recorded one, up to now, and insert them with the key
//!    `(subject_id, seq)`. Every node may do this at once: the unique key lets exactly one insert win,
//!    so each transition is recorded once per cluster, and a node that was down records what it missed.
//! 2. **Publish**: claim unpublished transitions (an atomic UPDATE, so one node wins), publish each
//!    with `publish_once` keyed by the transition (a retry after a crash cannot publish twice), then
//!    mark it published. A claim whose node died expires after `claim_timeout`.
//!
//! Layout: `runner` (the loop and its handle), `sync` (record and publish, one step).

mod runner;
mod sync;

pub use runner::{Handle, Orchestrator, OrchestratorConfig};
pub use sync::StepReport;

/// Records what is due at `now` without publishing; for tests that stage a crash mid-publish.
#[doc(hidden)]
pub async fn record_for_tests(
    db: &jam_store::sea_orm::DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
) -> usize {
    sync::record_due(db, now).await.unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error(transparent)]
    Store(#[from] jam_store::StoreError),
    #[error(transparent)]
    Broker(#[from] jam_broker::BrokerError),
}
