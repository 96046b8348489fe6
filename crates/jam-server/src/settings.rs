//! Typed settings, layered: built-in `config/default.toml`, then `config/$JAM_PROFILE.toml`, then
//! `JAM__SECTION__KEY` environment variables. Unknown keys and invalid values are errors that name
//! the key. Settings are passed explicitly; there is no global.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use crate::rate_limit::Rate;

/// The shipped defaults, compiled in so a bare binary has them too.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub broker: BrokerSettings,
    pub auth: AuthSettings,
    pub orchestrator: OrchestratorSettings,
    pub live: LiveSettings,
    pub clock: ClockSettings,
    pub log: LogSettings,
    pub limits: Limits,
    pub rate_limits: RateLimits,
    pub moderation: ModerationSettings,
    pub votes: VoteSettings,
    pub impressions: ImpressionSettings,
    pub tally: TallySettings,
    pub oidc: OidcSettings,
    pub search: SearchSettings,
    pub smtp: SmtpSettings,
    pub pulse: PulseSettings,
}

/// The jam's pulse (issue 16): the mood alert (see `mood_alert`), themes (`themes_job`) and hot
/// topics (`jam_domain::hot`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PulseSettings {
    /// The alert fires when the negative share of the posts of the last `alert_window_minutes` is
    /// above this (0 to 1, exclusive).
    pub negative_alert_share: f64,
    /// The window the negative share is measured over, in minutes (1 to 1440).
    pub alert_window_minutes: u32,
    /// Fewest posts in the window for the share to count (at least 1): a handful of posts at the
    /// start of a jam raises nothing.
    pub alert_min_posts: u32,
    /// Milliseconds between the alert's evaluations (10 to 60000); each evaluates every server-clock
    /// minute since the last.
    pub alert_tick_ms: u64,
    /// Seconds between re-clusterings of a jam's themes (10 to 86400 in production; 1 is allowed
    /// for tests): every node wakes this often, the holder of the `themes` lease re-clusters each
    /// live or closed jam whose ideas changed, at most once per interval of the server clock.
    pub themes_every_secs: u64,
    /// The hot topics' window in minutes (1 to 1440): activity in the last window, its trend against
    /// the window before.
    pub hot_window_minutes: u32,
}

/// OpenID Connect sign-in (see `oidc` and `routes::oidc`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// Off: the sign-in routes answer 404 and the web app offers no organisation sign-in.
    pub enabled: bool,
    /// The provider's issuer URL; its metadata is read from `/.well-known/openid-configuration`.
    pub issuer_url: String,
    pub client_id: String,
    /// From the environment only (`JAM__OIDC__CLIENT_SECRET`).
    pub client_secret: Secret,
    /// Scopes asked for besides `openid`, space-separated.
    pub scopes: String,
    /// The claim whose values place a participant in an audience ("" = the audience asked for).
    pub audience_claim: String,
    /// Claim value → audience name, first match wins.
    pub audience_map: Vec<AudienceMapping>,
    /// The audience when the claim maps to none ("" = refuse).
    pub default_audience: String,
    /// Staff may sign in through the provider.
    pub staff: bool,
    /// The claim whose values give a staff member's role.
    pub role_claim: String,
    /// Claim value → role; the highest matched role wins; no match is refused.
    pub role_map: Vec<RoleMapping>,
    /// Staff may sign in with a password (`POST /auth/login`); off leaves the provider only.
    pub password_login: bool,
    /// Minutes a sign-in may take between leaving for the provider and coming back.
    pub login_minutes: i64,
}

/// One row of `oidc.audience_map`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceMapping {
    pub value: String,
    pub audience: String,
}

/// One row of `oidc.role_map`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    pub value: String,
    pub role: jam_domain::Role,
}

