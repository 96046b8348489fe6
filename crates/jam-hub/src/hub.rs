//! The hub: builds the `Core` the rest of the crate shares, accepts connections, receives the
//! broker's events and queues them for the fan-out, reports presence, and shuts down. The top of the
//! crate: it uses every other module, and none uses it.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use jam_broker::{Broker, BrokerSink, Published};
use jam_domain::Principal;
use jam_protocol::live::tallied_topic;
use tokio::runtime::Handle;

use crate::conn::Reader;
use crate::core::Core;
use crate::fanout::Item;
use crate::frames::{self, Reply};
use crate::inbound::Inbound;
use crate::outbox::{LiveBody, Outbox, close, reason};
use crate::settings::HubSettings;
use crate::stats::HubStats;
use crate::topic::{CONTROL_PREFIX, ControlSink, SIGNED_OUT, TopicAuthorizer};

/// How long `shutdown` waits for connections to take their 1001 before it returns anyway.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The WebSocket hub of one node. Build it once with `Hub::new`, route `/api/v1/live` to
/// `Hub::upgrade`, read `Hub::stats` for metrics, and call `Hub::shutdown` on the way out.
pub struct Hub {
    /// What the connections' readers, the fan-out task, the broker sink and the presence reporter
    /// share with the hub. They hold it, not the `Hub`, so that no module depends on this one.
    core: Arc<Core>,
}

/// What the broker's reader task calls. Holds the core weakly so that hub and broker do not keep each
/// other alive.
struct HubSink(Weak<Core>);

impl BrokerSink for HubSink {
    fn deliver(&self, event: Published) {
        if let Some(core) = self.0.upgrade() {
            deliver(&core, event);
        }
    }

    fn broadcast(&self, topic: Arc<str>, payload: Bytes) {
        if let Some(core) = self.0.upgrade() {
            broadcast(&core, &topic, &payload);
        }
    }

    fn reconnected(&self) {
        if let Some(core) = self.0.upgrade() {
            resync_all(&core, reason::BROKER_RECONNECTED);
            if let Some(control) = core.control.get() {
                control.missed();
            }
        }
    }
}

impl Hub {
    /// Builds the hub, installs it as the broker's sink, and (inside a Tokio runtime) starts the
    /// fan-out task and the presence reporter, which stops by itself when the hub is dropped or shut
    /// down.
    pub fn new(
        broker: Arc<dyn Broker>,
        authorizer: Arc<dyn TopicAuthorizer>,
        settings: HubSettings,
    ) -> Arc<Hub> {
        // The fan-out task and the presence reporter run here (the runtime the hub is built in).
        let runtime = Handle::try_current().ok();
        let core = Core::new(broker, authorizer, settings, runtime.is_some());
        core.broker.set_sink(Arc::new(HubSink(Arc::downgrade(&core))));
        match &runtime {
            Some(runtime) => {
                runtime.spawn(presence_loop(Arc::downgrade(&core)));
                runtime.spawn(core.fanout.clone().run(Arc::downgrade(&core)));
            }
            None => tracing::warn!(
                "hub built outside a Tokio runtime: presence counts are off, fan-out is not paced"
            ),
        }
        Arc::new(Hub { core })
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
        let core = &self.core;
        if core.shutting_down.load(Ordering::Acquire) {
            return Ok(problem(503, "Service Unavailable", "the server is shutting down"));
        }
        let mut response = actix_http::ws::handshake(req.head())?;
        let stream = Inbound::new(body, core.settings.max_frame_bytes);
        let outbox = Outbox::new(core.settings.queue_capacity, core.backlog.clone());
        let live_body = LiveBody::new(outbox.clone(), core.counters.clone());
        let response = response.message_body(BoxBody::new(live_body))?.into();

        let open = core.counters.connections.load(Ordering::Relaxed);
        if open >= core.settings.max_connections as u64 {
            outbox.request_close(close::TRY_AGAIN_LATER);
            actix_web::rt::spawn(hold_until_closed(outbox, stream, core.settings.client_timeout));
            return Ok(response);
        }
        let Some(seat) = core
            .seats
            .take(&session_id, core.settings.max_connections_per_sign_in)
        else {
            outbox.request_close(close::TRY_AGAIN_LATER);
            actix_web::rt::spawn(hold_until_closed(outbox, stream, core.settings.client_timeout));
            return Ok(response);
        };

        let id = core.connection_started(outbox.clone(), &session_id);
        let reader = Reader::new(core.clone(), id, outbox, principal, session_id);
        actix_web::rt::spawn(async move {
            reader.run(stream).await;
            drop(seat);
        });
        Ok(response)
    }

    /// Installs where the broker's `control:` broadcasts go (once; a second call is ignored and
    /// returns false). The caller subscribes the broker to the topics it wants.
    pub fn set_control(&self, control: Arc<dyn ControlSink>) -> bool {
        self.core.control.set(control).is_ok()
    }

    /// Closes this node's live connections of these sign-ins (token hashes) with 4001 at once;
    /// returns how many. The server calls it for sign-ins it just ended, and every node does on a
    /// [`SIGNED_OUT`] notice.
    pub fn end_sign_ins(&self, sessions: &[&str]) -> usize {
        self.core.close_sessions(sessions, close::SIGNED_OUT)
    }

