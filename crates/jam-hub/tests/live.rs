//! Black-box tests of the hub: a real actix-web server on 127.0.0.1:0 routing to `Hub::upgrade`, the
//! memory broker behind a recording wrapper, and awc WebSocket clients speaking the live protocol.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use async_trait::async_trait;
use awc::error::{WsClientError, WsProtocolError};
use awc::ws::{CloseReason, Frame, Message};
use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use jam_broker::{
    Broker, BrokerError, BrokerSettings, BrokerSink, MemoryBroker, Position, Published, Replay,
};
use jam_domain::{AudienceId, JamId, ParticipantId, Principal};
use jam_hub::{Hub, HubSettings, Topic, TopicAuthorizer};
use serde_json::{Value, json};
use uuid::Uuid;

const ORIGIN: &str = "http://jam.test";
/// How long any single expected frame may take. Generous: CI machines are slow; nothing sleeps.
const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The app under test

/// The memory broker, recording subscribe/unsubscribe calls, able to fail subscribes and to play a
/// broker reconnect.
struct RecordingBroker {
    inner: MemoryBroker,
    calls: Mutex<Vec<String>>,
    changed: tokio::sync::Notify,
    sink: Mutex<Option<Arc<dyn BrokerSink>>>,
    fail_subscribe: AtomicBool,
}

impl RecordingBroker {
    fn new() -> Self {
        RecordingBroker {
            inner: MemoryBroker::new(BrokerSettings::default()),
            calls: Mutex::new(Vec::new()),
            changed: tokio::sync::Notify::new(),
            sink: Mutex::new(None),
            fail_subscribe: AtomicBool::new(false),
        }
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
        self.changed.notify_waiters();
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    async fn wait_for_call(&self, call: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.calls().iter().any(|c| c == call) {
                return;
            }
            tokio::time::timeout_at(deadline, changed)
                .await
                .unwrap_or_else(|_| panic!("no `{call}` call; calls: {:?}", self.calls()));
        }
    }

    fn play_reconnect(&self) {
        let sink = self.sink.lock().unwrap().clone().expect("a sink");
        sink.reconnected();
    }
}

#[async_trait]
impl Broker for RecordingBroker {
    fn kind(&self) -> &'static str {
        "recording"
    }
    fn set_sink(&self, sink: Arc<dyn BrokerSink>) {
        *self.sink.lock().unwrap() = Some(sink.clone());
        self.inner.set_sink(sink);
    }
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<Published, BrokerError> {
        self.inner.publish(topic, payload).await
    }
    async fn publish_once(
        &self,
        topic: &str,
        key: &str,
        ttl: Duration,
        payload: Bytes,
    ) -> Result<Option<Published>, BrokerError> {
        self.inner.publish_once(topic, key, ttl, payload).await
    }
    async fn broadcast(&self, topic: &str, payload: Bytes) -> Result<(), BrokerError> {
        self.inner.broadcast(topic, payload).await
    }
    async fn subscribe(&self, topic: &str) -> Result<(), BrokerError> {
        if self.fail_subscribe.load(Ordering::SeqCst) {
            self.record(format!("failed subscribe {topic}"));
            return Err(BrokerError::Unavailable("told to fail".into()));
        }
        self.record(format!("subscribe {topic}"));
        self.inner.subscribe(topic).await
    }
    async fn unsubscribe(&self, topic: &str) -> Result<(), BrokerError> {
        self.record(format!("unsubscribe {topic}"));
        self.inner.unsubscribe(topic).await
    }
    async fn position(&self, topic: &str) -> Result<Position, BrokerError> {
        self.inner.position(topic).await
    }
    async fn replay(&self, topic: &str, since: u64, epoch: &str) -> Result<Replay, BrokerError> {
        self.inner.replay(topic, since, epoch).await
    }
    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, BrokerError> {
        self.inner.acquire_lease(name, holder, ttl).await
    }
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), BrokerError> {
        self.inner.release_lease(name, holder).await
    }
    async fn set_presence(
        &self,
        key: &str,
        node: &str,
        count: u64,
        ttl: Duration,
    ) -> Result<(), BrokerError> {
        self.inner.set_presence(key, node, count, ttl).await
    }
    async fn presence(&self, key: &str) -> Result<u64, BrokerError> {
        self.inner.presence(key).await
    }
    async fn ping(&self) -> Result<(), BrokerError> {
        Ok(())
    }
}

/// Everyone may read everything but topics whose id is `FORBIDDEN`; session `revoked` is signed out.
struct TestAuthorizer;

const FORBIDDEN: Uuid = Uuid::from_u128(0xdead);

#[async_trait]
impl TopicAuthorizer for TestAuthorizer {
    async fn can_read(&self, _principal: &Principal, topic: &Topic) -> bool {
        let (Topic::Jam(id) | Topic::Session(id) | Topic::Idea(id) | Topic::Staff(id) | Topic::Me(id)) =
            topic;
        *id != FORBIDDEN
    }
    async fn still_signed_in(&self, session_id: &str) -> bool {
        session_id != "revoked"
    }
}

