//! The Redis broker.
//!
//! Choose it when more than one node serves the same jams (the cluster mode): every node publishes through
//! the same Redis, so offsets, history, `publish_once` keys, leases and presence are shared, and an event
//! published on any node reaches every node that subscribed its topic. Requires Redis 5 or later (scripts
//! that read `TIME` before writing rely on effects replication).
//!
//! Atomicity comes from Lua scripts: one script assigns the offset, appends the history entry and publishes
//! it, so no reader can see one without the other. Every node holds two connections: a self-healing
//! multiplexed connection for commands and scripts, and one long-lived pub/sub connection drained by a
//! reader task into the sink. When the pub/sub connection drops, the reader reconnects with capped,
//! jittered exponential backoff, subscribes every topic again and only then calls `reconnected()`.
//!
//! Keys (`{topic}` is a Redis Cluster hash tag, so all keys of a topic share a slot):
//! - `jam:b:{T}:pos`: hash with the epoch (`e`) and the last offset (`o`); the two live and die together,
//!   so offsets can never restart under an old epoch.
//! - `jam:b:{T}:hist`: list of frames, oldest first, trimmed to `history_size`.
//! - `jam:b:{T}:once:K`: `publish_once` key `K` (scoped to topic `T`).
//! - `jam:b:{T}:ch`: the pub/sub channel (not a key).
//! - `jam:b:lease:{N}`: lease `N`, holding its holder. `jam:b:presence:{K}`: hash node -> `count:expires_ms`.
//!
//! The offset, epoch and history keys expire `history_ttl` after the topic's last publish.
//!
//! Frame (history entry and pub/sub message alike): `{offset}:{epoch}:{payload}`, where the offset is in
//! decimal, the epoch is 32 hex digits and the payload is the raw bytes, unchanged.
//!
//! Broadcasts (`Broker::broadcast`) are a plain `PUBLISH` of `b:{payload}` on the topic's channel: no
//! script, no key, no history. An event frame starts with a digit, so the two never mix up.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use ::redis::{Client, ErrorKind, Msg, RedisError, Script, ServerErrorKind};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

use crate::broker::{Broker, BrokerSink, Position, Published, Replay};
use crate::{BrokerError, BrokerSettings};

/// How long opening a connection may take before the attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long any command may wait for its reply (on either connection) before it counts as failed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnect attempts of the command connection before a command fails; the next command starts over.
/// Few, so that commands fail fast (as `Unavailable`) during an outage instead of piling up.
const COMMAND_RECONNECT_RETRIES: usize = 3;
/// How often the reader pings an otherwise quiet pub/sub connection, so a half-open TCP connection (no
/// reset ever arrives) is noticed rather than silently delivering nothing.
const PUBSUB_PING_EVERY: Duration = Duration::from_secs(10);
/// Reconnect backoff of the pub/sub connection: first retry, and the cap.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A pub/sub connection that lived this long resets the backoff; one lost sooner keeps it growing.
const STABLE_AFTER: Duration = Duration::from_secs(5);
/// Topics per `SUBSCRIBE` when subscribing everything again after a reconnect.
const RESUBSCRIBE_CHUNK: usize = 256;
/// Longest expiry handed to Redis (ten years): larger values overflow its clock arithmetic.
const MAX_TTL_MS: u64 = 10 * 365 * 24 * 3600 * 1000;
/// What starts a broadcast's pub/sub message (an event frame starts with its offset's first digit).
const BROADCAST_PREFIX: &[u8] = b"b:";

/// Reads the topic's position, creating a new epoch when there is none (first use, or the keys expired or
/// were lost). A new epoch also drops any stray history, so offsets restart only together with the epoch.
/// KEYS: pos, hist. ARGV: candidate epoch, history TTL (ms).
macro_rules! ensure_epoch_lua {
    () => {
        r#"
local pos = redis.call('HMGET', KEYS[1], 'e', 'o')
local epoch = pos[1]
local offset = tonumber(pos[2])
if not epoch or not offset then
  epoch = ARGV[1]
  offset = 0
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
"#
    };
}

