#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The behaviour every `Broker` keeps, written once and run against each backend.
//!
//! `on_memory::*` always runs. `on_redis::*` runs the same suite (plus Redis-only cases) against the server in
//! `JAM_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379`); without it those tests pass after saying so on
//! stderr, unless `JAM_TEST_REQUIRE_SERVICES=1`, which makes them fail. Every test uses its own random
//! topic, lease and presence names, so tests may run concurrently against one Redis.
//!
//! No test sleeps to synchronise: deliveries are awaited on a channel with a timeout, and ordering against
//! "nothing else arrived" is checked with a marker event published afterwards (a node receives its
//! subscribed events in publish order). Only the expiry tests let real time pass.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use jam_broker::{Broker, BrokerSettings, BrokerSink, MemoryBroker, Published, RedisBroker, Replay};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

/// How long a test waits for something that should happen at once.
const WAIT: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------------------
// The factory: a backend makes nodes.

#[derive(Clone)]
enum Backend {
    Memory,
    Redis { url: String },
}

impl Backend {
    async fn broker(&self, settings: BrokerSettings) -> Arc<dyn Broker> {
        match self {
            Backend::Memory => Arc::new(MemoryBroker::new(settings)),
            Backend::Redis { url } => {
                Arc::new(RedisBroker::connect(url, settings).await.expect("connect redis"))
            }
        }
    }

    /// A node: a broker with a sink the test can read.
    async fn node(&self, settings: BrokerSettings) -> Node {
        Node::new(self.broker(settings).await)
    }

    /// Whether separate broker instances are separate nodes of one cluster (they share state). A memory
    /// broker is a cluster of one, so cross-node tests skip it.
    fn has_many_nodes(&self) -> bool {
        matches!(self, Backend::Redis { .. })
    }

    /// Another node of the same cluster as `node`, for leases, presence and `publish_once`: a second
    /// Redis connection, or the very same memory broker.
    async fn peer(&self, node: &Node) -> Arc<dyn Broker> {
        match self {
            Backend::Memory => node.broker.clone(),
            Backend::Redis { .. } => self.broker(settings()).await,
        }
    }
}

fn redis_backend() -> Option<Backend> {
    match std::env::var("JAM_TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(Backend::Redis { url }),
        _ => {
            jam_testkit::services::skip_or_fail("redis broker behaviour suite", "JAM_TEST_REDIS_URL");
            None
        }
    }
}

fn settings() -> BrokerSettings {
    BrokerSettings {
        history_size: 100,
        history_ttl: Duration::from_secs(600),
    }
}

fn unique(what: &str) -> String {
    format!("test:{what}:{}", uuid::Uuid::new_v4().simple())
}

fn payload(text: &str) -> Bytes {
    Bytes::from(format!("{{\"kind\":\"test\",\"text\":\"{text}\"}}"))
}

// ---------------------------------------------------------------------------------------------------------
// A node under test.

#[derive(Debug, PartialEq)]
enum Seen {
    Event(Published),
    Broadcast { topic: String, payload: Bytes },
    Reconnected,
}

struct ChannelSink(mpsc::UnboundedSender<Seen>);

impl BrokerSink for ChannelSink {
    fn deliver(&self, event: Published) {
        let _ = self.0.send(Seen::Event(event));
    }

    fn broadcast(&self, topic: Arc<str>, payload: Bytes) {
        let _ = self.0.send(Seen::Broadcast {
            topic: topic.to_string(),
            payload,
        });
    }

    fn reconnected(&self) {
        let _ = self.0.send(Seen::Reconnected);
    }
}

struct Node {
    broker: Arc<dyn Broker>,
    seen: mpsc::UnboundedReceiver<Seen>,
}

impl Node {
    fn new(broker: Arc<dyn Broker>) -> Self {
        let (tx, seen) = mpsc::unbounded_channel();
        broker.set_sink(Arc::new(ChannelSink(tx)));
        Self { broker, seen }
    }

    async fn next(&mut self) -> Seen {
        timeout(WAIT, self.seen.recv())
            .await
            .expect("nothing delivered in time")
            .expect("sink dropped")
    }

