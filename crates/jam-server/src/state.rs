//! What every request handler shares: settings, the database, the broker, the clock, metrics.

use std::sync::Arc;

use jam_broker::Broker;
use jam_domain::Clock;
use sea_orm::DatabaseConnection;

use crate::metrics::Metrics;
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    /// The pool; SQLite or PostgreSQL behind one interface.
    pub db: DatabaseConnection,
    /// Live events leave through here (memory or Redis).
    pub broker: Arc<dyn Broker>,
    /// Every "now" comes from here, so tests can move time.
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// Wakes the schedule runner after a manual change, so its event goes out at once.
    pub orchestrator: jam_orchestrator::Handle,
}
