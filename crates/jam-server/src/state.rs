//! What every request handler shares: settings, the database, the broker, the clock, metrics.

use std::sync::Arc;

use jam_broker::Broker;
use jam_domain::Clock;
use sea_orm::DatabaseConnection;

use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::rate_limit::{Action, Rate, RateLimiter};
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
    /// The tally ticker's counters (whether this node publishes tallies now, what it published).
    pub tally: jam_tally::ticker::Handle,
    /// This node's WebSocket connections and their subscriptions.
    pub hub: Arc<jam_hub::Hub>,
    /// Names this process in claims and presence; unique per process.
    pub node_id: String,
    /// Per-node request limits, shared by every worker.
    pub limiter: Arc<RateLimiter>,
    /// Per-account sign-in backoff (per node, like `limiter`).
    pub login_backoff: Arc<crate::login_backoff::LoginBackoff>,
    /// This node's batched vote writer: votes from every worker share its transactions
    /// (group commit); drained at shutdown.
    pub votes: jam_store::vote_writer::VoteWriter,
    /// This node's batched impression writer: reports from every worker share its transactions.
    pub impressions: jam_store::impressions::ImpressionWriter,
    /// Sign-ins as last read, by token hash; a sign-out anywhere drops them on every node.
    pub signins: Arc<crate::signins::SignInCache>,
    /// Jams' sessions and audiences as last read, reused while unchanged (one query per jam lookup).
    pub jams: Arc<jam_store::jams::JamCache>,
    /// OpenID Connect sign-in with the provider's metadata as last read; None when `oidc.enabled`
    /// is off.
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
    /// `/readyz`'s last probe, shared by its callers.
    pub readiness: Arc<crate::routes::ops::Readiness>,
}

impl AppState {
    /// Admits one `action` by `key` under `rate`, or answers 429 with Retry-After.
    pub fn limit(&self, action: Action, key: &str, rate: Rate) -> ApiResult<()> {
        self.limiter
            .check(action, key, rate, self.clock.now())
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
    }
}

// Where requests come from lives in `client_addr`; handlers reach it through here.
pub use crate::client_addr::{address_key, client_ip};
