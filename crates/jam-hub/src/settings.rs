//! The hub's settings, passed explicitly by whoever builds the hub (the server, or a test).

use std::time::Duration;

/// Limits and timings of the live endpoint. Every limit is per node unless it says otherwise.
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// The one `Origin` a browser may upgrade from, e.g. `https://jam.example.org` (a trailing `/` is
    /// ignored; compared case-insensitively). A missing or different `Origin` is refused with 403 before
    /// the upgrade, so another site cannot ride the session cookie.
    pub allowed_origin: String,
    /// Frames each connection may have waiting to be written. A publisher that finds the queue full
    /// never waits: see the crate documentation for what the connection gets instead.
    pub queue_capacity: usize,
    /// Largest inbound frame (and continuation-aggregated message) in bytes; larger closes with 1009.
    pub max_frame_bytes: usize,
    /// Topics one connection may hold at once.
    pub max_subscriptions: usize,
    /// How often the server pings each connection and re-checks its sign-in.
    pub ping_interval: Duration,
    /// A connection that sends nothing (not even a pong) for this long is closed. It is also how long a
    /// closing connection gets to take its close frame.
    pub client_timeout: Duration,
    /// How often this node reports its presence counts and pushes changed totals.
    pub presence_interval: Duration,
    /// Names this node in cluster-wide presence counts. Must differ between nodes.
    pub node_id: String,
    /// Connections this node accepts; beyond it a new connection is closed with 1013 (try again later).
    pub max_connections: usize,
    /// Connections one sign-in (one cookie) may hold on this node; beyond it a new connection is
    /// closed with 1013. 0 = no limit.
    pub max_connections_per_sign_in: usize,
    /// The shortest time between two fan-outs of one topic. An event that comes at least this long
    /// after its topic's previous fan-out goes out at once; one that comes sooner waits, with any
    /// others, for the next fan-out (so at most this long). Each fan-out wakes every subscriber once,
    /// whatever it carries. Zero fans out every event at once.
    pub coalesce: Duration,
    /// Messages one connection may send per second, on average (a token bucket refilled at this
    /// rate; requests and the client's own pings count, pongs to our pings do not). A connection
    /// that sends faster gets an `error` (`rate_limited`) and is closed with 1008. 0 = no limit.
    pub messages_per_sec: u32,
    /// The bucket's size: how many messages a connection may send at once (e.g. its subscriptions
    /// on connecting) before the rate applies.
    pub message_burst: u32,
    /// Subscriptions with `since` (replays from history) one connection may make to one topic per
    /// minute; more get an `error` (`rate_limited`) and no replay. 0 = no limit.
    pub replays_per_topic_per_minute: u32,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self {
            allowed_origin: String::new(),
            queue_capacity: 512,
            max_frame_bytes: 16 * 1024,
            max_subscriptions: 200,
            ping_interval: Duration::from_secs(15),
            client_timeout: Duration::from_secs(45),
            presence_interval: Duration::from_secs(5),
            node_id: format!("node-{}", uuid::Uuid::new_v4().simple()),
            // About what one process can hold under the 20,000 file descriptor limit (DESIGN.md §8).
            max_connections: 19_000,
            max_connections_per_sign_in: 10,
            coalesce: Duration::from_millis(100),
            messages_per_sec: 20,
            message_burst: 40,
            replays_per_topic_per_minute: 10,
        }
    }
}