/// Assigns the next offset, appends the frame and publishes it, all in one script.
/// ARGV (after the two above): payload, history size, channel.
macro_rules! publish_lua {
    () => {
        r#"
offset = redis.call('HINCRBY', KEYS[1], 'o', 1)
local frame = string.format('%d', offset) .. ':' .. epoch .. ':' .. ARGV[3]
local keep = tonumber(ARGV[4])
if keep > 0 then
  redis.call('RPUSH', KEYS[2], frame)
  redis.call('LTRIM', KEYS[2], -keep, -1)
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
else
  redis.call('DEL', KEYS[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], frame)
return {offset, epoch}
"#
    };
}

const PUBLISH_LUA: &str = concat!(ensure_epoch_lua!(), publish_lua!());

/// `publish`, after claiming the dedupe key. KEYS[3]: the dedupe key. ARGV[6]: its TTL (ms).
/// A claimed key returns nil and changes nothing else.
const PUBLISH_ONCE_LUA: &str = concat!(
    "if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[6]) then return false end\n",
    ensure_epoch_lua!(),
    publish_lua!()
);

const POSITION_LUA: &str = concat!(ensure_epoch_lua!(), "return {epoch, offset}\n");

/// Answers a replay in one script, so a concurrent publish cannot open a hole between reading the offset
/// and reading the history. Returns {epoch, offset, 1 = events follow | 0 = resync, frames}.
/// ARGV (after the two above): since, the caller's epoch.
const REPLAY_LUA: &str = concat!(
    ensure_epoch_lua!(),
    r#"
if ARGV[4] ~= epoch then return {epoch, offset, 0, {}} end
local since = tonumber(ARGV[3])
if not since or since > offset then return {epoch, offset, 0, {}} end
local missing = offset - since
if missing == 0 then return {epoch, offset, 1, {}} end
if missing > redis.call('LLEN', KEYS[2]) then return {epoch, offset, 0, {}} end
return {epoch, offset, 1, redis.call('LRANGE', KEYS[2], -missing, -1)}
"#
);

/// Takes a free lease or renews one's own. KEYS: lease. ARGV: holder, TTL (ms).
const ACQUIRE_LEASE_LUA: &str = r#"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"#;

/// Deletes the lease only if `holder` holds it. KEYS: lease. ARGV: holder.
const RELEASE_LEASE_LUA: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// Milliseconds since the epoch by the Redis server's clock, shared by every node.
macro_rules! now_ms_lua {
    () => {
        r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"#
    };
}

/// Records `count:expires_ms` for the node (or removes it for 0) and keeps the hash alive at least as
/// long as the entry. KEYS: presence hash. ARGV: node, count, TTL (ms).
const SET_PRESENCE_LUA: &str = concat!(
    now_ms_lua!(),
    r#"
local ttl = tonumber(ARGV[3])
if tonumber(ARGV[2]) == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. string.format('%d', now + ttl))
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return 0
"#
);

/// Sums the unexpired counts and deletes the expired (or malformed) entries: O(nodes). An entry counts
/// through its expiry millisecond, like a Redis key, so it never lapses before its full TTL.
/// KEYS: presence hash.
const PRESENCE_LUA: &str = concat!(
    now_ms_lua!(),
    r#"
local all = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #all, 2 do
  local value = all[i + 1]
  local sep = string.find(value, ':', 1, true)
  local count = sep and tonumber(string.sub(value, 1, sep - 1))
  local expires = sep and tonumber(string.sub(value, sep + 1))
  if count and expires and expires >= now then
    sum = sum + count
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return sum
"#
);

/// The scripts, hashed once; `invoke_async` sends `EVALSHA` and loads a script the server lacks.
struct Scripts {
    publish: Script,
    publish_once: Script,
    position: Script,
    replay: Script,
    acquire_lease: Script,
    release_lease: Script,
    set_presence: Script,
    presence: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            publish: Script::new(PUBLISH_LUA),
            publish_once: Script::new(PUBLISH_ONCE_LUA),
            position: Script::new(POSITION_LUA),
            replay: Script::new(REPLAY_LUA),
            acquire_lease: Script::new(ACQUIRE_LEASE_LUA),
            release_lease: Script::new(RELEASE_LEASE_LUA),
            set_presence: Script::new(SET_PRESENCE_LUA),
            presence: Script::new(PRESENCE_LUA),
        }
    }
}