    /// Counters for `/metrics`.
    pub fn stats(&self) -> HubStats {
        let core = &self.core;
        core.counters
            .snapshot(core.registry.len() as u64, core.backlog.len() as u64)
    }

    /// Closes every connection with 1001 (server going away), refuses new ones, stops presence, and
    /// waits (a few seconds at most) for the connections to end.
    pub async fn shutdown(&self) {
        self.core.shutting_down.store(true, Ordering::Release);
        self.core.close_all(close::GOING_AWAY);
        if tokio::time::timeout(SHUTDOWN_WAIT, self.core.all_ended())
            .await
            .is_err()
        {
            tracing::warn!("shutdown: some live connections did not close in time");
        }
    }

    fn origin_allowed(&self, req: &HttpRequest) -> bool {
        let allowed = self.core.settings.allowed_origin.trim_end_matches('/');
        if allowed.is_empty() {
            return false;
        }
        req.headers()
            .get(header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
            .is_some_and(|origin| origin.trim_end_matches('/').eq_ignore_ascii_case(allowed))
    }
}

/// One event from the broker: queued for the fan-out task (see `fanout`). Never blocks.
fn deliver(core: &Core, event: Published) {
    if let Some(topic) = tallied_topic(&event.topic) {
        // A node of an older version published the tally as an event (a rolling upgrade): its
        // offset belongs to the tally topic, not to the client's, so it is not tracked either.
        deliver_tally(core, topic, &event.payload);
        return;
    }
    let topic = event.topic.clone();
    core.fanout.push(topic, Item::Event(event));
}

/// One broadcast from the broker: a tally for clients, or a notice for the node.
fn broadcast(core: &Core, broker_topic: &str, payload: &[u8]) {
    match tallied_topic(broker_topic) {
        Some(topic) => deliver_tally(core, topic, payload),
        None if broker_topic.starts_with(CONTROL_PREFIX) => {
            if broker_topic == SIGNED_OUT {
                end_sign_ins(core, payload);
            }
            match core.control.get() {
                Some(control) => control.control(broker_topic, payload),
                None => tracing::warn!(topic = broker_topic, "dropped a notice: no control sink is set"),
            }
        }
        None => tracing::warn!(
            topic = broker_topic,
            "dropped a broadcast on a topic that carries none"
        ),
    }
}

/// Closes the connections of the sign-ins a [`SIGNED_OUT`] notice names.
fn end_sign_ins(core: &Core, payload: &[u8]) {
    let Ok(text) = std::str::from_utf8(payload) else {
        return;
    };
    let sessions: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let closed = core.close_sessions(&sessions, close::SIGNED_OUT);
    if closed > 0 {
        tracing::info!(closed, "closed live connections of ended sign-ins");
    }
}

/// A `tally` frame for the subscribers of `topic`, fanned out like events but without an offset,
/// so it neither moves nor checks where their event sequence stands.
fn deliver_tally(core: &Core, topic: &str, payload: &[u8]) {
    let Some(frame) = frames::tally_frame(topic, payload) else {
        tracing::error!(topic, "dropped a tally whose payload is not a UTF-8 JSON object");
        return;
    };
    core.fanout.push(topic.into(), Item::Untracked(frame));
}

/// Ends every local subscription with a `resync`.
fn resync_all(core: &Core, why: &'static str) {
    for subs in core.registry.all() {
        for sub in subs.iter() {
            sub.resync(why);
        }
    }
}

async fn presence_loop(core: Weak<Core>) {
    let Some(interval) = core.upgrade().map(|c| c.settings.presence_interval) else {
        return;
    };
    let interval = interval.max(Duration::from_millis(10));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reported = HashSet::new();
    loop {
        tick.tick().await;
        let Some(core) = core.upgrade() else { return };
        if core.shutting_down.load(Ordering::Acquire) {
            return;
        }
        report_presence(&core, &mut reported).await;
    }
}

/// One presence round: report this node's count of each jam and session topic, read the
/// cluster-wide totals, and push those that changed.
async fn report_presence(core: &Core, reported: &mut HashSet<Arc<str>>) {
    let interval = core.settings.presence_interval;
    let ttl = interval * 3;
    let node = &core.settings.node_id;
    let counts = core
        .registry
        .counts(|topic| topic.starts_with("jam:") || topic.starts_with("session:"));
    let current: HashSet<Arc<str>> = counts.iter().map(|(t, _)| t.clone()).collect();
    for gone in reported.difference(&current) {
        if let Err(e) = core.broker.set_presence(gone, node, 0, ttl).await {
            tracing::debug!(topic = %gone, error = %e, "could not clear presence");
        }
    }
    *reported = current;
    for (topic, count) in counts {
        if let Err(e) = core.broker.set_presence(&topic, node, count, ttl).await {
            tracing::debug!(%topic, error = %e, "could not report presence");
            continue;
        }
        let online = match core.broker.presence(&topic).await {
            Ok(online) => online,
            Err(e) => {
                tracing::debug!(%topic, error = %e, "could not read presence");
                continue;
            }
        };
        if core.registry.update_presence(&topic, online) {
            let text = Reply::Presence {
                topic: &topic,
                online,
            }
            .to_frame();
            // Paced and coalesced like events: a count that changed is news for every
            // subscriber of the topic at once.
            core.fanout.push(topic, Item::Untracked(text));
        }
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