    async fn next_event(&mut self) -> Published {
        match self.next().await {
            Seen::Event(event) => event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    async fn events(&mut self, n: usize) -> Vec<Published> {
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(self.next_event().await);
        }
        events
    }

    /// Publishes a marker on a topic this node subscribes and returns the events delivered before it.
    /// Since a node receives its events in publish order, this proves what did *not* arrive.
    async fn drain_until_marker(&mut self) -> Vec<Published> {
        self.seen_until_marker()
            .await
            .into_iter()
            .map(|seen| match seen {
                Seen::Event(event) => event,
                other => panic!("expected only events, got {other:?}"),
            })
            .collect()
    }

    /// Like `drain_until_marker`, but returns everything delivered before the marker, broadcasts too.
    async fn seen_until_marker(&mut self) -> Vec<Seen> {
        let marker = unique("marker");
        self.broker.subscribe(&marker).await.unwrap();
        self.broker.publish(&marker, payload("marker")).await.unwrap();
        let mut before = Vec::new();
        loop {
            let seen = self.next().await;
            if matches!(&seen, Seen::Event(event) if *event.topic == *marker) {
                self.broker.unsubscribe(&marker).await.unwrap();
                return before;
            }
            before.push(seen);
        }
    }
}

async fn publish_n(broker: &dyn Broker, topic: &str, n: usize) -> Vec<Published> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(broker.publish(topic, payload(&format!("e{i}"))).await.unwrap());
    }
    out
}

/// Polls `check` until it holds, failing the test after `WAIT`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn offsets(events: &[Published]) -> Vec<u64> {
    events.iter().map(|e| e.offset).collect()
}

// ---------------------------------------------------------------------------------------------------------
// The suite: each function is one behaviour, run for every backend.

async fn an_unused_topic_is_at_offset_zero_with_a_stable_epoch(backend: Backend) {
    let node = backend.node(settings()).await;
    let topic = unique("topic");
    let first = node.broker.position(&topic).await.unwrap();
    assert_eq!(first.offset, 0);
    assert!(!first.epoch.is_empty());
    assert_eq!(
        node.broker.position(&topic).await.unwrap(),
        first,
        "the epoch is created once"
    );
    let published = node.broker.publish(&topic, payload("a")).await.unwrap();
    assert_eq!(
        published.epoch, first.epoch,
        "publishing keeps the epoch created by reading"
    );
}

async fn offsets_start_at_one_and_increase_by_exactly_one(backend: Backend) {
    let mut node = backend.node(settings()).await;
    let topic = unique("topic");
    node.broker.subscribe(&topic).await.unwrap();
    // Colons and braces in the payload must survive the framing unchanged.
    let bodies = [r#"{"a":"b:c:d"}"#, r#"{"x":"1:2:"}"#, "{}"];
    let mut published = Vec::new();
    for body in bodies {
        published.push(node.broker.publish(&topic, Bytes::from(body)).await.unwrap());
    }
    assert_eq!(offsets(&published), [1, 2, 3]);
    assert!(
        published
            .iter()
            .all(|e| e.epoch == published[0].epoch && *e.topic == *topic)
    );
    let delivered = node.events(3).await;
    assert_eq!(delivered, published);
    let bodies_back: Vec<&[u8]> = delivered.iter().map(|e| e.payload.as_ref()).collect();
    assert_eq!(bodies_back, bodies.map(str::as_bytes));
    let position = node.broker.position(&topic).await.unwrap();
    assert_eq!((position.offset, position.epoch), (3, published[0].epoch.clone()));
}

async fn concurrent_publishers_get_distinct_consecutive_offsets_delivered_in_order(backend: Backend) {
    const TASKS: usize = 8;
    const EACH: usize = 200;
    let mut node = backend.node(settings()).await;
    let topic = unique("topic");
    node.broker.subscribe(&topic).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let broker = node.broker.clone();
        let topic = topic.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(EACH);
            for i in 0..EACH {
                out.push(
                    broker
                        .publish(&topic, payload(&format!("{task}-{i}")))
                        .await
                        .unwrap(),
                );
            }
            out
        }));
    }
    let mut published = Vec::new();
    for task in tasks {
        let mine = task.await.unwrap();
        // One publisher's own events get increasing offsets.
        assert!(mine.windows(2).all(|w| w[0].offset < w[1].offset));
        published.extend(mine);
    }
    published.sort_by_key(|e| e.offset);
    let expected: Vec<u64> = (1..=(TASKS * EACH) as u64).collect();
    assert_eq!(
        offsets(&published),
        expected,
        "offsets are distinct and consecutive"
    );

    let delivered = node.events(TASKS * EACH).await;
    assert_eq!(offsets(&delivered), expected, "delivery order is offset order");
    assert_eq!(
        delivered, published,
        "each delivery carries the payload its offset was given to"
    );
}