struct TestApp {
    hub: Arc<Hub>,
    broker: Arc<RecordingBroker>,
    url: String,
    server: actix_web::dev::ServerHandle,
}

async fn live(
    req: HttpRequest,
    body: web::Payload,
    hub: web::Data<Arc<Hub>>,
) -> Result<HttpResponse, actix_web::Error> {
    let session = req
        .query_string()
        .strip_prefix("session=")
        .unwrap_or("signed-in")
        .to_owned();
    let principal = Principal::Participant {
        id: ParticipantId::new(),
        jam_id: JamId::new(),
        audience_id: AudienceId::new(),
    };
    hub.upgrade(&req, body, principal, session)
}

async fn spawn_app(tune: impl FnOnce(&mut HubSettings)) -> TestApp {
    let broker = Arc::new(RecordingBroker::new());
    let mut settings = HubSettings {
        allowed_origin: ORIGIN.to_owned(),
        node_id: "test-node".to_owned(),
        // Presence frames only where a test asks for them.
        presence_interval: Duration::from_secs(3600),
        ..HubSettings::default()
    };
    tune(&mut settings);
    let hub = Hub::new(broker.clone(), Arc::new(TestAuthorizer), settings);
    let data = web::Data::new(hub.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/live", web::get().to(live))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    TestApp {
        hub,
        broker,
        url: format!("http://{addr}/live"),
        server: handle,
    }
}

impl TestApp {
    async fn connect(&self) -> Client<impl WsIo + use<>> {
        self.connect_as("signed-in").await
    }

    async fn connect_as(&self, session: &str) -> Client<impl WsIo + use<>> {
        let (_, io) = awc::Client::new()
            .ws(format!("{}?session={session}", self.url))
            .origin(ORIGIN)
            .max_frame_size(64 << 20)
            .connect()
            .await
            .expect("upgrade");
        Client {
            io,
            pending: VecDeque::new(),
            text_frames: 0,
            array_frames: 0,
        }
    }

    async fn publish(&self, topic: &str, event: Value) -> Published {
        self.broker
            .publish(topic, Bytes::from(event.to_string()))
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.server.stop(false).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The client

trait WsIo:
    Stream<Item = Result<Frame, WsProtocolError>> + Sink<Message, Error = WsProtocolError> + Unpin
{
}
impl<T> WsIo for T where
    T: Stream<Item = Result<Frame, WsProtocolError>> + Sink<Message, Error = WsProtocolError> + Unpin
{
}

struct Client<S> {
    io: S,
    /// Messages received but not yet looked at (arrays already flattened).
    pending: VecDeque<Value>,
    text_frames: usize,
    array_frames: usize,
}

/// What came instead of the message a test waited for.
#[derive(Debug)]
enum Ended {
    Closed(Option<CloseReason>),
    Eof,
}

impl<S: WsIo> Client<S> {
    async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    async fn send_text(&mut self, text: String) {
        self.io.send(Message::Text(text.into())).await.unwrap();
    }

    async fn subscribe(&mut self, topic: &str) -> Value {
        self.send(json!({"type": "subscribe", "topic": topic})).await;
        let subscribed = self.recv().await;
        assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
        assert_eq!(subscribed["topic"], topic);
        subscribed
    }

    /// The next frame off the socket (pings answered and skipped).
    async fn frame(&mut self) -> Option<Frame> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.io.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Frame::Ping(payload))) => {
                    self.io.send(Message::Pong(payload)).await.unwrap();
                }
                Some(Ok(frame)) => return Some(frame),
                Some(Err(e)) => panic!("protocol error: {e}"),
                None => return None,
            }
        }
    }

    /// The next message, or how the connection ended instead.
    async fn next(&mut self) -> Result<Value, Ended> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Ok(message);
            }
            match self.frame().await {
                Some(Frame::Text(bytes)) => {
                    self.text_frames += 1;
                    match serde_json::from_slice::<Value>(&bytes).expect("JSON") {
                        Value::Array(items) => {
                            self.array_frames += 1;
                            assert!(items.len() > 1, "an array frame carries several messages");
                            self.pending.extend(items);
                        }
                        object => self.pending.push_back(object),
                    }
                }
                Some(Frame::Close(reason)) => return Err(Ended::Closed(reason)),
                Some(other) => panic!("unexpected frame {other:?}"),
                None => return Err(Ended::Eof),
            }
        }
    }

    async fn recv(&mut self) -> Value {
        match self.next().await {
            Ok(message) => message,
            Err(ended) => panic!("connection ended: {ended:?}"),
        }
    }

    /// Messages until the close frame; returns them and the close code.
    async fn until_closed(&mut self) -> (Vec<Value>, u16) {
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Ok(message) => before.push(message),
                Err(Ended::Closed(Some(reason))) => return (before, reason.code.into()),
                Err(ended) => panic!("expected a close frame with a code, got {ended:?}"),
            }
        }
    }

    /// Skips messages until one matches.
    async fn recv_until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let message = self.recv().await;
            if wanted(&message) {
                return message;
            }
            assert!(Instant::now() < deadline, "no matching message in time");
        }
    }

    /// Pings and returns everything received before the pong: proves nothing else was queued.
    async fn drain_until_pong(&mut self) -> Vec<Value> {
        let id = Uuid::new_v4().to_string();
        self.send(json!({"type": "ping", "id": id})).await;
        let mut before = Vec::new();
        loop {
            let message = self.recv().await;
            if message["type"] == "pong" && message["id"] == id.as_str() {
                return before;
            }
            before.push(message);
        }
    }
}

