//! What every request handler shares: settings, the database, the broker, the clock, metrics.

use std::net::{IpAddr, Ipv6Addr};
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
    /// This node's batched vote writer: votes from every worker share its transactions
    /// (group commit); drained at shutdown.
    pub votes: jam_store::vote_writer::VoteWriter,
    /// Sign-ins as last read, by token hash; a sign-out anywhere drops them on every node.
    pub signins: Arc<crate::signins::SignInCache>,
    /// Jams' sessions and audiences as last read, reused while unchanged (one query per jam lookup).
    pub jams: Arc<jam_store::jams::JamCache>,
}

impl AppState {
    /// Admits one `action` by `key` under `rate`, or answers 429 with Retry-After.
    pub fn limit(&self, action: Action, key: &str, rate: Rate) -> ApiResult<()> {
        self.limiter
            .check(action, key, rate, self.clock.now())
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
    }
}

/// The client's address for per-IP limits: the TCP peer (a proxy's own address unless the proxy
/// is the only way in; forwarded headers are not trusted, since any client can set them).
pub fn client_ip(req: &actix_web::HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

/// The client's address as the network one person controls, for per-address limits and the join
/// cap: an IPv4 address itself (`/32`), an IPv6 address's `/64` (one home, one phone: a client can
/// pick any address inside its /64 at will). An IPv4 address mapped into IPv6 counts as IPv4.
/// `client_ip` is the single source of the address; an unparsable one is its own key.
pub fn address_key(client_ip: &str) -> String {
    match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => format!("{v4}/32"),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("{v4}/32"),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(network))
            }
        },
        Err(_) => client_ip.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn an_ipv4_address_is_its_own_key() {
        assert_eq!(address_key("203.0.113.7"), "203.0.113.7/32");
        assert_ne!(address_key("203.0.113.7"), address_key("203.0.113.8"));
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_key_and_other_slash_64s_do_not() {
        let key = address_key("2001:db8:1:2::1");
        assert_eq!(key, "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:ffff:ffff:ffff:ffff"), key);
        assert_eq!(address_key("2001:db8:1:2:abcd::9"), key);
        assert_ne!(address_key("2001:db8:1:3::1"), key);
        assert_ne!(address_key("2001:db8:2:2::1"), key);
        assert_eq!(address_key("::1"), "::/64");
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_counts_as_ipv4() {
        assert_eq!(address_key("::ffff:203.0.113.7"), "203.0.113.7/32");
    }

    #[test]
    fn an_unknown_address_is_its_own_key() {
        assert_eq!(address_key("unknown"), "unknown");
    }
}