/// Sending personal invites by e-mail (see `mail`). Off while `host` is empty: invites bound to
/// addresses stay `pending` and the facilitator hands out the CSV's links.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// The sender, e.g. `OpenJam <jam@example.org>`.
    pub from: String,
    /// Empty: no authentication.
    pub username: String,
    /// From the environment only (`JAM__SMTP__PASSWORD`).
    pub password: Secret,
    pub tls: SmtpTls,
    /// Seconds one message may take (connect, TLS, send) before it is recorded as failed (1 to 300).
    pub timeout_secs: u64,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or network only).
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587); refused if the server cannot.
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// Live tallies (see `jam_tally::ticker`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TallySettings {
    /// Milliseconds between tally ticks: each publishes the counts that changed since the last.
    pub tick_ms: u64,
}

/// The batched vote writer (see `jam_store::vote_writer`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteSettings {
    /// Most votes written in one transaction (1 to 4096).
    pub batch_max: usize,
    /// Microseconds the writer waits for more votes once it has some; 0 = no waiting beyond
    /// what queues up while the previous batch commits.
    pub batch_linger_us: u64,
    /// Votes that may wait for the writer; beyond that a vote gets 503 with Retry-After.
    pub queue_capacity: usize,
    /// Batches written at the same time on PostgreSQL (1 to 64); SQLite always writes one.
    pub postgres_writers: usize,
    /// Milliseconds a vote may wait for its answer (queue plus commit): once the votes answered last
    /// waited longer, new votes get 503 with Retry-After until the queue drains. 0 = no budget.
    pub wait_budget_ms: u64,
}

/// Impressions reported by browsers (see `routes::fairness` and `jam_store::impressions`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpressionSettings {
    /// Most idea ids in one `POST /jams/{slug}/impressions` (1 to 1000); more answer 422.
    pub max_ids: usize,
    /// Reports per participant, per node (a browser sends one every few seconds at most).
    pub rate: Rate,
    /// Most impressions the writer stores in one transaction (1 to 8192).
    pub batch_max: usize,
    /// Reports that may wait for the writer; beyond that a report gets 503 with Retry-After.
    pub queue_capacity: usize,
}

/// Full-text search and similar ideas (see `routes::search`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// Most words in a search query; more answer 422. At least 1.
    pub max_words: usize,
    /// Searches per person (participant or staff account), per node.
    pub rate: Rate,
    /// Similar-idea lookups per person, per node.
    pub similar_rate: Rate,
    /// Lowest score in [0, 1] of an idea offered as similar.
    pub similar_min_score: f64,
    /// Most similar ideas offered (1 to 20).
    pub similar_max: usize,
    /// Newest visible ideas of a jam compared with their session for likely duplicates (1 to 1000).
    pub duplicates_recent: u64,
    /// Lowest score in [0, 1] of a likely duplicate pair.
    pub duplicates_min_score: f64,
    /// Most pairs listed.
    pub duplicates_max: usize,
    /// Tags listed by `GET /sessions/{id}/tags` without `limit`.
    pub tags_default: u32,
}

/// Community moderation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerationSettings {
    /// Distinct participants' flags, since a facilitator last decided on the item, that hide a
    /// visible idea or comment until a facilitator decides. At least 1.
    pub hide_after_flags: u32,
    /// Only participants who joined at least this many minutes before flagging count toward
    /// `hide_after_flags` (younger flags still reach the queue). 0 counts everyone.
    pub flag_min_age_minutes: i64,
}