fn topic_key(topic: &str, suffix: &str) -> String {
    format!("jam:b:{{{topic}}}:{suffix}")
}

fn channel(topic: &str) -> String {
    topic_key(topic, "ch")
}

fn topic_of_channel(channel: &str) -> Option<&str> {
    channel.strip_prefix("jam:b:{")?.strip_suffix("}:ch")
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

fn new_epoch() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A uniformly random duration in `[max / 2, max]`: spreads the reconnects of many nodes after Redis
/// comes back, while still growing with `max`.
fn jitter(max: Duration) -> Duration {
    let (random, _) = uuid::Uuid::new_v4().as_u64_pair();
    let fraction = (random as f64) / (u64::MAX as f64);
    max / 2 + (max / 2).mul_f64(fraction)
}

/// Connection failures and server states that pass are `Unavailable`; anything else means the two ends
/// disagree (a script error, an unexpected reply) and is a `Protocol` error.
fn to_broker_error(e: RedisError) -> BrokerError {
    let transient = e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::ReadOnly
            )
        );
    if transient {
        BrokerError::Unavailable(e.to_string())
    } else {
        BrokerError::Protocol(e.to_string())
    }
}

fn timed_out(what: &str) -> BrokerError {
    BrokerError::Unavailable(format!("{what} timed out"))
}

/// Splits a frame `{offset}:{epoch}:{payload}`; the payload shares the frame's buffer.
fn decode_frame(topic: &Arc<str>, frame: Bytes) -> Option<Published> {
    let first = frame.iter().position(|&b| b == b':')?;
    let offset = std::str::from_utf8(frame.get(..first)?).ok()?.parse().ok()?;
    let rest = frame.get(first + 1..)?;
    let second = rest.iter().position(|&b| b == b':')?;
    let epoch = std::str::from_utf8(rest.get(..second)?).ok()?;
    let epoch: Arc<str> = epoch.into();
    let payload = frame.slice(first + 1 + second + 1..);
    Some(Published {
        topic: topic.clone(),
        offset,
        epoch,
        payload,
    })
}

/// The `Broker` backed by Redis. One per node.
///
/// Deliveries to the sink come from the reader task; a few may still arrive for a topic shortly after
/// `unsubscribe` returned (they were on the wire before the server confirmed it).
pub struct RedisBroker {
    shared: Arc<Shared>,
    /// The reader task, which owns the pub/sub message stream. Aborted when the broker is dropped, which
    /// closes the pub/sub connection with it.
    reader: JoinHandle<()>,
}

/// What the broker and its reader task share.
struct Shared {
    settings: BrokerSettings,
    scripts: Scripts,
    /// Opens the pub/sub connection again after it dropped.
    client: Client,
    /// Commands and scripts. It reconnects by itself; a command that fails meanwhile is `Unavailable`.
    commands: ConnectionManager,
    /// Where subscribed events go. Read by the reader task for every message, written once at start-up.
    sink: RwLock<Option<Arc<dyn BrokerSink>>>,
    /// The topics this node wants and the live pub/sub connection. An async mutex, held across the
    /// `SUBSCRIBE` round trip, so that subscribes, unsubscribes and the reader's re-subscription after a
    /// reconnect happen one at a time and the set always matches what the connection is subscribed to.
    pubsub: Mutex<PubSubState>,
    /// True while the pub/sub connection is up. Lets `ping` (readiness) report a node that cannot
    /// receive events without waiting on `pubsub`.
    pubsub_up: AtomicBool,
}

struct PubSubState {
    topics: HashSet<Arc<str>>,
    /// `None` while the reader is reconnecting; `subscribe` then fails fast.
    live: Option<LiveConnection>,
}