fn session_topic() -> String {
    format!("session:{}", Uuid::new_v4())
}

fn jam_topic() -> String {
    format!("jam:{}", Uuid::new_v4())
}

fn announcement(n: u64) -> Value {
    json!({"kind": "announcement", "n": n})
}

/// Asserts `messages` are `event`s of `topic` with offsets `first..` consecutively; returns the last.
fn assert_consecutive(messages: &[Value], topic: &str, first: u64) -> u64 {
    let mut expected = first;
    for message in messages {
        assert_eq!(message["type"], "event", "{message}");
        assert_eq!(message["topic"], topic);
        assert_eq!(
            message["offset"], expected,
            "offsets must increase by exactly one"
        );
        expected += 1;
    }
    expected - 1
}

// ---------------------------------------------------------------------------------------------
// Tests

#[actix_rt::test]
async fn a_subscriber_receives_published_events_with_consecutive_offsets() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    app.publish(&topic, announcement(0)).await;
    let mut client = app.connect().await;
    let subscribed = client.subscribe(&topic).await;
    assert_eq!(subscribed["offset"], 1, "subscribed tells the current offset");
    assert!(subscribed["epoch"].as_str().is_some_and(|e| !e.is_empty()));

    for n in 1..=5 {
        app.publish(&topic, announcement(n)).await;
    }
    let mut events = Vec::new();
    for _ in 0..5 {
        events.push(client.recv().await);
    }
    assert_consecutive(&events, &topic, 2);
    assert_eq!(
        events[0]["event"],
        announcement(1),
        "the payload is embedded as JSON"
    );
    assert_eq!(app.hub.stats().connections, 1);
    assert_eq!(app.hub.stats().subscriptions, 1);
    assert_eq!(app.hub.stats().topics, 1);
    app.stop().await;
}

#[actix_rt::test]
async fn a_burst_is_coalesced_into_array_frames_without_loss_or_reordering() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    let mut client = app.connect().await;
    client.subscribe(&topic).await;
    let frames_before = client.text_frames;

    // Within the queue's capacity (512), so the burst fits however late the writer wakes.
    let burst = 400;
    for n in 1..=burst {
        app.publish(&topic, announcement(n)).await;
    }
    let mut events = Vec::new();
    for _ in 0..burst {
        events.push(client.recv().await);
    }
    assert_consecutive(&events, &topic, 1);
    let frames = client.text_frames - frames_before;
    assert!(client.array_frames > 0, "some frame should be a JSON array");
    assert!(frames < burst as usize, "{burst} events came in {frames} frames");
    let stats = app.hub.stats();
    assert_eq!(stats.queue_drops, 0);
    assert!(stats.frames_out < burst + 1);
    // Everything received was taken from the queue: the connection no longer counts as behind.
    assert_eq!(stats.behind, 0);
    app.stop().await;
}

#[actix_rt::test]
async fn a_busy_topic_is_fanned_out_at_most_once_per_coalesce_window() {
    let app = spawn_app(|s| s.coalesce = Duration::from_secs(2)).await;
    let topic = session_topic();
    let mut client = app.connect().await;
    client.subscribe(&topic).await;

    // A quiet topic's event goes out at once, alone.
    let frames_before = client.text_frames;
    app.publish(&topic, announcement(1)).await;
    let mut events = vec![client.recv().await];
    assert_eq!(client.text_frames - frames_before, 1);

    // The next ones come within the window: they wait for it and go out together, one frame (one
    // wake) for the four.
    let (frames_before, arrays_before) = (client.text_frames, client.array_frames);
    for n in 2..=5 {
        app.publish(&topic, announcement(n)).await;
    }
    for _ in 2..=5 {
        events.push(client.recv().await);
    }
    assert_consecutive(&events, &topic, 1);
    assert_eq!(client.text_frames - frames_before, 1);
    assert_eq!(client.array_frames - arrays_before, 1);
    app.stop().await;
}

