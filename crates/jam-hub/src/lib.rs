//! The live hub: WebSocket connections of this node, their topic subscriptions, and the fan-out of
//! broker events to them (`spec/live.md`, `DESIGN.md` §3 and §8).
//!
//! Layout, in dependency order: each module uses only those listed before it, and `hub`, last, is
//! used by none (the `mod` declarations below follow the same order; a test checks it).
//! - `backlog`: the node's count of connections with frames their socket's task has not taken yet.
//! - `frames`: requests in, frames out (events serialized once per node, shared by every recipient).
//! - `inbound`: a connection's way in, WebSocket frames decoded from the request payload.
//! - `settings`, `stats`: `HubSettings`, and `HubStats` with the live counters behind it.
//! - `seats`: live connections per sign-in, capped.
//! - `topic`: `Topic` names and the `TopicAuthorizer` the server implements.
//! - `outbox`: a connection's bounded queue and `LiveBody`, the response body that drains it.
//! - `registry`: local subscriptions by topic and the per-subscription delivery rule.
//! - `fanout`: what the broker delivers waits here by topic; one task fans it out, at most once per
//!   topic per `HubSettings::coalesce` and a chunk of subscribers at a time while the node's sockets
//!   keep up (the backlog), so a fan-out never floods the workers the API shares. All the pacing.
//! - `core`: `Core`, what the hub, the readers and the fan-out task share (broker, authorizer,
//!   settings, registry, counters, backlog, fan-out queue, open connections); attach/detach with the
//!   broker (first local subscriber subscribes, last unsubscribes, failures roll back).
//! - `conn`: a connection's reader task — requests, replay, heartbeat and sign-in checks.
//! - `hub`: `Hub` — builds the core, upgrade (Origin check), the broker sink, presence, shutdown.
//!
//! Delivery, per connection:
//! - A bounded queue (`queue_capacity` frames) drained by the connection's response body: each time
//!   actix-http's dispatcher can write, it takes what is queued as one text frame (an event alone is
//!   the node's shared frame, bytes untouched; several become one JSON array; at most
//!   `MAX_BATCH_BYTES` (2 KiB) per frame, the rest stays queued), because a wake costs far more than
//!   a message (`DESIGN.md` §8).
//!   No writer task and no second channel: a delivery is one push and one wake of the socket's task.
//! - Publishers (the broker sink, presence) only try to queue. When a connection's queue is full, the
//!   frame is dropped and that topic's subscription ends with `resync {reason: "too slow"}`, written
//!   after what was already queued; nothing more of the topic is queued until the client subscribes
//!   again (after refetching over HTTP). If the queue overflows again before the client has sent
//!   anything since (a reading client answers the resync by subscribing again, and pings with pongs),
//!   the connection is closed with 4008.
//! - The client's own replies (`subscribed`, replay, `pong`, `error`) wait for room instead: a client
//!   that does not read its replies slows down only its own requests.
//! - Subscribing with `since`: the subscription is registered (holding live events back) before the
//!   replay is read, then the client gets the replay, `subscribed`, and the held events newer than
//!   the replay (`subscribed` is queued in the same critical section that makes the subscription
//!   live). Per topic a client sees offsets increase by exactly one; a gap or an epoch change in what
//!   the broker delivers ends the subscription with `resync` instead. A `since` the history cannot
//!   serve gets `resync` followed by `subscribed` at the current position (that one stays live).
//! - Every other `resync` (too slow, broker reconnected, gap, new epoch) ends that topic on the
//!   connection: the client refetches over HTTP and subscribes again.
//!
//! Closing (codes of `spec/live.md`): the hub's own reasons close at once, dropping what is queued:
//! 4008 too slow, 1001 shutdown, 1013 over `max_connections`. The client's reasons close after what
//! is already queued for it (its replies, e.g. the errors that led to the close): 1008 after more
//! than 20 failed requests in a row (bad JSON, unknown types, forbidden topics, too many
//! subscriptions), 1009 for a frame over `max_frame_bytes`, 4001 when the sign-in is no longer
//! valid, 1000 in answer to the client's close. A client silent for `client_timeout` is closed with
//! 1000 at once. A closing connection gets at most `client_timeout` to take its close frame.

// In dependency order, as in the map above. rustfmt sorts each group of declarations: the blank
// lines keep the order (the first group uses no other module).
mod backlog;
mod frames;
mod inbound;
mod seats;
mod settings;
mod stats;
mod topic;

mod outbox;
mod registry;

mod fanout;

mod core;

mod conn;

mod hub;

pub use frames::MAX_BATCH_BYTES;
pub use hub::Hub;
pub use settings::HubSettings;
pub use stats::HubStats;
pub use topic::{BadTopic, CONTROL_PREFIX, ControlSink, SIGNED_OUT, Topic, TopicAuthorizer};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    #[test]
    fn each_module_uses_only_the_modules_declared_before_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
        let order: Vec<&str> = lib
            .lines()
            .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
            .collect();
        assert!(order.len() > 1, "found the `mod` declarations");
        for (i, module) in order.iter().enumerate() {
            let text = std::fs::read_to_string(src.join(format!("{module}.rs"))).unwrap();
            for (at, _) in text.match_indices("crate::") {
                // One module per path: `crate::{a, b}` names none and fails here.
                let used: String = text[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    order[..i].contains(&used.as_str()),
                    "`{module}` uses `{used}`, which lib.rs does not declare before it"
                );
            }
        }
    }
}