struct LiveConnection {
    /// Sends `SUBSCRIBE`/`UNSUBSCRIBE` on the pub/sub connection (the reader owns its message stream).
    sink: PubSubSink,
    /// Tells the reader to drop this connection and start over: used when a command on it failed or timed
    /// out, since its subscriptions can no longer be trusted. One per connection, so a stale request
    /// cannot tear down the next connection.
    abandon: Arc<Notify>,
}

impl RedisBroker {
    /// Connects both connections, so a wrong URL or a down server fails here rather than later.
    pub async fn connect(url: &str, settings: BrokerSettings) -> Result<Self, BrokerError> {
        let client =
            Client::open(url).map_err(|e| BrokerError::Unavailable(format!("invalid Redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(COMMAND_RECONNECT_RETRIES)
            .set_max_delay(BACKOFF_MAX);
        let commands = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(to_broker_error)?;
        let (sink, stream) = open_pubsub(&client).await?;
        let abandon = Arc::new(Notify::new());
        let shared = Arc::new(Shared {
            settings,
            scripts: Scripts::new(),
            client,
            commands,
            sink: RwLock::new(None),
            pubsub: Mutex::new(PubSubState {
                topics: HashSet::new(),
                live: Some(LiveConnection {
                    sink: sink.clone(),
                    abandon: abandon.clone(),
                }),
            }),
            pubsub_up: AtomicBool::new(true),
        });
        let reader = tokio::spawn(run_reader(shared.clone(), sink, stream, abandon));
        Ok(Self { shared, reader })
    }

    fn commands(&self) -> ConnectionManager {
        // A clone is a handle to the same multiplexed connection.
        self.shared.commands.clone()
    }

    async fn publish_script(
        &self,
        topic: &str,
        once: Option<(&str, Duration)>,
        payload: Bytes,
    ) -> Result<Option<Published>, BrokerError> {
        let settings = &self.shared.settings;
        let scripts = &self.shared.scripts;
        let mut invocation = if once.is_some() {
            scripts.publish_once.prepare_invoke()
        } else {
            scripts.publish.prepare_invoke()
        };
        invocation
            .key(topic_key(topic, "pos"))
            .key(topic_key(topic, "hist"));
        invocation
            .arg(new_epoch())
            .arg(millis(settings.history_ttl))
            .arg(payload.as_ref())
            .arg(settings.history_size)
            .arg(channel(topic));
        if let Some((key, ttl)) = once {
            invocation
                .key(topic_key(topic, &format!("once:{key}")))
                .arg(millis(ttl));
        }
        let reply: Option<(u64, String)> = invocation
            .invoke_async(&mut self.commands())
            .await
            .map_err(to_broker_error)?;
        Ok(reply.map(|(offset, epoch)| Published {
            topic: topic.into(),
            offset,
            epoch: epoch.into(),
            payload,
        }))
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn open_pubsub(client: &Client) -> Result<(PubSubSink, PubSubStream), BrokerError> {
    let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(|_| timed_out("connecting the pub/sub connection"))?
        .map_err(to_broker_error)?;
    Ok(pubsub.split())
}

/// Owns the pub/sub stream for the broker's lifetime: delivers messages, and when the connection is lost,
/// replaces it and tells the sink.
async fn run_reader(shared: Arc<Shared>, sink: PubSubSink, stream: PubSubStream, abandon: Arc<Notify>) {
    let (mut sink, mut stream, mut abandon) = (sink, stream, abandon);
    let mut backoff = Backoff::new();
    let mut connected_at = tokio::time::Instant::now();
    loop {
        pump(&shared, &mut sink, &mut stream, &abandon).await;
        shared.pubsub_up.store(false, Ordering::SeqCst);
        shared.pubsub.lock().await.live = None;
        // Dropping the stream stops the connection's driver task and closes the socket.
        drop(stream);
        if connected_at.elapsed() < STABLE_AFTER {
            // Lost again soon after connecting (a server that accepts and then drops us): keep backing off
            // instead of spinning.
            backoff
                .wait("the pub/sub connection dropped soon after connecting")
                .await;
        } else {
            backoff = Backoff::new();
        }
        (sink, stream, abandon) = reconnect(&shared, &mut backoff).await;
        connected_at = tokio::time::Instant::now();
        shared.pubsub_up.store(true, Ordering::SeqCst);
        // Only now, with every topic subscribed again: events published from here on will arrive.
        if let Some(out) = shared.sink() {
            out.reconnected();
        }
    }
}

/// Capped exponential backoff with jitter for the pub/sub reconnects.
struct Backoff {
    delay: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self { delay: BACKOFF_MIN }
    }

    async fn wait(&mut self, why: &str) {
        let wait = jitter(self.delay);
        tracing::warn!(?wait, "redis broker: {why}; retrying");
        tokio::time::sleep(wait).await;
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
    }
}

/// Delivers messages until the connection ends, stops answering pings, or is abandoned.
async fn pump(shared: &Shared, sink: &mut PubSubSink, stream: &mut PubSubStream, abandon: &Notify) {
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PUBSUB_PING_EVERY, PUBSUB_PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => shared.deliver(&message),
                None => {
                    tracing::warn!("redis broker: pub/sub connection lost");
                    return;
                }
            },
            _ = ping.tick() => {
                match tokio::time::timeout(COMMAND_TIMEOUT, sink.ping::<::redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "redis broker: pub/sub ping failed");
                        return;
                    }
                    Err(_) => {
                        tracing::warn!("redis broker: pub/sub ping timed out");
                        return;
                    }
                }
            }
            () = abandon.notified() => {
                tracing::warn!("redis broker: abandoning the pub/sub connection after a failed command");
                return;
            }
        }
    }
}

