//! The hub: accepts connections, owns the local subscription registry, receives the broker's events
//! and fans them out, reports presence, and shuts down.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use jam_broker::{Broker, BrokerError, BrokerSink, Published};
use jam_domain::Principal;
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::conn::Reader;
use crate::fanout::{self, Backlog, Fanout, Item};
use crate::frames::{self, Frame, Reply};
use crate::inbound::Inbound;
use crate::outbox::{LiveBody, Outbox, close, reason};
use crate::registry::{Registry, Seq, Sub};
use crate::settings::HubSettings;
use crate::stats::{Counters, HubStats};
use crate::topic::TopicAuthorizer;

/// How long `shutdown` waits for connections to take their 1001 before it returns anyway.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Longest wait of the fan-out for the backlog to drain before it offers to the next chunk anyway.
const BACKLOG_WAIT: Duration = Duration::from_millis(100);

/// Broker topic that carries the tally service's coalesced counts for a topic. The tally service
/// broadcasts on it (`Broker::broadcast`: no offsets, no history), since a client that misses a tally
/// refetches the counts anyway.
pub(crate) fn tally_topic(topic: &str) -> String {
    format!("tally:{topic}")
}

/// The client topic whose tallies a broker topic carries, if it is a tally topic.
fn tallied_topic(broker_topic: &str) -> Option<&str> {
    broker_topic.strip_prefix("tally:")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The connection map's critical sections only insert, remove and copy.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The WebSocket hub of one node. Build it once with `Hub::new`, route `/api/v1/live` to
/// `Hub::upgrade`, read `Hub::stats` for metrics, and call `Hub::shutdown` on the way out.
pub struct Hub {
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) authorizer: Arc<dyn TopicAuthorizer>,
    pub(crate) settings: HubSettings,
    pub(crate) registry: Registry,
    /// Every open connection's outbox, so that shutdown can close them all.
    connections: Mutex<HashMap<u64, Arc<Outbox>>>,
    next_id: AtomicU64,
    pub(crate) counters: Arc<Counters>,
    shutting_down: AtomicBool,
    /// Notified whenever a connection ends; `shutdown` waits on it.
    ended: Notify,
    /// What waits to be fanned out, by topic, for the fan-out task.
    fanout: Arc<Fanout>,
    /// Connections with frames their socket's task has not taken yet.
    backlog: Arc<Backlog>,
    /// The fan-out task and the presence reporter run here (the runtime the hub was built in).
    runtime: Option<Handle>,
}

/// What the broker's reader task calls. Holds the hub weakly so that hub and broker do not keep each
/// other alive.
struct HubSink(Weak<Hub>);

impl BrokerSink for HubSink {
    fn deliver(&self, event: Published) {
        if let Some(hub) = self.0.upgrade() {
            hub.deliver(event);
        }
    }

    fn broadcast(&self, topic: Arc<str>, payload: Bytes) {
        if let Some(hub) = self.0.upgrade() {
            hub.broadcast(&topic, &payload);
        }
    }

    fn reconnected(&self) {
        if let Some(hub) = self.0.upgrade() {
            hub.resync_all(reason::BROKER_RECONNECTED);
        }
    }
}

impl Hub {
    /// Builds the hub, installs it as the broker's sink, and (inside a Tokio runtime) starts the
    /// presence reporter, which stops by itself when the hub is dropped or shut down.
    pub fn new(
        broker: Arc<dyn Broker>,
        authorizer: Arc<dyn TopicAuthorizer>,
        settings: HubSettings,
    ) -> Arc<Hub> {
        let hub = Arc::new(Hub {
            broker,
            authorizer,
            registry: Registry::new(),
            connections: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            counters: Arc::new(Counters::default()),
            shutting_down: AtomicBool::new(false),
            ended: Notify::new(),
            fanout: Fanout::new(settings.coalesce),
            backlog: Arc::new(Backlog::default()),
            runtime: Handle::try_current().ok(),
            settings,
        });
        hub.broker.set_sink(Arc::new(HubSink(Arc::downgrade(&hub))));
        match &hub.runtime {
            Some(runtime) => {
                runtime.spawn(presence_loop(Arc::downgrade(&hub)));
                runtime.spawn(hub.fanout.clone().run(Arc::downgrade(&hub)));
            }
            None => tracing::warn!(
                "hub built outside a Tokio runtime: presence counts are off, fan-out is not paced"
            ),
        }
        hub
    }