async fn every_node_receives_events_published_by_any_node(backend: Backend) {
    if !backend.has_many_nodes() {
        eprintln!("not applicable: this backend is a single node");
        return;
    }
    let mut a = backend.node(settings()).await;
    let mut b = backend.node(settings()).await;
    let topic = unique("topic");
    a.broker.subscribe(&topic).await.unwrap();
    b.broker.subscribe(&topic).await.unwrap();
    let from_a = a.broker.publish(&topic, payload("from a")).await.unwrap();
    let from_b = b.broker.publish(&topic, payload("from b")).await.unwrap();
    assert_eq!(
        (from_a.offset, from_b.offset),
        (1, 2),
        "one offset sequence across nodes"
    );
    assert_eq!(from_a.epoch, from_b.epoch);
    let both = vec![from_a.clone(), from_b.clone()];
    assert_eq!(a.events(2).await, both);
    assert_eq!(b.events(2).await, both);
    let Replay::Events { events, position } = b.broker.replay(&topic, 0, &from_a.epoch).await.unwrap() else {
        panic!("a node replays what another published");
    };
    assert_eq!(events, both);
    assert_eq!(position.offset, 2);
}

async fn replay_since_an_offset_returns_exactly_the_missing_events(backend: Backend) {
    let node = backend
        .node(BrokerSettings {
            history_size: 10,
            ..settings()
        })
        .await;
    let topic = unique("topic");
    let published = publish_n(&*node.broker, &topic, 6).await;
    let epoch = published[0].epoch.clone();
    for since in [0, 2, 5] {
        let replay = node.broker.replay(&topic, since, &epoch).await.unwrap();
        let Replay::Events { events, position } = replay else {
            panic!("since {since}: {replay:?}")
        };
        assert_eq!(events, published[since as usize..], "since {since}");
        assert_eq!((position.offset, &position.epoch), (6, &epoch));
    }
    let replay = node.broker.replay(&topic, 6, &epoch).await.unwrap();
    assert!(
        matches!(replay, Replay::Events { ref events, .. } if events.is_empty()),
        "{replay:?}"
    );
}

async fn replay_older_than_the_history_is_a_resync(backend: Backend) {
    let node = backend
        .node(BrokerSettings {
            history_size: 5,
            ..settings()
        })
        .await;
    let topic = unique("topic");
    let published = publish_n(&*node.broker, &topic, 8).await;
    let epoch = published[0].epoch.clone();
    // Offsets 4..=8 are kept: since 3 is the oldest replayable point.
    let replay = node.broker.replay(&topic, 3, &epoch).await.unwrap();
    let Replay::Events { events, .. } = replay else {
        panic!("since 3: {replay:?}")
    };
    assert_eq!(offsets(&events), [4, 5, 6, 7, 8]);
    for since in [0, 2] {
        let replay = node.broker.replay(&topic, since, &epoch).await.unwrap();
        let Replay::Resync { position } = replay else {
            panic!("since {since}: {replay:?}")
        };
        assert_eq!((position.offset, position.epoch), (8, epoch.clone()));
    }
}

async fn replay_with_another_epoch_is_a_resync(backend: Backend) {
    let node = backend.node(settings()).await;
    let topic = unique("topic");
    let published = publish_n(&*node.broker, &topic, 3).await;
    let replay = node.broker.replay(&topic, 1, "some-other-epoch").await.unwrap();
    let Replay::Resync { position } = replay else {
        panic!("{replay:?}")
    };
    assert_eq!((position.offset, position.epoch), (3, published[0].epoch.clone()));
}