/// Opens a new pub/sub connection and subscribes every wanted topic, retrying with backoff until it works.
async fn reconnect(shared: &Shared, backoff: &mut Backoff) -> (PubSubSink, PubSubStream, Arc<Notify>) {
    loop {
        match resubscribe(shared).await {
            Ok(connection) => {
                tracing::info!("redis broker: pub/sub connection restored");
                return connection;
            }
            Err(error) => backoff.wait(&format!("pub/sub reconnect failed: {error}")).await,
        }
    }
}

async fn resubscribe(shared: &Shared) -> Result<(PubSubSink, PubSubStream, Arc<Notify>), BrokerError> {
    let (mut sink, stream) = open_pubsub(&shared.client).await?;
    let mut state = shared.pubsub.lock().await;
    let channels: Vec<String> = state.topics.iter().map(|t| channel(t)).collect();
    for chunk in channels.chunks(RESUBSCRIBE_CHUNK) {
        tokio::time::timeout(COMMAND_TIMEOUT, sink.subscribe(chunk))
            .await
            .map_err(|_| timed_out("subscribing again"))?
            .map_err(to_broker_error)?;
    }
    let abandon = Arc::new(Notify::new());
    state.live = Some(LiveConnection {
        sink: sink.clone(),
        abandon: abandon.clone(),
    });
    Ok((sink, stream, abandon))
}