    /// Upgrades an authenticated request to a live connection. Refuses with 403 (before upgrading)
    /// when `Origin` is missing or not `allowed_origin`, and with 503 once shutting down. Must be
    /// called from an actix-web handler (the connection's tasks run on that worker).
    pub fn upgrade(
        self: &Arc<Self>,
        req: &HttpRequest,
        body: web::Payload,
        principal: Principal,
        session_id: String,
    ) -> Result<HttpResponse, actix_web::Error> {
        if !self.origin_allowed(req) {
            return Ok(problem(
                403,
                "Forbidden",
                "this origin may not open a live connection",
            ));
        }
        if self.shutting_down.load(Ordering::Acquire) {
            return Ok(problem(503, "Service Unavailable", "the server is shutting down"));
        }
        let mut response = actix_http::ws::handshake(req.head())?;
        let stream = Inbound::new(body, self.settings.max_frame_bytes);
        let outbox = Outbox::new(self.settings.queue_capacity, self.backlog.clone());
        let live_body = LiveBody::new(outbox.clone(), self.counters.clone());
        let response = response.message_body(BoxBody::new(live_body))?.into();

        let open = self.counters.connections.load(Ordering::Relaxed);
        if open >= self.settings.max_connections as u64 {
            outbox.request_close(close::TRY_AGAIN_LATER);
            actix_web::rt::spawn(hold_until_closed(outbox, stream, self.settings.client_timeout));
            return Ok(response);
        }

        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.connections).insert(id, outbox.clone());
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        let reader = Reader::new(self.clone(), id, outbox, principal, session_id);
        actix_web::rt::spawn(reader.run(stream));
        Ok(response)
    }

    /// Counters for `/metrics`.
    pub fn stats(&self) -> HubStats {
        self.counters
            .snapshot(self.registry.len() as u64, self.backlog.len() as u64)
    }

    /// Closes every connection with 1001 (server going away), refuses new ones, stops presence, and
    /// waits (a few seconds at most) for the connections to end.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        let outboxes: Vec<Arc<Outbox>> = lock(&self.connections).values().cloned().collect();
        for outbox in outboxes {
            outbox.request_close(close::GOING_AWAY);
        }
        let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if lock(&self.connections).is_empty() {
                return;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                tracing::warn!("shutdown: some live connections did not close in time");
                return;
            }
        }
    }

    fn origin_allowed(&self, req: &HttpRequest) -> bool {
        let allowed = self.settings.allowed_origin.trim_end_matches('/');
        if allowed.is_empty() {
            return false;
        }
        req.headers()
            .get(header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
            .is_some_and(|origin| origin.trim_end_matches('/').eq_ignore_ascii_case(allowed))
    }

    pub(crate) fn connection_ended(&self, id: u64) {
        lock(&self.connections).remove(&id);
        self.counters.connections.fetch_sub(1, Ordering::Relaxed);
        self.ended.notify_waiters();
    }

    /// Registers a subscription; the topic's first subscriber subscribes the broker (the topic and its
    /// tally topic), and is rolled back when that fails.
    pub(crate) async fn attach(&self, sub: &Arc<Sub>) -> Result<(), BrokerError> {
        let _topic_lock = self.registry.lock_topic(&sub.topic).await;
        let first = self.registry.add(sub);
        if first && let Err(e) = self.subscribe_broker(&sub.topic).await {
            self.registry.remove(sub);
            return Err(e);
        }
        self.counters.subscriptions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn subscribe_broker(&self, topic: &str) -> Result<(), BrokerError> {
        self.broker.subscribe(topic).await?;
        if let Err(e) = self.broker.subscribe(&tally_topic(topic)).await {
            if let Err(undo) = self.broker.unsubscribe(topic).await {
                tracing::warn!(topic, error = %undo, "could not roll back a broker subscription");
            }
            return Err(e);
        }
        Ok(())
    }

    /// Removes an attached subscription; after the topic's last one, unsubscribes the broker.
    pub(crate) async fn detach(&self, sub: &Arc<Sub>) {
        sub.stop();
        let _topic_lock = self.registry.lock_topic(&sub.topic).await;
        if self.registry.remove(sub) {
            self.fanout.forget(&sub.topic);
            for topic in [sub.topic.to_string(), tally_topic(&sub.topic)] {
                if let Err(e) = self.broker.unsubscribe(&topic).await {
                    tracing::warn!(topic, error = %e, "broker unsubscribe failed");
                }
            }
        }
        self.counters.subscriptions.fetch_sub(1, Ordering::Relaxed);
    }

    /// One event from the broker: queued for the fan-out task (see `fanout`). Never blocks.
    fn deliver(&self, event: Published) {
        if let Some(topic) = tallied_topic(&event.topic) {
            // A node of an older version published the tally as an event (a rolling upgrade): its
            // offset belongs to the tally topic, not to the client's, so it is not tracked either.
            self.deliver_tally(topic, &event.payload);
            return;
        }
        let topic = event.topic.clone();
        self.queue_fan_out(topic, Item::Event(event));
    }

    fn queue_fan_out(&self, topic: Arc<str>, item: Item) {
        if self.runtime.is_some() {
            self.fanout.push(topic, item);
        } else {
            let frames = self.frames(&topic, std::slice::from_ref(&item));
            if let Some(subs) = self.registry.subscribers(&topic) {
                self.offer(&subs, &frames);
            }
        }
    }

    /// Offers `items` (of one topic, in order) to every local subscriber, `fanout::CHUNK` subscribers
    /// at a time, waiting while too many connections are behind. Each item is built into a frame
    /// once; a subscriber's share is queued under one lock, so it is woken once for all of it.
    pub(crate) async fn fan_out(&self, topic: &str, items: &[Item]) {
        let Some(subs) = self.registry.subscribers(topic) else {
            return; // no longer held here
        };
        let frames = self.frames(topic, items);
        for chunk in subs.chunks(fanout::CHUNK) {
            if self.backlog.len() >= fanout::BACKLOG_LIMIT {
                // Bounded: connections that stopped taking frames leave the backlog when they are
                // closed (4008, or the client timeout), but the fan-out never waits on them longer.
                let _ = tokio::time::timeout(BACKLOG_WAIT, self.backlog.wait_for_room()).await;
            }
            self.offer(chunk, &frames);
        }
    }

    fn frames<'a>(&self, topic: &str, items: &'a [Item]) -> Vec<(Seq<'a>, Frame)> {
        items
            .iter()
            .filter_map(|item| match item {
                Item::Event(event) => {
                    let frame = frames::event_frame(topic, event.offset, &event.payload);
                    if frame.is_none() {
                        tracing::error!(
                            topic,
                            offset = event.offset,
                            "dropped an event whose payload is not a UTF-8 JSON object"
                        );
                    }
                    let seq = Seq::Event {
                        epoch: &event.epoch,
                        offset: event.offset,
                    };
                    Some((seq, frame?))
                }
                Item::Untracked(frame) => Some((Seq::Untracked, frame.clone())),
            })
            .collect()
    }

    fn offer(&self, subs: &[Arc<Sub>], frames: &[(Seq<'_>, Frame)]) {
        let hold_limit = self.settings.queue_capacity;
        for sub in subs {
            sub.offer(frames, hold_limit, &self.counters);
        }
    }

    /// One broadcast from the broker. Only tally topics carry broadcasts.
    fn broadcast(&self, broker_topic: &str, payload: &[u8]) {
        match tallied_topic(broker_topic) {
            Some(topic) => self.deliver_tally(topic, payload),
            None => tracing::warn!(
                topic = broker_topic,
                "dropped a broadcast on a topic that carries none"
            ),
        }
    }

    /// A `tally` frame for the subscribers of `topic`, fanned out like events but without an offset,
    /// so it neither moves nor checks where their event sequence stands.
    fn deliver_tally(&self, topic: &str, payload: &[u8]) {
        let Some(frame) = frames::tally_frame(topic, payload) else {
            tracing::error!(topic, "dropped a tally whose payload is not a UTF-8 JSON object");
            return;
        };
        self.queue_fan_out(topic.into(), Item::Untracked(frame));
    }

    /// Ends every local subscription with a `resync`.
    fn resync_all(&self, why: &'static str) {
        for subs in self.registry.all() {
            for sub in subs.iter() {
                sub.resync(why);
            }
        }
    }

    /// One presence round: report this node's count of each jam and session topic, read the
    /// cluster-wide totals, and push those that changed.
    async fn report_presence(&self, reported: &mut HashSet<Arc<str>>) {
        let interval = self.settings.presence_interval;
        let ttl = interval * 3;
        let node = &self.settings.node_id;
        let counts = self
            .registry
            .counts(|topic| topic.starts_with("jam:") || topic.starts_with("session:"));
        let current: HashSet<Arc<str>> = counts.iter().map(|(t, _)| t.clone()).collect();
        for gone in reported.difference(&current) {
            if let Err(e) = self.broker.set_presence(gone, node, 0, ttl).await {
                tracing::debug!(topic = %gone, error = %e, "could not clear presence");
            }
        }
        *reported = current;
        for (topic, count) in counts {
            if let Err(e) = self.broker.set_presence(&topic, node, count, ttl).await {
                tracing::debug!(%topic, error = %e, "could not report presence");
                continue;
            }
            let online = match self.broker.presence(&topic).await {
                Ok(online) => online,
                Err(e) => {
                    tracing::debug!(%topic, error = %e, "could not read presence");
                    continue;
                }
            };
            if self.registry.update_presence(&topic, online) {
                let text = Reply::Presence {
                    topic: &topic,
                    online,
                }
                .to_frame();
                // Paced and coalesced like events: a count that changed is news for every
                // subscriber of the topic at once.
                self.queue_fan_out(topic, Item::Untracked(text));
            }
        }
    }
}

async fn presence_loop(hub: Weak<Hub>) {
    let Some(interval) = hub.upgrade().map(|h| h.settings.presence_interval) else {
        return;
    };
    let interval = interval.max(Duration::from_millis(10));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reported = HashSet::new();
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        if hub.shutting_down.load(Ordering::Acquire) {
            return;
        }
        hub.report_presence(&mut reported).await;
    }
}

/// Keeps the request side of a refused connection open until its close frame is out (at most
/// `wait`), so that actix does not tear the connection down before.
async fn hold_until_closed(outbox: Arc<Outbox>, stream: Inbound, wait: Duration) {
    let _ = tokio::time::timeout(wait, outbox.closed()).await;
    drop(stream);
}

fn problem(status: u16, title: &str, detail: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .body(body.to_string())
}