async fn replay_beyond_the_current_offset_is_a_resync(backend: Backend) {
    let node = backend.node(settings()).await;
    let topic = unique("topic");
    let published = publish_n(&*node.broker, &topic, 3).await;
    for since in [4, u64::MAX] {
        let replay = node
            .broker
            .replay(&topic, since, &published[0].epoch)
            .await
            .unwrap();
        let Replay::Resync { position } = replay else {
            panic!("since {since}: {replay:?}")
        };
        assert_eq!(position.offset, 3);
    }
}

async fn a_topics_history_lapses_after_its_ttl_with_a_new_epoch(backend: Backend) {
    let ttl = Duration::from_millis(400);
    let node = backend
        .node(BrokerSettings {
            history_size: 10,
            history_ttl: ttl,
        })
        .await;
    let topic = unique("topic");
    let start = Instant::now();
    let published = publish_n(&*node.broker, &topic, 2).await;
    let old = published[0].epoch.clone();
    eventually("the history lapses", || async {
        node.broker.position(&topic).await.unwrap().epoch != old
    })
    .await;
    assert!(
        start.elapsed() >= ttl,
        "lapsed after {:?}, before the TTL",
        start.elapsed()
    );
    let position = node.broker.position(&topic).await.unwrap();
    assert_eq!(position.offset, 0, "offsets start over with the new epoch");
    let replay = node.broker.replay(&topic, 1, &old).await.unwrap();
    assert!(matches!(replay, Replay::Resync { .. }), "{replay:?}");
    let next = node.broker.publish(&topic, payload("again")).await.unwrap();
    assert_eq!((next.offset, next.epoch), (1, position.epoch));
}

async fn unsubscribe_stops_delivery(backend: Backend) {
    let mut node = backend.node(settings()).await;
    let topic = unique("topic");
    node.broker.subscribe(&topic).await.unwrap();
    let first = node.broker.publish(&topic, payload("1")).await.unwrap();
    assert_eq!(node.next_event().await, first);
    node.broker.unsubscribe(&topic).await.unwrap();
    node.broker.unsubscribe(&topic).await.unwrap();
    node.broker.publish(&topic, payload("2")).await.unwrap();
    let late = node.drain_until_marker().await;
    assert!(late.is_empty(), "delivered after unsubscribe: {late:?}");
    node.broker.subscribe(&topic).await.unwrap();
    let third = node.broker.publish(&topic, payload("3")).await.unwrap();
    assert_eq!(
        node.next_event().await,
        third,
        "subscribing again resumes delivery"
    );
}

async fn subscribing_twice_delivers_each_event_once(backend: Backend) {
    let mut node = backend.node(settings()).await;
    let topic = unique("topic");
    node.broker.subscribe(&topic).await.unwrap();
    node.broker.subscribe(&topic).await.unwrap();
    let event = node.broker.publish(&topic, payload("once")).await.unwrap();
    assert_eq!(node.drain_until_marker().await, [event]);
}