impl Shared {
    fn sink(&self) -> Option<Arc<dyn BrokerSink>> {
        self.sink.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn deliver(&self, message: &Msg) {
        let Some(topic) = topic_of_channel(message.get_channel_name()) else {
            tracing::warn!(
                channel = message.get_channel_name(),
                "redis broker: message on an unknown channel"
            );
            return;
        };
        let topic: Arc<str> = topic.into();
        let frame = Bytes::copy_from_slice(message.get_payload_bytes());
        if frame.starts_with(BROADCAST_PREFIX) {
            if let Some(out) = self.sink() {
                out.broadcast(topic, frame.slice(BROADCAST_PREFIX.len()..));
            }
            return;
        }
        let Some(event) = decode_frame(&topic, frame) else {
            tracing::warn!(%topic, "redis broker: malformed frame");
            return;
        };
        if let Some(out) = self.sink() {
            out.deliver(event);
        }
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn set_sink(&self, sink: Arc<dyn BrokerSink>) {
        *self.shared.sink.write().unwrap_or_else(PoisonError::into_inner) = Some(sink);
    }

    async fn publish(&self, topic: &str, payload: Bytes) -> Result<Published, BrokerError> {
        self.publish_script(topic, None, payload)
            .await?
            .ok_or_else(|| BrokerError::Protocol("publish script returned nil".into()))
    }

    async fn publish_once(
        &self,
        topic: &str,
        key: &str,
        ttl: Duration,
        payload: Bytes,
    ) -> Result<Option<Published>, BrokerError> {
        self.publish_script(topic, Some((key, ttl)), payload).await
    }

    async fn broadcast(&self, topic: &str, payload: Bytes) -> Result<(), BrokerError> {
        let mut frame = Vec::with_capacity(BROADCAST_PREFIX.len() + payload.len());
        frame.extend_from_slice(BROADCAST_PREFIX);
        frame.extend_from_slice(&payload);
        // The reply is how many connections got it; whether any did is none of the sender's business.
        let _receivers: u64 = ::redis::cmd("PUBLISH")
            .arg(channel(topic))
            .arg(frame)
            .query_async(&mut self.commands())
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> Result<(), BrokerError> {
        let mut state = self.shared.pubsub.lock().await;
        if state.topics.contains(topic) {
            return Ok(());
        }
        let Some(live) = state.live.as_mut() else {
            return Err(BrokerError::Unavailable(
                "the pub/sub connection is reconnecting".into(),
            ));
        };
        let result = match tokio::time::timeout(COMMAND_TIMEOUT, live.sink.subscribe(channel(topic))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(to_broker_error(e)),
            Err(_) => Err(timed_out("subscribe")),
        };
        match result {
            Ok(()) => {
                state.topics.insert(topic.into());
                Ok(())
            }
            Err(error) => {
                // The server may still apply the subscribe later; a fresh connection gets only `topics`.
                live.abandon.notify_one();
                state.live = None;
                Err(error)
            }
        }
    }

    async fn unsubscribe(&self, topic: &str) -> Result<(), BrokerError> {
        let mut state = self.shared.pubsub.lock().await;
        if !state.topics.remove(topic) {
            return Ok(());
        }
        let Some(live) = state.live.as_mut() else {
            // The next connection subscribes only what is left in `topics`.
            return Ok(());
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, live.sink.unsubscribe(channel(topic))).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, %topic, "redis broker: unsubscribe failed; replacing the connection");
                live.abandon.notify_one();
                state.live = None;
            }
            Err(_) => {
                tracing::warn!(%topic, "redis broker: unsubscribe timed out; replacing the connection");
                live.abandon.notify_one();
                state.live = None;
            }
        }
        // Either way the topic is gone: the replacement connection does not subscribe it.
        Ok(())
    }

    async fn position(&self, topic: &str) -> Result<Position, BrokerError> {
        let (epoch, offset): (String, u64) = self
            .shared
            .scripts
            .position
            .key(topic_key(topic, "pos"))
            .key(topic_key(topic, "hist"))
            .arg(new_epoch())
            .arg(millis(self.shared.settings.history_ttl))
            .invoke_async(&mut self.commands())
            .await
            .map_err(to_broker_error)?;
        Ok(Position {
            offset,
            epoch: epoch.into(),
        })
    }