/// Requests per window for each limited action (see `rate_limit`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Staff sign-in attempts per IP address.
    pub login: Rate,
    /// Joins per client address (an IPv4 address, an IPv6 /64).
    pub join: Rate,
    /// Welcome-page lookups per client address and jam: each one tries an invite code, so this
    /// bounds guessing.
    pub welcome: Rate,
    /// Ideas per participant.
    pub ideas: Rate,
    /// Comments per participant.
    pub comments: Rate,
    /// Votes per participant.
    pub votes: Rate,
    /// Flags per participant.
    pub flags: Rate,
    /// New connections per client address (the TCP peer; a trusted proxy is not limited).
    pub connections: Rate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address; port 0 picks a free port.
    pub bind: SocketAddr,
    /// The only Origin allowed for state-changing requests and the WebSocket upgrade.
    pub public_origin: String,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout_secs: u64,
    /// Set the Secure attribute on cookies.
    pub secure_cookies: bool,
    /// Serve the web app from this folder instead of the built-in copy ("" = built-in).
    pub web_dir: String,
    /// Networks of the load balancers and proxies in front of jamd (comma-separated CIDRs): from
    /// these peers the client is read from `X-Forwarded-For` (see `client_addr`).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Seconds a client has to send a request body once its headers are in; slower gets 408.
    pub body_timeout_secs: u64,
    /// Open connections one client address (the TCP peer; a trusted proxy is not capped) may hold;
    /// requests on connections beyond it get 503 and the connection is closed. 0 = no cap.
    pub max_connections_per_address: usize,
    /// A second listener for `/metrics`, `/healthz` and `/readyz` only (a private address; "" = none).
    pub ops_bind: String,
    /// A bearer token that opens `/metrics` on the public listener too ("" = only from loopback
    /// clients there).
    pub metrics_token: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…`; may hold a password, hence secret.
    pub url: Secret,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout_secs: u64,
    pub sqlite_busy_timeout_ms: u64,
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKindSetting {
    Memory,
    Redis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSettings {
    pub kind: BrokerKindSetting,
    /// May hold a password, hence secret.
    pub redis_url: Secret,
    pub history_size: usize,
    pub history_ttl_hours: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub cookie_name: String,
    pub staff_session_hours: i64,
    pub participant_session_hours: i64,
    /// Seconds a node reuses a sign-in it has read instead of reading it again on every request. A
    /// sign-out reaches every node's cache at once through the broker; this bounds how long a node
    /// that missed the notice (broker outage) could still admit it. 0 = read on every request.
    pub cache_secs: u64,
    /// Passwords hashed or checked at once (argon2id, 19 MiB each); more wait, and beyond twice as
    /// many sign-ins get 503 with Retry-After. 0 = one per core.
    pub hash_concurrency: usize,
    /// Failed sign-ins per e-mail address before it must wait (see `login_backoff`).
    pub login_failures_free: u32,
    /// The first wait after those, in seconds; each further failure doubles it.
    pub login_backoff_secs: u32,
    /// The longest wait, in seconds (also how long failures are remembered).
    pub login_backoff_max_secs: u32,
    /// Shortest staff password, in characters (at least 8; the longest is 256).
    pub password_min_chars: usize,
    /// Seconds between purges of expired sign-ins (one node purges, under a broker lease).
    pub purge_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrchestratorSettings {
    pub enabled: bool,
    pub tick_ms: u64,
    pub claim_timeout_secs: u64,
}

/// The WebSocket hub.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSettings {
    /// Frames waiting per connection before the client is told to resync.
    pub queue_capacity: usize,
    /// Largest inbound frame in bytes.
    pub max_frame_bytes: usize,
    /// Topics one connection may hold.
    pub max_subscriptions: usize,
    /// Seconds between server pings and sign-in re-checks.
    pub ping_interval_secs: u64,
    /// Seconds of silence before a connection is closed.
    pub client_timeout_secs: u64,
    /// Seconds between presence reports.
    pub presence_interval_secs: u64,
    /// Connections this node accepts.
    pub max_connections: usize,
    /// Connections one sign-in (one cookie) may hold on this node; more are closed with 1013.
    /// 0 = no limit.
    pub max_connections_per_sign_in: usize,
    /// Milliseconds a busy topic's events wait to be fanned out together (0 to 1000; 0: never).
    pub coalesce_ms: u64,
    /// Messages one connection may send a second on average; faster closes it with 1008. 0 = no
    /// limit.
    pub messages_per_sec: u32,
    /// Messages one connection may send at once before `messages_per_sec` applies.
    pub message_burst: u32,
    /// Replays (`subscribe` with `since`) of one topic one connection may ask for a minute. 0 = no
    /// limit.
    pub replays_per_topic_per_minute: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockKind {
    System,
    File,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSettings {
    pub kind: ClockKind,
    /// With `kind = "file"`: the file holding the current time as RFC 3339.
    pub file: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

/// Explicit limits on what clients may send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub jam_title_max: usize,
    pub jam_description_max: usize,
    pub jam_guidelines_max: usize,
    pub session_title_max: usize,
    pub session_description_max: usize,
    pub announcement_max: usize,
    pub audiences_max: usize,
    pub sessions_max: usize,
    pub page_max: u32,
    /// Longest idea title in characters (one line).
    pub idea_title_max: usize,
    /// Longest idea body in characters (several lines).
    pub idea_body_max: usize,
    /// Most tags on one idea.
    pub idea_tags_max: usize,
    /// Longest tag in characters (one line).
    pub idea_tag_max: usize,
    /// Minutes after posting during which the author may edit an idea.
    pub idea_edit_minutes: i64,
    /// Longest comment in characters (several lines).
    pub comment_body_max: usize,
    /// Longest search query in characters.
    pub search_query_max: usize,
    /// New participants one client address (an IPv4 address, an IPv6 /64) may add to one jam per
    /// UTC day with a shared invite code; more get 429 until the next UTC day, and facilitators see
    /// the address on the dashboard. Counted in the database, so the cap holds across the cluster.
    /// At least 1.
    pub joins_per_address_per_day: u32,
    /// Most personal invites one request (or one `jamd invites issue`) may issue. At least 1.
    pub invites_per_request: usize,
    /// Most `@name` mentions read in one idea or comment (more are left as plain text), and so the
    /// most people one post notifies by mention. 0 turns mentions off.
    pub mentions_max: usize,
    /// Longest poll question in characters (several lines).
    pub poll_question_max: usize,
    /// Longest poll option in characters (one line).
    pub poll_option_max: usize,
}

/// A string that never shows in logs or `Debug` output.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct SettingsError(String);

/// Where settings come from; the environment by default, a map in tests.
pub struct Sources {
    pub dir: PathBuf,
    pub profile: Option<String>,
    pub env: Vec<(String, String)>,
}

impl Sources {
    pub fn from_env() -> Self {
        Self {
            dir: std::env::var_os("JAM_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from),
            profile: std::env::var("JAM_PROFILE").ok().filter(|p| !p.is_empty()),
            env: std::env::vars().filter(|(k, _)| k.starts_with("JAM__")).collect(),
        }
    }
}

impl Settings {
    pub fn load() -> Result<Self, SettingsError> {
        Self::load_from(Sources::from_env())
    }

    pub fn load_from(sources: Sources) -> Result<Self, SettingsError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(profile) = &sources.profile {
            let path = sources.dir.join(format!("{profile}.toml"));
            if !path.is_file() {
                return Err(SettingsError(format!(
                    "JAM_PROFILE={profile} but {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        let env = Environment::with_prefix("JAM")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .source(Some(sources.env.into_iter().collect()));
        let config = builder
            .add_source(env)
            .build()
            .map_err(|e| SettingsError(e.to_string()))?;
        let settings: Settings = config
            .try_deserialize()
            .map_err(|e| SettingsError(e.to_string()))?;
        settings.validate()?;
        Ok(settings.normalized())
    }

    /// Over https the session cookie is a `__Host-` cookie: Secure, path `/`, no Domain, so a
    /// sibling subdomain or a plain-http page cannot set or shadow it.
    fn normalized(mut self) -> Self {
        if self.server.public_origin.starts_with("https://") && !self.auth.cookie_name.starts_with("__Host-")
        {
            self.auth.cookie_name = format!("__Host-{}", self.auth.cookie_name);
        }
        self
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let fail = |key: &str, why: &str| Err(SettingsError(format!("{key}: {why}")));
        if !(self.server.public_origin.starts_with("http://")
            || self.server.public_origin.starts_with("https://"))
            || self.server.public_origin.ends_with('/')
        {
            return fail(
                "server.public_origin",
                "must be scheme://host[:port] without a trailing slash",
            );
        }
        if self.server.public_origin.starts_with("https://") && !self.server.secure_cookies {
            return fail(
                "server.secure_cookies",
                "must be true when server.public_origin is https",
            );
        }
        let url = self.database.url.expose();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return fail("database.url", "must start with sqlite: or postgres://");
        }
        if self.database.max_connections == 0 || self.database.min_connections > self.database.max_connections
        {
            return fail(
                "database.max_connections",
                "must be at least 1 and at least min_connections",
            );
        }
        if self.broker.history_size == 0 {
            return fail("broker.history_size", "must be at least 1");
        }
        if self.orchestrator.tick_ms == 0 || self.orchestrator.tick_ms > 1000 {
            return fail(
                "orchestrator.tick_ms",
                "must be between 1 and 1000 (transitions are due within 1 s)",
            );
        }
        if !(10..=1000).contains(&self.tally.tick_ms) {
            return fail(
                "tally.tick_ms",
                "must be between 10 and 1000 (live tallies converge within 2 s)",
            );
        }
        let pulse = &self.pulse;
        if !(pulse.negative_alert_share > 0.0 && pulse.negative_alert_share < 1.0) {
            return fail(
                "pulse.negative_alert_share",
                "must be between 0 and 1 (exclusive)",
            );
        }
        if !(1..=1440).contains(&pulse.alert_window_minutes) {
            return fail("pulse.alert_window_minutes", "must be between 1 and 1440");
        }
        if pulse.alert_min_posts == 0 {
            return fail("pulse.alert_min_posts", "must be at least 1");
        }
        if !(10..=60_000).contains(&pulse.alert_tick_ms) {
            return fail("pulse.alert_tick_ms", "must be between 10 and 60000");
        }
        if !(1..=86_400).contains(&pulse.themes_every_secs) {
            return fail("pulse.themes_every_secs", "must be between 1 and 86400");
        }
        if !(1..=1440).contains(&pulse.hot_window_minutes) {
            return fail("pulse.hot_window_minutes", "must be between 1 and 1440");
        }
        if self.clock.kind == ClockKind::File && self.clock.file.is_empty() {
            return fail("clock.file", "must name a file when clock.kind = \"file\"");
        }
        if self.auth.staff_session_hours <= 0 || self.auth.participant_session_hours <= 0 {
            return fail("auth.staff_session_hours", "session lifetimes must be positive");
        }
        if self.limits.max_body_bytes < 1024 || self.limits.page_max == 0 {
            return fail(
                "limits.max_body_bytes",
                "must be at least 1024 (and limits.page_max at least 1)",
            );
        }
        if !self.smtp.host.is_empty() && !self.smtp.from.contains('@') {
            return fail("smtp.from", "must be an e-mail address when smtp.host is set");
        }
        if !(1..=300).contains(&self.smtp.timeout_secs) {
            return fail("smtp.timeout_secs", "must be 1 to 300");
        }
        if self.limits.invites_per_request == 0 {
            return fail("limits.invites_per_request", "must be at least 1");
        }
        if self.limits.joins_per_address_per_day == 0 {
            return fail("limits.joins_per_address_per_day", "must be at least 1");
        }
        if self.oidc.enabled {
            let o = &self.oidc;
            if !(o.issuer_url.starts_with("https://") || o.issuer_url.starts_with("http://")) {
                return fail("oidc.issuer_url", "must be an http(s) URL when oidc.enabled");
            }
            if o.client_id.is_empty() {
                return fail("oidc.client_id", "must be set when oidc.enabled");
            }
            if !(1..=60).contains(&o.login_minutes) {
                return fail("oidc.login_minutes", "must be between 1 and 60");
            }
            if o.staff && o.role_claim.is_empty() {
                return fail("oidc.role_claim", "must name a claim when oidc.staff");
            }
        }
        if !(self.oidc.password_login || (self.oidc.enabled && self.oidc.staff)) {
            return fail(
                "oidc.password_login",
                "may be off only when staff sign in through the provider (oidc.enabled and oidc.staff)",
            );
        }
        if self.live.coalesce_ms > 1000 {
            return fail("live.coalesce_ms", "must be at most 1000");
        }
        if self.moderation.flag_min_age_minutes < 0 {
            return fail("moderation.flag_min_age_minutes", "must not be negative");
        }
        if !(8..=256).contains(&self.auth.password_min_chars) {
            return fail("auth.password_min_chars", "must be 8 to 256");
        }
        if self.auth.purge_interval_secs == 0 {
            return fail("auth.purge_interval_secs", "must be at least 1");
        }
        if self.moderation.hide_after_flags == 0 {
            return fail("moderation.hide_after_flags", "must be at least 1");
        }
        if !(1..=jam_store::vote_writer::BATCH_MAX_LIMIT).contains(&self.votes.batch_max) {
            return fail("votes.batch_max", "must be between 1 and 4096");
        }
        if self.votes.queue_capacity == 0 || self.votes.batch_linger_us > 1_000_000 {
            return fail(
                "votes.queue_capacity",
                "must be at least 1 (and votes.batch_linger_us at most 1000000)",
            );
        }
        if !(1..=jam_store::vote_writer::WRITERS_LIMIT).contains(&self.votes.postgres_writers) {
            return fail("votes.postgres_writers", "must be between 1 and 64");
        }
        let i = &self.impressions;
        if !(1..=1000).contains(&i.max_ids) {
            return fail("impressions.max_ids", "must be between 1 and 1000");
        }
        if !(1..=jam_store::impressions::BATCH_MAX_LIMIT).contains(&i.batch_max) {
            return fail("impressions.batch_max", "must be between 1 and 8192");
        }
        if i.queue_capacity == 0 {
            return fail("impressions.queue_capacity", "must be at least 1");
        }
        if i.rate.window_secs == 0 {
            return fail("impressions.rate", "window_secs must be at least 1");
        }
        let q = &self.search;
        if q.max_words == 0 {
            return fail("search.max_words", "must be at least 1");
        }
        if !(1..=20).contains(&q.similar_max) {
            return fail("search.similar_max", "must be between 1 and 20");
        }
        if !(1..=1000).contains(&q.duplicates_recent) {
            return fail("search.duplicates_recent", "must be between 1 and 1000");
        }
        for (key, score) in [
            ("search.similar_min_score", q.similar_min_score),
            ("search.duplicates_min_score", q.duplicates_min_score),
        ] {
            if !(0.0..=1.0).contains(&score) {
                return fail(key, "must be between 0 and 1");
            }
        }
        for (key, rate) in [("search.rate", q.rate), ("search.similar_rate", q.similar_rate)] {
            if rate.window_secs == 0 {
                return fail(key, "window_secs must be at least 1");
            }
        }
        let r = &self.rate_limits;
        for (key, rate) in [
            ("login", r.login),
            ("join", r.join),
            ("welcome", r.welcome),
            ("ideas", r.ideas),
            ("comments", r.comments),
            ("votes", r.votes),
            ("flags", r.flags),
            ("connections", r.connections),
        ] {
            if rate.window_secs == 0 {
                return Err(SettingsError(format!(
                    "rate_limits.{key}.window_secs: must be at least 1"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn load(env: &[(&str, &str)], profile: Option<&str>) -> Result<Settings, SettingsError> {
        Settings::load_from(Sources {
            dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config")),
            profile: profile.map(str::to_owned),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
    }

    #[test]
    fn the_defaults_are_the_embedded_single_node_setup() {
        let s = load(&[], None).unwrap();
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
        assert!(s.database.url.expose().starts_with("sqlite://data/"));
        assert_eq!(s.broker.kind, BrokerKindSetting::Memory);
        assert_eq!(s.moderation.hide_after_flags, 3);
        assert_eq!(s.limits.joins_per_address_per_day, 50);
    }

    #[test]
    fn every_file_in_the_config_folder_parses() {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"));
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let profile = path.file_stem().unwrap().to_string_lossy().into_owned();
                load(&[], Some(&profile)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 2, "default.toml and at least one profile");
    }

    #[test]
    fn the_shipped_default_file_is_the_compiled_in_one() {
        let on_disk =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/default.toml"))
                .unwrap();
        assert_eq!(on_disk, DEFAULT_TOML);
    }

    #[test]
    fn environment_variables_override_files() {
        let s = load(
            &[
                ("JAM__SERVER__BIND", "127.0.0.1:0"),
                ("JAM__BROKER__KIND", "redis"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s.server.bind.port(), 0);
        assert_eq!(s.broker.kind, BrokerKindSetting::Redis);
    }

    #[test]
    fn the_mood_alert_settings_are_checked_by_name() {
        let s = load(&[], None).unwrap();
        assert_eq!(s.pulse.negative_alert_share, 0.5);
        assert_eq!(s.pulse.alert_window_minutes, 30);
        assert_eq!(s.pulse.themes_every_secs, 300);
        assert_eq!(s.pulse.hot_window_minutes, 60);
        for (key, value, name) in [
            (
                "JAM__PULSE__NEGATIVE_ALERT_SHARE",
                "1.5",
                "pulse.negative_alert_share",
            ),
            (
                "JAM__PULSE__ALERT_WINDOW_MINUTES",
                "0",
                "pulse.alert_window_minutes",
            ),
            ("JAM__PULSE__ALERT_MIN_POSTS", "0", "pulse.alert_min_posts"),
            ("JAM__PULSE__ALERT_TICK_MS", "5", "pulse.alert_tick_ms"),
            ("JAM__PULSE__THEMES_EVERY_SECS", "0", "pulse.themes_every_secs"),
            (
                "JAM__PULSE__HOT_WINDOW_MINUTES",
                "1441",
                "pulse.hot_window_minutes",
            ),
        ] {
            let err = load(&[(key, value)], None).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn an_unknown_key_is_rejected_by_name() {
        let err = load(&[("JAM__SERVER__BINDD", "x")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bindd"), "{err}");
    }

    #[test]
    fn an_invalid_value_is_rejected_naming_the_key() {
        let err = load(&[("JAM__SERVER__WORKERS", "many")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.workers"), "{err}");
        let err = load(&[("JAM__ORCHESTRATOR__TICK_MS", "5000")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("orchestrator.tick_ms"), "{err}");
        let err = load(&[("JAM__MODERATION__HIDE_AFTER_FLAGS", "0")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("moderation.hide_after_flags"), "{err}");
        let err = load(&[("JAM__LIVE__COALESCE_MS", "1001")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("live.coalesce_ms"), "{err}");
        let err = load(&[("JAM__VOTES__BATCH_MAX", "0")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("votes.batch_max"), "{err}");
        let err = load(&[("JAM__IMPRESSIONS__MAX_IDS", "1001")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("impressions.max_ids"), "{err}");
        let err = load(&[("JAM__IMPRESSIONS__BATCH_MAX", "0")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("impressions.batch_max"), "{err}");
        let err = load(&[("JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY", "0")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("limits.joins_per_address_per_day"), "{err}");
        let err = load(&[("JAM__BROKER__KIND", "kafka")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("broker.kind") || err.contains("kafka"), "{err}");
    }

    #[test]
    fn an_https_origin_needs_secure_cookies_and_names_the_cookie_host_only() {
        let err = load(&[("JAM__SERVER__PUBLIC_ORIGIN", "https://jam.example.org")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.secure_cookies"), "{err}");
        let s = load(
            &[
                ("JAM__SERVER__PUBLIC_ORIGIN", "https://jam.example.org"),
                ("JAM__SERVER__SECURE_COOKIES", "true"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s.auth.cookie_name, "__Host-jam_session");
        assert_eq!(load(&[], None).unwrap().auth.cookie_name, "jam_session");
    }

    #[test]
    fn oidc_settings_are_checked_when_on() {
        let err = load(&[("JAM__OIDC__ENABLED", "true")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("oidc.issuer_url"), "{err}");
        let err = load(&[("JAM__OIDC__PASSWORD_LOGIN", "false")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("oidc.password_login"), "{err}");
        let s = load(
            &[
                ("JAM__OIDC__ENABLED", "true"),
                ("JAM__OIDC__ISSUER_URL", "https://id.example.org"),
                ("JAM__OIDC__CLIENT_ID", "openjam"),
                ("JAM__OIDC__CLIENT_SECRET", "s3cret-from-env"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s.oidc.client_secret.expose(), "s3cret-from-env");
        assert!(!format!("{s:?}").contains("s3cret-from-env"));
    }

    #[test]
    fn a_missing_profile_file_is_an_error() {
        let err = load(&[], Some("nonexistent")).unwrap_err().to_string();
        assert!(err.contains("nonexistent.toml"), "{err}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = load(&[("JAM__DATABASE__URL", "postgres://u:hunter2@h/db")], None).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