async fn publish_once_publishes_once_per_key(backend: Backend) {
    let mut node = backend.node(settings()).await;
    let peer = backend.peer(&node).await;
    let topic = unique("topic");
    node.broker.subscribe(&topic).await.unwrap();
    let first = node
        .broker
        .publish_once(&topic, "k", LONG, payload("a"))
        .await
        .unwrap();
    assert_eq!(first.as_ref().map(|e| e.offset), Some(1));
    assert_eq!(
        node.broker
            .publish_once(&topic, "k", LONG, payload("b"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        peer.publish_once(&topic, "k", LONG, payload("c")).await.unwrap(),
        None,
        "on any node"
    );
    assert_eq!(
        node.broker.position(&topic).await.unwrap().offset,
        1,
        "a repeat assigns no offset"
    );
    let other = node
        .broker
        .publish_once(&topic, "k2", LONG, payload("d"))
        .await
        .unwrap();
    assert_eq!(other.as_ref().map(|e| e.offset), Some(2), "another key publishes");
    assert_eq!(node.drain_until_marker().await, [first.unwrap(), other.unwrap()]);

    // After the key's TTL the same key publishes again.
    let ttl = Duration::from_millis(300);
    let start = Instant::now();
    assert!(
        node.broker
            .publish_once(&topic, "short", ttl, payload("e"))
            .await
            .unwrap()
            .is_some()
    );
    eventually("the key expires", || async {
        node.broker
            .publish_once(&topic, "short", ttl, payload("f"))
            .await
            .unwrap()
            .is_some()
    })
    .await;
    assert!(
        start.elapsed() >= ttl,
        "repeated after {:?}, before the TTL",
        start.elapsed()
    );
}

async fn leases_are_exclusive_renewable_and_released_only_by_their_holder(backend: Backend) {
    let node = backend.node(settings()).await;
    let peer = backend.peer(&node).await;
    let lease = unique("lease");
    assert!(node.broker.acquire_lease(&lease, "a", LONG).await.unwrap());
    assert!(!peer.acquire_lease(&lease, "b", LONG).await.unwrap(), "held by a");
    assert!(
        node.broker.acquire_lease(&lease, "a", LONG).await.unwrap(),
        "the holder renews"
    );
    peer.release_lease(&lease, "b").await.unwrap();
    assert!(
        !peer.acquire_lease(&lease, "b", LONG).await.unwrap(),
        "only the holder releases"
    );
    node.broker.release_lease(&lease, "a").await.unwrap();
    assert!(
        peer.acquire_lease(&lease, "b", LONG).await.unwrap(),
        "free after release"
    );
    assert!(
        !node.broker.acquire_lease(&lease, "a", LONG).await.unwrap(),
        "now held by b"
    );
}

async fn a_lease_expires_after_its_ttl_unless_renewed(backend: Backend) {
    let node = backend.node(settings()).await;
    let peer = backend.peer(&node).await;
    let ttl = Duration::from_millis(300);

    let lease = unique("lease");
    let start = Instant::now();
    assert!(node.broker.acquire_lease(&lease, "a", ttl).await.unwrap());
    eventually("the lease expires", || async {
        peer.acquire_lease(&lease, "b", LONG).await.unwrap()
    })
    .await;
    assert!(
        start.elapsed() >= ttl,
        "taken over after {:?}, before the TTL",
        start.elapsed()
    );

    // Renewing with a longer TTL outlives the first one. (Real time must pass here.)
    let renewed = unique("lease");
    assert!(node.broker.acquire_lease(&renewed, "a", ttl).await.unwrap());
    assert!(node.broker.acquire_lease(&renewed, "a", LONG).await.unwrap());
    tokio::time::sleep(ttl * 2).await;
    assert!(
        !peer.acquire_lease(&renewed, "b", LONG).await.unwrap(),
        "the renewal extended the lease"
    );
}

async fn presence_sums_the_nodes_and_drops_expired_ones(backend: Backend) {
    let node = backend.node(settings()).await;
    let peer = backend.peer(&node).await;
    let key = unique("presence");
    assert_eq!(node.broker.presence(&key).await.unwrap(), 0);
    node.broker.set_presence(&key, "n1", 2, LONG).await.unwrap();
    peer.set_presence(&key, "n2", 3, LONG).await.unwrap();
    assert_eq!(node.broker.presence(&key).await.unwrap(), 5);
    assert_eq!(peer.presence(&key).await.unwrap(), 5);
    node.broker.set_presence(&key, "n1", 4, LONG).await.unwrap();
    assert_eq!(
        node.broker.presence(&key).await.unwrap(),
        7,
        "a node's count replaces its last one"
    );

    let ttl = Duration::from_millis(300);
    let start = Instant::now();
    peer.set_presence(&key, "n2", 3, ttl).await.unwrap();
    eventually("n2 expires", || async {
        node.broker.presence(&key).await.unwrap() == 4
    })
    .await;
    assert!(
        start.elapsed() >= ttl,
        "dropped after {:?}, before the TTL",
        start.elapsed()
    );
    node.broker.set_presence(&key, "n1", 0, LONG).await.unwrap();
    assert_eq!(node.broker.presence(&key).await.unwrap(), 0);
}

fn broadcast_of(topic: &str, text: &str) -> Seen {
    Seen::Broadcast {
        topic: topic.to_owned(),
        payload: payload(text),
    }
}

async fn a_broadcast_reaches_every_subscribed_node_without_an_offset_or_history(backend: Backend) {
    let mut nodes = vec![backend.node(settings()).await];
    if backend.has_many_nodes() {
        nodes.push(backend.node(settings()).await);
    }
    let topic = unique("topic");
    for node in &nodes {
        node.broker.subscribe(&topic).await.unwrap();
    }
    let sender = nodes[nodes.len() - 1].broker.clone();
    let first = publish_n(&*sender, &topic, 2).await;
    let epoch = first[0].epoch.clone();
    sender.broadcast(&topic, payload("tally 1")).await.unwrap();
    sender.broadcast(&topic, payload("tally 2")).await.unwrap();
    let third = sender.publish(&topic, payload("e2")).await.unwrap();
    assert_eq!(
        (third.offset, &third.epoch),
        (3, &epoch),
        "broadcasts take no offset and keep the epoch"
    );

    let expected = vec![
        Seen::Event(first[0].clone()),
        Seen::Event(first[1].clone()),
        broadcast_of(&topic, "tally 1"),
        broadcast_of(&topic, "tally 2"),
        Seen::Event(third.clone()),
    ];
    for (n, node) in nodes.iter_mut().enumerate() {
        let mut seen = Vec::new();
        for _ in 0..expected.len() {
            seen.push(node.next().await);
        }
        assert_eq!(
            seen, expected,
            "node {n}: in the order sent, broadcasts among events"
        );
    }

    let position = sender.position(&topic).await.unwrap();
    assert_eq!((position.offset, &position.epoch), (3, &epoch));
    let Replay::Events { events, .. } = sender.replay(&topic, 0, &epoch).await.unwrap() else {
        panic!("the history is intact");
    };
    assert_eq!(
        events,
        [first[0].clone(), first[1].clone(), third],
        "replay returns the events and never a broadcast"
    );
}

async fn a_broadcast_reaches_only_the_nodes_subscribed_to_its_topic(backend: Backend) {
    let mut node = backend.node(settings()).await;
    let (mine, other) = (unique("topic"), unique("topic"));
    node.broker.subscribe(&mine).await.unwrap();
    node.broker
        .broadcast(&other, payload("not for us"))
        .await
        .unwrap();
    node.broker.broadcast(&mine, payload("for us")).await.unwrap();
    assert_eq!(node.seen_until_marker().await, [broadcast_of(&mine, "for us")]);

    node.broker.unsubscribe(&mine).await.unwrap();
    node.broker
        .broadcast(&mine, payload("after unsubscribe"))
        .await
        .unwrap();
    assert_eq!(
        node.seen_until_marker().await,
        Vec::<Seen>::new(),
        "nothing after unsubscribe"
    );

    // Broadcasting to a topic nobody ever used leaves it unused: offset 0, and a later publish is 1.
    let unused = unique("topic");
    node.broker
        .broadcast(&unused, payload("into the void"))
        .await
        .unwrap();
    assert_eq!(node.broker.position(&unused).await.unwrap().offset, 0);
    let next = node.broker.publish(&unused, payload("first")).await.unwrap();
    assert_eq!(next.offset, 1);
}

async fn ping_answers(backend: Backend) {
    let node = backend.node(settings()).await;
    node.broker.ping().await.unwrap();
    assert_eq!(
        node.broker.kind(),
        if backend.has_many_nodes() {
            "redis"
        } else {
            "memory"
        }
    );
}

// ---------------------------------------------------------------------------------------------------------
// Redis only: what happens when the server drops a connection or loses data.

/// An ACL user of its own, so the test can kill exactly its node's pub/sub connection
/// (`CLIENT KILL USER .. TYPE pubsub`) without disturbing other tests or processes on the same server.
struct TestUser {
    admin: redis::Client,
    name: String,
    url: String,
}

impl TestUser {
    async fn create(url: &str) -> Self {
        let admin = redis::Client::open(url).unwrap();
        let name = format!("jam-broker-test-{}", uuid::Uuid::new_v4().simple());
        let password = uuid::Uuid::new_v4().simple().to_string();
        let mut con = admin.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(&name)
            .arg("on")
            .arg(format!(">{password}"))
            .arg("~*")
            .arg("&*")
            .arg("+@all")
            .query_async(&mut con)
            .await
            .expect("ACL SETUSER (Redis 6.2+ with an admin user)");
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        let url = format!("{scheme}://{name}:{password}@{host}");
        Self { admin, name, url }
    }

    async fn kill_pubsub_connections(&self) -> i64 {
        let mut con = self.admin.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("USER")
            .arg(&self.name)
            .arg("TYPE")
            .arg("pubsub")
            .query_async(&mut con)
            .await
            .unwrap()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Best effort, and synchronous because `Drop` cannot await; also closes the user's connections.
        if let Ok(mut con) = self.admin.get_connection() {
            let _: Result<i64, _> = redis::cmd("ACL").arg("DELUSER").arg(&self.name).query(&mut con);
        }
    }
}

async fn a_node_resubscribes_and_says_so_after_losing_its_pubsub_connection(url: String) {
    let user = TestUser::create(&url).await;
    let mut node = Backend::Redis {
        url: user.url.clone(),
    }
    .node(settings())
    .await;
    let (one, two) = (unique("topic"), unique("topic"));
    node.broker.subscribe(&one).await.unwrap();
    node.broker.subscribe(&two).await.unwrap();
    let before = node.broker.publish(&one, payload("before")).await.unwrap();
    assert_eq!(node.next_event().await, before);

    assert_eq!(
        user.kill_pubsub_connections().await,
        1,
        "exactly this node's pub/sub connection"
    );
    assert!(
        matches!(node.next().await, Seen::Reconnected),
        "the sink hears about the reconnect"
    );

    // `reconnected()` comes after re-subscribing: what is published from now on arrives, on every topic.
    let after_one = node.broker.publish(&one, payload("after")).await.unwrap();
    let after_two = node.broker.publish(&two, payload("after")).await.unwrap();
    assert_eq!(node.events(2).await, [after_one.clone(), after_two]);
    assert_eq!(
        after_one.offset, 2,
        "offsets live in Redis, not in the connection"
    );
    node.broker.ping().await.unwrap();

    // Unsubscribed topics stay unsubscribed across a reconnect.
    node.broker.unsubscribe(&two).await.unwrap();
    assert_eq!(user.kill_pubsub_connections().await, 1);
    assert!(matches!(node.next().await, Seen::Reconnected));
    node.broker.publish(&two, payload("not for us")).await.unwrap();
    let still = node.broker.publish(&one, payload("still")).await.unwrap();
    assert_eq!(node.drain_until_marker().await, [still]);
}

async fn losing_a_topics_keys_starts_a_new_epoch(url: String) {
    let mut node = Backend::Redis { url: url.clone() }.node(settings()).await;
    let topic = unique("topic");
    node.broker.subscribe(&topic).await.unwrap();
    let published = publish_n(&*node.broker, &topic, 3).await;
    node.events(3).await;
    let old = published[0].epoch.clone();

    // Simulate Redis losing the data: delete every key that names the topic.
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{topic}*"))
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the topic has keys");
    let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut con).await.unwrap();

    let replay = node.broker.replay(&topic, 3, &old).await.unwrap();
    let Replay::Resync { position } = replay else {
        panic!("{replay:?}")
    };
    assert_ne!(position.epoch, old, "a new epoch");
    assert_eq!(position.offset, 0);
    let next = node
        .broker
        .publish(&topic, payload("after the loss"))
        .await
        .unwrap();
    assert_eq!((next.offset, &next.epoch), (1, &position.epoch));
    assert_eq!(node.next_event().await, next);
}

/// One command's reply.
async fn query<T: redis::FromRedisValue>(con: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(con)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The Redis keys that name `topic`, sorted.
async fn keys_of(con: &mut redis::aio::MultiplexedConnection, topic: &str) -> Vec<String> {
    let mut keys: Vec<String> = query(con, &["KEYS", &format!("*{{{topic}}}*")]).await;
    keys.sort();
    keys
}

async fn broadcasts_write_no_keys_and_grow_no_history(url: String) {
    const N: usize = 50;
    let mut node = Backend::Redis { url: url.clone() }.node(settings()).await;
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // A topic with events: its keys stay exactly as they were, whatever is broadcast on it.
    let topic = unique("topic");
    node.broker.subscribe(&topic).await.unwrap();
    let events = publish_n(&*node.broker, &topic, 3).await;
    node.events(3).await;
    let keys = keys_of(&mut con, &topic).await;
    let hist = format!("jam:b:{{{topic}}}:hist");
    let pos = format!("jam:b:{{{topic}}}:pos");
    assert_eq!(
        keys,
        [hist.clone(), pos.clone()],
        "a published topic has its two keys"
    );
    assert_eq!(query::<u64>(&mut con, &["LLEN", &hist]).await, 3);
    let ttl_before = query::<i64>(&mut con, &["PTTL", &pos]).await;
    assert!(ttl_before > 0, "the topic's keys expire: {ttl_before}");

    for n in 0..N {
        node.broker
            .broadcast(&topic, payload(&format!("tally {n}")))
            .await
            .unwrap();
    }
    for n in 0..N {
        assert_eq!(node.next().await, broadcast_of(&topic, &format!("tally {n}")));
    }
    assert_eq!(keys_of(&mut con, &topic).await, keys, "no key added");
    assert_eq!(
        query::<u64>(&mut con, &["LLEN", &hist]).await,
        3,
        "the history did not grow"
    );
    assert_eq!(
        query::<u64>(&mut con, &["HGET", &pos, "o"]).await,
        3,
        "the offset did not move"
    );
    let ttl_after = query::<i64>(&mut con, &["PTTL", &pos]).await;
    assert!(
        ttl_after <= ttl_before,
        "a broadcast does not extend the topic's life: {ttl_before} ms then {ttl_after} ms"
    );
    let Replay::Events { events: replayed, .. } =
        node.broker.replay(&topic, 0, &events[0].epoch).await.unwrap()
    else {
        panic!("the history is intact");
    };
    assert_eq!(replayed, events);

    // A topic that only ever gets broadcasts (a tally topic) has no key at all.
    let tally = unique("tally");
    node.broker.subscribe(&tally).await.unwrap();
    for n in 0..N {
        node.broker
            .broadcast(&tally, payload(&format!("tally {n}")))
            .await
            .unwrap();
    }
    for n in 0..N {
        assert_eq!(node.next().await, broadcast_of(&tally, &format!("tally {n}")));
    }
    assert_eq!(
        keys_of(&mut con, &tally).await,
        Vec::<String>::new(),
        "{N} broadcasts wrote no key"
    );
}

// ---------------------------------------------------------------------------------------------------------
// One test per behaviour and backend.

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Memory).await;
                }
            )*
        }

        mod on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = super::redis_backend() {
                        super::$name(backend).await;
                    }
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_node_resubscribes_and_says_so_after_losing_its_pubsub_connection() {
                if let Some(super::Backend::Redis { url }) = super::redis_backend() {
                    super::a_node_resubscribes_and_says_so_after_losing_its_pubsub_connection(url).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn broadcasts_write_no_keys_and_grow_no_history() {
                if let Some(super::Backend::Redis { url }) = super::redis_backend() {
                    super::broadcasts_write_no_keys_and_grow_no_history(url).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn losing_a_topics_keys_starts_a_new_epoch() {
                if let Some(super::Backend::Redis { url }) = super::redis_backend() {
                    super::losing_a_topics_keys_starts_a_new_epoch(url).await;
                }
            }
        }
    };
}

suite!(
    an_unused_topic_is_at_offset_zero_with_a_stable_epoch,
    offsets_start_at_one_and_increase_by_exactly_one,
    concurrent_publishers_get_distinct_consecutive_offsets_delivered_in_order,
    every_node_receives_events_published_by_any_node,
    replay_since_an_offset_returns_exactly_the_missing_events,
    replay_older_than_the_history_is_a_resync,
    replay_with_another_epoch_is_a_resync,
    replay_beyond_the_current_offset_is_a_resync,
    a_topics_history_lapses_after_its_ttl_with_a_new_epoch,
    unsubscribe_stops_delivery,
    subscribing_twice_delivers_each_event_once,
    publish_once_publishes_once_per_key,
    leases_are_exclusive_renewable_and_released_only_by_their_holder,
    a_lease_expires_after_its_ttl_unless_renewed,
    presence_sums_the_nodes_and_drops_expired_ones,
    a_broadcast_reaches_every_subscribed_node_without_an_offset_or_history,
    a_broadcast_reaches_only_the_nodes_subscribed_to_its_topic,
    ping_answers,
);