#[actix_rt::test]
async fn resuming_with_since_replays_exactly_the_missed_events() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    let mut first = app.connect().await;
    let subscribed = first.subscribe(&topic).await;
    let epoch = subscribed["epoch"].as_str().unwrap().to_owned();
    for n in 1..=5 {
        app.publish(&topic, announcement(n)).await;
    }
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(first.recv().await);
    }
    let last = assert_consecutive(&seen, &topic, 1);
    drop(first);

    for n in 6..=8 {
        app.publish(&topic, announcement(n)).await;
    }
    let mut again = app.connect().await;
    again
        .send(json!({"type": "subscribe", "topic": topic, "since": last, "epoch": epoch}))
        .await;
    let mut replayed = Vec::new();
    for _ in 0..3 {
        replayed.push(again.recv().await);
    }
    assert_consecutive(&replayed, &topic, 6);
    assert_eq!(replayed[2]["event"], announcement(8));
    let subscribed = again.recv().await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["offset"], 8);
    assert_eq!(subscribed["epoch"], epoch.as_str());

    app.publish(&topic, announcement(9)).await;
    let live = again.recv().await;
    assert_consecutive(&[live], &topic, 9);
    assert!(again.drain_until_pong().await.is_empty(), "nothing repeated");
    app.stop().await;
}

#[actix_rt::test]
async fn resuming_while_events_are_published_misses_nothing_and_repeats_nothing() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    for n in 1..=100 {
        app.publish(&topic, announcement(n)).await;
    }
    let epoch = app.broker.position(&topic).await.unwrap().epoch;

    // A publisher on its own thread keeps going while the client subscribes.
    let total = 600;
    let broker = app.broker.clone();
    let publisher_topic = topic.clone();
    let publisher = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            for n in 101..=total {
                broker
                    .publish(&publisher_topic, Bytes::from(announcement(n).to_string()))
                    .await
                    .unwrap();
                std::thread::yield_now();
            }
        });
    });

    let mut client = app.connect().await;
    client
        .send(json!({"type": "subscribe", "topic": topic, "since": 50, "epoch": &*epoch}))
        .await;
    let mut events = Vec::new();
    let mut subscribed_at = None;
    while events.len() < (total - 50) as usize || subscribed_at.is_none() {
        let message = client.recv().await;
        if message["type"] == "subscribed" {
            assert!(subscribed_at.is_none());
            subscribed_at = Some(message["offset"].as_u64().unwrap());
            continue;
        }
        events.push(message);
    }
    publisher.join().unwrap();
    assert_consecutive(&events, &topic, 51);
    let subscribed_at = subscribed_at.expect("a subscribed frame");
    assert!((100..=total).contains(&subscribed_at), "{subscribed_at}");
    assert!(client.drain_until_pong().await.is_empty(), "nothing repeated");
    app.stop().await;
}

#[actix_rt::test]
async fn a_since_from_another_epoch_gets_resync_then_subscribed() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    for n in 1..=3 {
        app.publish(&topic, announcement(n)).await;
    }
    let mut client = app.connect().await;
    client
        .send(json!({"type": "subscribe", "topic": topic, "since": 1, "epoch": "an-old-epoch"}))
        .await;
    let resync = client.recv().await;
    assert_eq!(resync["type"], "resync");
    assert_eq!(resync["topic"], topic.as_str());
    assert!(resync["reason"].as_str().is_some());
    let subscribed = client.recv().await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["offset"], 3);

    app.publish(&topic, announcement(4)).await;
    assert_consecutive(&[client.recv().await], &topic, 4);
    app.stop().await;
}

#[actix_rt::test]
async fn a_forbidden_topic_gets_an_error_and_nothing_else() {
    let app = spawn_app(|_| {}).await;
    let topic = format!("session:{FORBIDDEN}");
    let mut client = app.connect().await;
    client.send(json!({"type": "subscribe", "topic": topic})).await;
    let error = client.recv().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "forbidden");
    assert_eq!(error["topic"], topic.as_str());

    app.publish(&topic, announcement(1)).await;
    assert!(
        client.drain_until_pong().await.is_empty(),
        "nothing after the error"
    );
    assert!(app.broker.calls().is_empty(), "the broker was never asked");
    assert_eq!(app.hub.stats().subscriptions, 0);
    app.stop().await;
}