    async fn replay(&self, topic: &str, since: u64, epoch: &str) -> Result<Replay, BrokerError> {
        let (current, offset, ok, frames): (String, u64, u8, Vec<Bytes>) = self
            .shared
            .scripts
            .replay
            .key(topic_key(topic, "pos"))
            .key(topic_key(topic, "hist"))
            .arg(new_epoch())
            .arg(millis(self.shared.settings.history_ttl))
            .arg(since)
            .arg(epoch)
            .invoke_async(&mut self.commands())
            .await
            .map_err(to_broker_error)?;
        let position = Position {
            offset,
            epoch: current.into(),
        };
        if ok == 0 {
            return Ok(Replay::Resync { position });
        }
        let topic: Arc<str> = topic.into();
        let mut events = Vec::with_capacity(frames.len());
        for (expected, frame) in (since + 1..).zip(frames) {
            match decode_frame(&topic, frame) {
                Some(event) if event.offset == expected && event.epoch == position.epoch => {
                    events.push(event)
                }
                // Not what this script ever writes: trust nothing and let the client refetch.
                _ => {
                    tracing::warn!(%topic, "redis broker: history does not match the offset; resync");
                    return Ok(Replay::Resync { position });
                }
            }
        }
        if events.last().map_or(since, |e| e.offset) != offset {
            return Ok(Replay::Resync { position });
        }
        Ok(Replay::Events { events, position })
    }

    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, BrokerError> {
        let held: i64 = self
            .shared
            .scripts
            .acquire_lease
            .key(format!("jam:b:lease:{{{name}}}"))
            .arg(holder)
            .arg(millis(ttl))
            .invoke_async(&mut self.commands())
            .await
            .map_err(to_broker_error)?;
        Ok(held == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), BrokerError> {
        let _: i64 = self
            .shared
            .scripts
            .release_lease
            .key(format!("jam:b:lease:{{{name}}}"))
            .arg(holder)
            .invoke_async(&mut self.commands())
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }

    async fn set_presence(
        &self,
        key: &str,
        node: &str,
        count: u64,
        ttl: Duration,
    ) -> Result<(), BrokerError> {
        let _: i64 = self
            .shared
            .scripts
            .set_presence
            .key(format!("jam:b:presence:{{{key}}}"))
            .arg(node)
            .arg(count)
            .arg(millis(ttl))
            .invoke_async(&mut self.commands())
            .await
            .map_err(to_broker_error)?;
        Ok(())
    }

    async fn presence(&self, key: &str) -> Result<u64, BrokerError> {
        self.shared
            .scripts
            .presence
            .key(format!("jam:b:presence:{{{key}}}"))
            .invoke_async(&mut self.commands())
            .await
            .map_err(to_broker_error)
    }

    /// Fails while the pub/sub connection is down, too: such a node cannot deliver live events.
    async fn ping(&self) -> Result<(), BrokerError> {
        let _: String = ::redis::cmd("PING")
            .query_async(&mut self.commands())
            .await
            .map_err(to_broker_error)?;
        if !self.shared.pubsub_up.load(Ordering::SeqCst) {
            return Err(BrokerError::Unavailable(
                "the pub/sub connection is reconnecting".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_with_colons_in_the_payload() {
        let topic: Arc<str> = "idea:1".into();
        let frame = Bytes::from_static(b"42:0123abcd:{\"a\":\"b:c\"}");
        let event = decode_frame(&topic, frame).unwrap();
        assert_eq!(event.offset, 42);
        assert_eq!(&*event.epoch, "0123abcd");
        assert_eq!(event.payload, Bytes::from_static(b"{\"a\":\"b:c\"}"));
    }

    #[test]
    fn malformed_frames_are_rejected() {
        let topic: Arc<str> = "t".into();
        for frame in [&b""[..], b"12", b"x:e:p", b"12:epoch-without-separator"] {
            assert!(
                decode_frame(&topic, Bytes::from_static(frame)).is_none(),
                "{frame:?}"
            );
        }
    }

    #[test]
    fn a_broadcast_frame_is_never_taken_for_an_event() {
        let topic: Arc<str> = "t".into();
        let mut frame = BROADCAST_PREFIX.to_vec();
        frame.extend_from_slice(b"1:0123abcd:{}");
        assert!(decode_frame(&topic, Bytes::from(frame)).is_none());
        assert!(!b"12:e:{}".starts_with(BROADCAST_PREFIX));
    }

    #[test]
    fn channels_map_back_to_their_topic() {
        assert_eq!(topic_of_channel(&channel("jam:abc")), Some("jam:abc"));
        assert_eq!(topic_of_channel("other"), None);
    }

    #[test]
    fn jitter_stays_within_half_and_all_of_the_delay() {
        for _ in 0..100 {
            let d = jitter(Duration::from_millis(800));
            assert!(
                d >= Duration::from_millis(400) && d <= Duration::from_millis(800),
                "{d:?}"
            );
        }
    }
}