#[actix_rt::test]
async fn malformed_json_and_unknown_types_get_errors_and_the_connection_keeps_working() {
    let app = spawn_app(|_| {}).await;
    let mut client = app.connect().await;
    for (text, code) in [
        ("{not json", "malformed"),
        ("[1,2]", "malformed"),
        (r#"{"type":"subscribe"}"#, "malformed"),
        (r#"{"type":"dance","topic":"x"}"#, "unknown_type"),
        (r#"{"type":"subscribe","topic":"vote:1"}"#, "bad_topic"),
    ] {
        client.send_text(text.to_owned()).await;
        let error = client.recv().await;
        assert_eq!(error["type"], "error", "{text}");
        assert_eq!(error["code"], code, "{text}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let topic = session_topic();
    client.subscribe(&topic).await;
    app.publish(&topic, announcement(1)).await;
    assert_consecutive(&[client.recv().await], &topic, 1);
    app.stop().await;
}

#[actix_rt::test]
async fn an_oversized_frame_closes_the_connection_with_1009() {
    let app = spawn_app(|s| s.max_frame_bytes = 1024).await;
    let mut client = app.connect().await;
    let huge = json!({"type": "ping", "id": "x".repeat(4096)}).to_string();
    client.send_text(huge).await;
    let (before, code) = client.until_closed().await;
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(code, 1009);

    let mut other = app.connect().await;
    assert!(other.drain_until_pong().await.is_empty(), "others are unaffected");
    app.stop().await;
}

#[actix_rt::test]
async fn too_many_subscriptions_get_an_error_and_persistent_abuse_closes_with_1008() {
    let app = spawn_app(|s| s.max_subscriptions = 3).await;
    let mut client = app.connect().await;
    for _ in 0..3 {
        client.subscribe(&session_topic()).await;
    }
    let one_too_many = session_topic();
    client
        .send(json!({"type": "subscribe", "topic": one_too_many}))
        .await;
    let error = client.recv().await;
    assert_eq!(error["code"], "too_many_subscriptions");
    assert_eq!(error["topic"], one_too_many.as_str());
    assert_eq!(app.hub.stats().subscriptions, 3);

    for _ in 0..30 {
        client
            .send(json!({"type": "subscribe", "topic": session_topic()}))
            .await;
    }
    let (before, code) = client.until_closed().await;
    assert_eq!(code, 1008);
    assert!(before.iter().all(|m| m["code"] == "too_many_subscriptions"));
    assert_eq!(before.len(), 20, "closed after 21 errors in a row");
    app.stop().await;
}

#[actix_rt::test]
async fn a_client_sending_faster_than_its_rate_is_told_and_closed_with_1008() {
    let app = spawn_app(|s| {
        s.messages_per_sec = 2;
        s.message_burst = 10;
    })
    .await;
    let mut flooder = app.connect().await;
    for n in 0..40 {
        flooder.send(json!({"type": "ping", "id": n.to_string()})).await;
    }
    let (before, code) = flooder.until_closed().await;
    assert_eq!(code, 1008);
    let (last, pongs) = before.split_last().expect("an error before the close");
    assert_eq!(last["type"], "error");
    assert_eq!(last["code"], "rate_limited");
    // The burst, plus what the rate refilled while the 40 went out (2 a second: a few at most).
    assert!(
        (10..=14).contains(&pongs.len()),
        "{} pongs before the close",
        pongs.len()
    );
    assert!(pongs.iter().all(|m| m["type"] == "pong"));

    let mut calm = app.connect().await;
    for _ in 0..5 {
        assert!(calm.drain_until_pong().await.is_empty(), "others are unaffected");
    }
    app.stop().await;
}

#[actix_rt::test]
async fn pings_between_errors_do_not_forgive_them() {
    let app = spawn_app(|s| s.messages_per_sec = 0).await;
    let mut client = app.connect().await;
    for n in 0..25 {
        client.send_text("not json".to_owned()).await;
        client.send(json!({"type": "ping", "id": n.to_string()})).await;
    }
    let (before, code) = client.until_closed().await;
    assert_eq!(code, 1008, "closed after 21 errors, pings or not");
    let errors = before.iter().filter(|m| m["type"] == "error").count();
    assert_eq!(errors, 21);
    app.stop().await;
}

#[actix_rt::test]
async fn replays_of_one_topic_are_limited_per_minute_and_other_topics_keep_theirs() {
    let app = spawn_app(|s| s.replays_per_topic_per_minute = 2).await;
    let topic = session_topic();
    let epoch = app.publish(&topic, announcement(1)).await.epoch;
    let mut client = app.connect().await;
    let replay = |topic: &str| json!({"type": "subscribe", "topic": topic, "since": 0, "epoch": &*epoch});
    for _ in 0..2 {
        client.send(replay(&topic)).await;
        let event = client.recv().await;
        assert_eq!(event["type"], "event", "{event}");
        assert_eq!(client.recv().await["type"], "subscribed");
    }
    client.send(replay(&topic)).await;
    let refused = client.recv().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(refused["topic"], topic.as_str());
    // Without `since` the topic is still open to it, and another topic still replays.
    assert_eq!(client.subscribe(&topic).await["type"], "subscribed");
    let other = session_topic();
    let other_epoch = app.publish(&other, announcement(1)).await.epoch;
    client
        .send(json!({"type": "subscribe", "topic": other, "since": 0, "epoch": &*other_epoch}))
        .await;
    let answer = client.recv().await;
    assert_eq!(answer["type"], "event", "{answer}");
    app.stop().await;
}

/// Publishes `count` big events on `topic` in rounds of two, each round read by `fast` before the
/// next: the fast client keeps up by construction, the one that never reads falls behind.
async fn publish_while_fast_keeps_up<S: WsIo>(
    app: &TestApp,
    fast: &mut Client<S>,
    topic: &str,
    count: u64,
) -> Duration {
    let pad = "x".repeat(32 * 1024);
    let mut slowest = Duration::ZERO;
    let mut next = 1;
    while next <= count {
        let round = next..=(next + 1).min(count);
        let started = Instant::now();
        for n in round.clone() {
            app.publish(topic, json!({"kind": "announcement", "n": n, "pad": pad}))
                .await;
        }
        for n in round {
            let event = fast.recv().await;
            assert_eq!(event["type"], "event");
            assert_eq!(event["offset"], n, "the fast client misses nothing");
        }
        slowest = slowest.max(started.elapsed());
        next += 2;
    }
    slowest
}

#[actix_rt::test]
async fn a_client_that_never_reads_gets_resync_while_others_receive_every_event() {
    // Rounds follow each other at once: no coalescing window between them.
    let app = spawn_app(|s| {
        s.queue_capacity = 4;
        s.coalesce = Duration::ZERO;
    })
    .await;
    let topic = session_topic();
    let mut slow = app.connect().await;
    slow.subscribe(&topic).await;
    let mut fast = app.connect().await;
    fast.subscribe(&topic).await;

    // ~19 MiB: more than the kernel and actix buffer for a socket nobody reads.
    let count = 600;
    let slowest = publish_while_fast_keeps_up(&app, &mut fast, &topic, count).await;
    assert!(slowest < Duration::from_secs(2), "a round took {slowest:?}");
    assert!(app.hub.stats().queue_drops >= 1);

    // The slow client, reading at last: a prefix of the events, then the resync, then nothing more.
    let mut events = Vec::new();
    let resync = loop {
        let message = slow.recv().await;
        if message["type"] == "resync" {
            break message;
        }
        events.push(message);
    };
    assert_eq!(resync["topic"], topic.as_str());
    assert_eq!(resync["reason"], "too slow");
    let last = assert_consecutive(&events, &topic, 1);
    assert!(last < count, "the slow client fell behind (got {last})");

    app.publish(&topic, announcement(0)).await;
    assert!(
        slow.drain_until_pong().await.is_empty(),
        "the topic stays stopped"
    );
    assert_consecutive(&[fast.recv().await], &topic, count + 1);

    // Subscribing again starts the topic over.
    slow.subscribe(&topic).await;
    app.publish(&topic, announcement(0)).await;
    assert_consecutive(&[slow.recv().await], &topic, count + 2);
    app.stop().await;
}

#[actix_rt::test]
async fn a_client_that_never_reads_on_two_topics_is_closed_with_4008() {
    // Rounds follow each other at once: no coalescing window between them.
    let app = spawn_app(|s| {
        s.queue_capacity = 4;
        s.coalesce = Duration::ZERO;
    })
    .await;
    let (first, second) = (session_topic(), jam_topic());
    let mut slow = app.connect().await;
    slow.subscribe(&first).await;
    slow.subscribe(&second).await;
    let mut fast = app.connect().await;
    fast.subscribe(&first).await;

    publish_while_fast_keeps_up(&app, &mut fast, &first, 600).await;
    assert!(app.hub.stats().queue_drops >= 1);
    // The first topic's resync cannot be written: the socket is full. Overflowing again closes.
    for n in 1..=10 {
        app.publish(&second, announcement(n)).await;
    }
    let (before, code) = slow.until_closed().await;
    assert_eq!(code, 4008);
    let of_first: Vec<Value> = before
        .iter()
        .filter(|m| m["topic"] == first.as_str())
        .cloned()
        .collect();
    assert_consecutive(&of_first, &first, 1);
    app.stop().await;
}

#[actix_rt::test]
async fn ping_gets_pong_with_the_same_id_and_the_server_sends_websocket_pings() {
    let app = spawn_app(|s| s.ping_interval = Duration::from_millis(100)).await;
    let mut client = app.connect().await;
    client.send(json!({"type": "ping", "id": 42})).await;
    assert_eq!(client.recv().await, json!({"type": "pong", "id": 42}));
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.recv().await, json!({"type": "pong"}));

    let ping = tokio::time::timeout(WAIT, client.io.next()).await.unwrap();
    assert!(matches!(ping, Some(Ok(Frame::Ping(_)))), "{ping:?}");
    app.stop().await;
}

#[actix_rt::test]
async fn a_silent_client_is_closed_after_the_timeout() {
    let app = spawn_app(|s| {
        s.ping_interval = Duration::from_millis(50);
        s.client_timeout = Duration::from_millis(300);
    })
    .await;
    let mut client = app.connect().await;
    // Read raw frames without answering pings: the client is silent.
    let started = Instant::now();
    let code = loop {
        match tokio::time::timeout(WAIT, client.io.next()).await.unwrap() {
            Some(Ok(Frame::Close(Some(reason)))) => break u16::from(reason.code),
            Some(Ok(Frame::Ping(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, 1000);
    assert!(started.elapsed() >= Duration::from_millis(300));
    app.stop().await;
}

#[actix_rt::test]
async fn a_silent_client_is_closed_when_its_timeout_passes_not_at_the_next_ping() {
    let app = spawn_app(|s| {
        s.ping_interval = Duration::from_secs(30);
        s.client_timeout = Duration::from_millis(300);
    })
    .await;
    let mut client = app.connect().await;
    let started = Instant::now();
    // No ping is due for 30 s: the close comes from the silence deadline alone.
    match tokio::time::timeout(WAIT, client.io.next()).await.unwrap() {
        Some(Ok(Frame::Close(Some(reason)))) => assert_eq!(u16::from(reason.code), 1000),
        other => panic!("unexpected {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
    app.stop().await;
}

fn assert_refused(outcome: Result<(), WsClientError>) {
    match outcome {
        Err(WsClientError::InvalidResponseStatus(status)) => assert_eq!(status.as_u16(), 403),
        Err(other) => panic!("refused the wrong way: {other:?}"),
        Ok(()) => panic!("upgraded"),
    }
}

#[actix_rt::test]
async fn a_foreign_or_missing_origin_is_refused_before_the_upgrade() {
    let app = spawn_app(|_| {}).await;
    let foreign = awc::Client::new()
        .ws(&app.url)
        .origin("http://evil.test")
        .connect()
        .await;
    assert_refused(foreign.map(|_| ()));
    let missing = awc::Client::new().ws(&app.url).connect().await;
    assert_refused(missing.map(|_| ()));
    assert_eq!(app.hub.stats().connections, 0);
    app.stop().await;
}

#[actix_rt::test]
async fn a_broker_reconnect_resyncs_every_held_topic() {
    let app = spawn_app(|_| {}).await;
    let (first, second) = (session_topic(), jam_topic());
    let mut client = app.connect().await;
    client.subscribe(&first).await;
    client.subscribe(&second).await;

    app.broker.play_reconnect();
    let mut resynced = HashSet::new();
    for _ in 0..2 {
        let resync = client.recv().await;
        assert_eq!(resync["type"], "resync");
        assert_eq!(resync["reason"], "broker reconnected");
        resynced.insert(resync["topic"].as_str().unwrap().to_owned());
    }
    assert_eq!(resynced, HashSet::from([first.clone(), second.clone()]));

    // Until it subscribes again, the client gets nothing more of those topics.
    app.publish(&first, announcement(1)).await;
    assert!(client.drain_until_pong().await.is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn presence_counts_are_pushed_when_they_change() {
    let app = spawn_app(|s| s.presence_interval = Duration::from_millis(50)).await;
    let topic = jam_topic();
    let mut alice = app.connect().await;
    alice.subscribe(&topic).await;
    let online = alice
        .recv_until(|m| m["type"] == "presence" && m["online"] == 1)
        .await;
    assert_eq!(online["topic"], topic.as_str());

    let mut bob = app.connect().await;
    bob.subscribe(&topic).await;
    alice
        .recv_until(|m| m["type"] == "presence" && m["online"] == 2)
        .await;
    // Other nodes' counts are added.
    app.broker
        .set_presence(&topic, "other-node", 3, Duration::from_secs(60))
        .await
        .unwrap();
    alice
        .recv_until(|m| m["type"] == "presence" && m["online"] == 5)
        .await;
    bob.recv_until(|m| m["type"] == "presence" && m["online"] == 5)
        .await;
    drop(bob);
    alice
        .recv_until(|m| m["type"] == "presence" && m["online"] == 4)
        .await;
    app.stop().await;
}

#[actix_rt::test]
async fn the_broker_is_subscribed_once_per_topic_and_unsubscribed_after_the_last_subscriber() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    let mut alice = app.connect().await;
    let mut bob = app.connect().await;
    alice.subscribe(&topic).await;
    bob.subscribe(&topic).await;
    assert_eq!(
        app.broker.calls(),
        vec![format!("subscribe {topic}"), format!("subscribe tally:{topic}")]
    );

    alice.send(json!({"type": "unsubscribe", "topic": topic})).await;
    assert!(alice.drain_until_pong().await.is_empty());
    assert_eq!(app.broker.calls().len(), 2, "bob still holds the topic");
    app.publish(&topic, announcement(1)).await;
    assert_consecutive(&[bob.recv().await], &topic, 1);
    assert!(alice.drain_until_pong().await.is_empty(), "alice gets nothing");

    drop(bob); // disconnecting releases the subscription
    app.broker.wait_for_call(&format!("unsubscribe {topic}")).await;
    app.broker
        .wait_for_call(&format!("unsubscribe tally:{topic}"))
        .await;
    assert_eq!(app.broker.calls().len(), 4);
    assert_eq!(app.hub.stats().topics, 0);
    app.stop().await;
}

#[actix_rt::test]
async fn a_failed_broker_subscribe_is_rolled_back_and_answered_unavailable() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    let mut client = app.connect().await;
    app.broker.fail_subscribe.store(true, Ordering::SeqCst);
    client.send(json!({"type": "subscribe", "topic": topic})).await;
    let error = client.recv().await;
    assert_eq!(error["code"], "unavailable");
    assert_eq!(error["topic"], topic.as_str());
    assert_eq!(app.hub.stats().topics, 0);
    assert_eq!(app.hub.stats().subscriptions, 0);

    app.broker.fail_subscribe.store(false, Ordering::SeqCst);
    client.subscribe(&topic).await;
    app.publish(&topic, announcement(1)).await;
    assert_consecutive(&[client.recv().await], &topic, 1);
    app.stop().await;
}

#[actix_rt::test]
async fn tallies_are_delivered_to_subscribers_of_their_topic_without_moving_its_offsets() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    let mut client = app.connect().await;
    client.subscribe(&topic).await;
    app.publish(&topic, announcement(1)).await;
    assert_consecutive(&[client.recv().await], &topic, 1);

    // The tally service broadcasts (no offset, no history) on the topic's tally topic.
    let ideas = json!([{"id": Uuid::new_v4(), "up": 3, "down": 1, "score": 0.42}]);
    let payload = Bytes::from(json!({ "ideas": ideas }).to_string());
    app.broker
        .broadcast(&format!("tally:{topic}"), payload)
        .await
        .unwrap();
    let tally = client.recv().await;
    assert_eq!(tally, json!({"type": "tally", "topic": topic, "ideas": ideas}));

    // The event sequence goes on where it was: the next event is offset 2 and is delivered.
    app.publish(&topic, announcement(2)).await;
    assert_consecutive(&[client.recv().await], &topic, 2);
    // A resume from 0 replays the two events and no tally.
    let mut late = app.connect().await;
    let epoch = app.broker.position(&topic).await.unwrap().epoch;
    late.send(json!({"type": "subscribe", "topic": topic, "since": 0, "epoch": &*epoch}))
        .await;
    let replayed = [late.recv().await, late.recv().await];
    assert_consecutive(&replayed, &topic, 1);
    let subscribed = late.recv().await;
    assert_eq!(
        (&subscribed["type"], &subscribed["offset"]),
        (&json!("subscribed"), &json!(2)),
        "{subscribed}"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn a_broadcast_on_a_topic_that_is_not_a_tally_topic_reaches_nobody() {
    let app = spawn_app(|_| {}).await;
    let topic = session_topic();
    let mut client = app.connect().await;
    client.subscribe(&topic).await;
    app.broker
        .broadcast(&topic, Bytes::from(announcement(7).to_string()))
        .await
        .unwrap();
    app.publish(&topic, announcement(1)).await;
    // Delivery on a topic is in order: the event comes first, so the broadcast was dropped.
    assert_consecutive(&[client.recv().await], &topic, 1);
    app.stop().await;
}

#[actix_rt::test]
async fn a_revoked_sign_in_closes_the_connection_with_4001() {
    let app = spawn_app(|s| s.ping_interval = Duration::from_millis(50)).await;
    let mut client = app.connect_as("revoked").await;
    let (_, code) = client.until_closed().await;
    assert_eq!(code, 4001);
    app.stop().await;
}

#[actix_rt::test]
async fn shutdown_closes_every_connection_with_1001() {
    let app = spawn_app(|_| {}).await;
    let mut alice = app.connect().await;
    let mut bob = app.connect().await;
    alice.subscribe(&session_topic()).await;
    assert!(bob.drain_until_pong().await.is_empty());

    app.hub.shutdown().await;
    assert_eq!(alice.until_closed().await.1, 1001);
    assert_eq!(bob.until_closed().await.1, 1001);
    assert_eq!(app.hub.stats().connections, 0);
    assert_eq!(app.hub.stats().subscriptions, 0);
    app.stop().await;
}

#[actix_rt::test]
async fn connections_beyond_the_limit_are_closed_with_1013() {
    let app = spawn_app(|s| s.max_connections = 1).await;
    let mut first = app.connect().await;
    assert!(first.drain_until_pong().await.is_empty());
    let mut second = app.connect().await;
    assert_eq!(second.until_closed().await.1, 1013);
    app.stop().await;
}

/// What a node's control sink received.
#[derive(Default)]
struct Notices {
    got: Mutex<Vec<(String, Vec<u8>)>>,
    missed: AtomicBool,
}

impl jam_hub::ControlSink for Notices {
    fn control(&self, topic: &str, payload: &[u8]) {
        self.got
            .lock()
            .unwrap()
            .push((topic.to_owned(), payload.to_vec()));
    }
    fn missed(&self) {
        self.missed.store(true, Ordering::SeqCst);
    }
}

#[actix_rt::test]
async fn control_broadcasts_reach_the_node_control_sink_and_a_reconnect_reports_them_missed() {
    let app = spawn_app(|_| {}).await;
    let notices = Arc::new(Notices::default());
    assert!(app.hub.set_control(notices.clone()));
    assert!(!app.hub.set_control(Arc::new(Notices::default())), "set once");
    app.broker.subscribe("control:test").await.unwrap();
    app.broker
        .broadcast("control:test", Bytes::from_static(b"token"))
        .await
        .unwrap();
    assert_eq!(
        *notices.got.lock().unwrap(),
        [("control:test".to_owned(), b"token".to_vec())],
        "the memory broker delivers a broadcast before it returns"
    );
    assert!(!notices.missed.load(Ordering::SeqCst));
    app.broker.play_reconnect();
    assert!(notices.missed.load(Ordering::SeqCst));
}
