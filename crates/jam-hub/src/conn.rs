//! One connection's reader: parses the client's requests and answers them, runs the heartbeat and
//! the sign-in check, and on the way out releases the connection's subscriptions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jam_broker::Replay;
use jam_domain::Principal;
use tokio::time::Instant;

use crate::core::Core;
use crate::frames::{self, BadRequest, Frame, MAX_BATCH_BYTES, Reply, Request};
use crate::inbound::{Broken, Inbound, Incoming};
use crate::outbox::{Out, Outbox, close, reason};
use crate::registry::Sub;
use crate::topic::{BadTopic, Topic};

/// Consecutive failed requests after which a connection is closed with 1008.
const MAX_ERRORS_IN_A_ROW: u32 = 20;

/// The window of `HubSettings::replays_per_topic_per_minute`.
const REPLAY_WINDOW: Duration = Duration::from_secs(60);

/// A token bucket: `rate` tokens a second up to `size`; each message takes one.
struct Bucket {
    rate: f64,
    size: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// `rate` 0: no limit.
    fn new(rate: u32, size: u32, now: Instant) -> Self {
        let size = f64::from(size.max(1));
        Bucket {
            rate: f64::from(rate),
            size,
            tokens: size,
            at: now,
        }
    }

    /// Takes a token; false when there is none.
    fn take(&mut self, now: Instant) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.size);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// What the reader does next.
enum Flow {
    Continue,
    /// Close the connection with this code.
    Close(u16),
    /// The connection is already gone.
    Gone,
}

pub(crate) struct Reader {
    core: Arc<Core>,
    id: u64,
    outbox: Arc<Outbox>,
    principal: Principal,
    session_id: String,
    /// The topics this connection holds. Owned by the reader alone: nobody else adds or removes.
    subs: Vec<Arc<Sub>>,
    errors_in_a_row: u32,
    /// Messages the client may still send now.
    bucket: Bucket,
    /// Per topic: when its replay window began and the replays made in it.
    replays: HashMap<String, (Instant, u32)>,
}

impl Reader {
    pub(crate) fn new(
        core: Arc<Core>,
        id: u64,
        outbox: Arc<Outbox>,
        principal: Principal,
        session_id: String,
    ) -> Self {
        let bucket = Bucket::new(
            core.settings.messages_per_sec,
            core.settings.message_burst,
            Instant::now(),
        );
        Reader {
            core,
            id,
            outbox,
            principal,
            session_id,
            subs: Vec::new(),
            errors_in_a_row: 0,
            bucket,
            replays: HashMap::new(),
        }
    }

    pub(crate) async fn run(mut self, mut stream: Inbound) {
        let ping_interval = self.core.settings.ping_interval;
        let client_timeout = self.core.settings.client_timeout;
        let outbox = self.outbox.clone();
        let mut last_seen = Instant::now();
        // One timer for both: the next ping, or the moment the client has been silent too long,
        // whichever comes first (a message only moves the second later, so the timer is only ever
        // early, and then it is set again).
        let mut next_ping = last_seen + ping_interval;
        let heartbeat = tokio::time::sleep_until(next_ping.min(last_seen + client_timeout));
        tokio::pin!(heartbeat);

        let end = loop {
            tokio::select! {
                message = stream.recv() => match message {
                    Some(Ok(message)) => {
                        last_seen = Instant::now();
                        outbox.client_spoke();
                        // Answers to our pings are ours to ask for; everything else is the client's.
                        if !matches!(message, Incoming::Pong) && !self.bucket.take(last_seen) {
                            break self.rate_limited().await;
                        }
                        // Boxed so that an idle connection's task is not sized for a replay.
                        match Box::pin(self.on_message(message)).await {
                            Flow::Continue => {}
                            other => break other,
                        }
                    }
                    Some(Err(Broken::TooBig)) => break Flow::Close(close::TOO_BIG),
                    Some(Err(Broken::Protocol)) => break Flow::Close(close::POLICY),
                    Some(Err(Broken::Gone)) => break Flow::Gone,
                    None => break Flow::Gone,
                },
                () = outbox.closed() => break Flow::Gone,
                () = &mut heartbeat => {
                    let now = Instant::now();
                    if now >= last_seen + client_timeout {
                        // Silent: nothing queued is worth waiting for.
                        outbox.request_close(close::NORMAL);
                        break Flow::Gone;
                    }
                    if now >= next_ping {
                        if !self.core.authorizer.still_signed_in(&self.session_id).await {
                            break Flow::Close(close::SIGNED_OUT);
                        }
                        outbox.ping();
                        next_ping = Instant::now() + ping_interval;
                    }
                    heartbeat.as_mut().reset(next_ping.min(last_seen + client_timeout));
                }
            }
        };
        match end {
            Flow::Close(code) => outbox.finish(code),
            Flow::Gone | Flow::Continue => outbox.request_close(close::NORMAL),
        }
        for sub in std::mem::take(&mut self.subs) {
            self.core.detach(&sub).await;
        }
        // Hold the request side of the socket until the close frame is out, so that actix does not
        // tear the connection down before; a client that does not take it gets the client timeout.
        let _ = tokio::time::timeout(client_timeout, outbox.closed()).await;
        drop(stream);
        self.core.connection_ended(self.id);
    }

    async fn on_message(&mut self, message: Incoming) -> Flow {
        match message {
            Incoming::Text(text) => self.on_text(&text).await,
            Incoming::Binary => {
                self.error("malformed", "binary frames are not supported", None)
                    .await
            }
            Incoming::Ping(payload) => match self.outbox.send(Out::Pong(payload)).await {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::Gone,
            },
            Incoming::Pong => Flow::Continue,
            Incoming::Close => Flow::Close(close::NORMAL),
        }
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        match Request::parse(text) {
            Err(BadRequest::Malformed(why)) => self.error("malformed", &why, None).await,
            Err(BadRequest::UnknownType(kind)) => {
                let message = format!("unknown message type `{kind}`");
                self.error("unknown_type", &message, None).await
            }
            // A ping is no success: it does not forgive the errors before it.
            Ok(Request::Ping { id }) => self.reply(&Reply::Pong { id: id.as_ref() }).await,
            Ok(Request::Subscribe { topic, since, epoch }) => {
                self.subscribe(&topic, since, epoch.as_deref()).await
            }
            Ok(Request::Unsubscribe { topic }) => self.unsubscribe(&topic).await,
        }
    }

    async fn subscribe(&mut self, raw: &str, since: Option<u64>, epoch: Option<&str>) -> Flow {
        let Ok(topic) = raw.parse::<Topic>() else {
            return self.bad_topic(raw).await;
        };
        let name = topic.to_string();
        let held = self.subs.iter().find(|s| *s.topic == *name).cloned();
        if held.is_none() && self.subs.len() >= self.core.settings.max_subscriptions {
            let message = format!(
                "at most {} topics per connection",
                self.core.settings.max_subscriptions
            );
            return self.error("too_many_subscriptions", &message, Some(&name)).await;
        }
        if since.is_some() && !self.may_replay(&name) {
            let message = format!(
                "at most {} replays of one topic a minute; subscribe without `since` and refetch",
                self.core.settings.replays_per_topic_per_minute
            );
            return self.error("rate_limited", &message, Some(&name)).await;
        }
        if !self.core.authorizer.can_read(&self.principal, &topic).await {
            return self
                .error("forbidden", "you may not read this topic", Some(&name))
                .await;
        }
        let sub = match held {
            Some(sub) => {
                sub.restart();
                sub
            }
            None => {
                let sub = Sub::new(name.as_str().into(), self.outbox.clone());
                if let Err(e) = self.core.attach(&sub).await {
                    tracing::warn!(topic = %name, error = %e, "broker subscribe failed");
                    return self
                        .error(
                            "unavailable",
                            "live updates are unavailable, try again",
                            Some(&name),
                        )
                        .await;
                }
                self.subs.push(sub.clone());
                sub
            }
        };

        // The subscription already holds back live events; now fetch what precedes them.
        let answer = match since {
            Some(since) => self.core.broker.replay(&name, since, epoch.unwrap_or("")).await,
            None => self
                .core
                .broker
                .position(&name)
                .await
                .map(|position| Replay::Events {
                    events: Vec::new(),
                    position,
                }),
        };
        let (events, position) = match answer {
            Ok(Replay::Events { events, position }) => (events, position),
            Ok(Replay::Resync { position }) => {
                let resync = Reply::Resync {
                    topic: &name,
                    reason: reason::HISTORY_GAP,
                };
                if let Flow::Gone = self.reply(&resync).await {
                    return Flow::Gone;
                }
                (Vec::new(), position)
            }
            Err(e) => {
                tracing::warn!(topic = %name, error = %e, "broker replay failed");
                self.drop_sub(&sub).await;
                return self
                    .error(
                        "unavailable",
                        "live updates are unavailable, try again",
                        Some(&name),
                    )
                    .await;
            }
        };

        // Replayed events go out in chunks of at most `MAX_BATCH_BYTES`, each a JSON array.
        let mut chunk: Vec<Frame> = Vec::new();
        let mut chunk_bytes = 0;
        for event in &events {
            let Some(text) = frames::event_frame(&name, event.offset, &event.payload) else {
                continue;
            };
            chunk_bytes += text.len();
            chunk.push(text);
            if chunk_bytes >= MAX_BATCH_BYTES {
                if let Flow::Gone = self.send_chunk(&mut chunk).await {
                    return Flow::Gone;
                }
                chunk_bytes = 0;
            }
        }
        if let Flow::Gone = self.send_chunk(&mut chunk).await {
            return Flow::Gone;
        }
        let subscribed = Reply::Subscribed {
            topic: &name,
            offset: position.offset,
            epoch: &position.epoch,
        }
        .to_frame();
        // `subscribed` is queued in the same critical section that makes the subscription live, so
        // every event the client sees after `subscribed` is live, in order, with nothing held back.
        if self.outbox.room().await.is_err() {
            return Flow::Gone;
        }
        sub.go_live(
            subscribed,
            position.epoch.clone(),
            position.offset,
            &self.core.counters,
        );

        let online = topic
            .has_presence()
            .then(|| self.core.registry.presence(&name))
            .flatten();
        if let Some(online) = online {
            let presence = Reply::Presence { topic: &name, online };
            if let Flow::Gone = self.reply(&presence).await {
                return Flow::Gone;
            }
        }
        self.errors_in_a_row = 0;
        Flow::Continue
    }

    async fn send_chunk(&mut self, chunk: &mut Vec<Frame>) -> Flow {
        let text = match chunk.len() {
            0 => return Flow::Continue,
            1 => chunk.pop(),
            _ => Some(frames::join(chunk)),
        };
        chunk.clear();
        match text {
            Some(text) => self.send(text).await,
            None => Flow::Continue,
        }
    }

    async fn unsubscribe(&mut self, raw: &str) -> Flow {
        let Ok(topic) = raw.parse::<Topic>() else {
            return self.bad_topic(raw).await;
        };
        let name = topic.to_string();
        if let Some(sub) = self.subs.iter().find(|s| *s.topic == *name).cloned() {
            self.drop_sub(&sub).await;
        }
        self.errors_in_a_row = 0;
        Flow::Continue
    }

    async fn drop_sub(&mut self, sub: &Arc<Sub>) {
        self.subs.retain(|s| !Arc::ptr_eq(s, sub));
        self.core.detach(sub).await;
    }

    async fn bad_topic(&mut self, raw: &str) -> Flow {
        let mut shown = raw.to_owned();
        if shown.len() > 80 {
            let mut end = 80;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
        }
        self.error("bad_topic", &BadTopic.to_string(), Some(&shown)).await
    }

    /// Counts a replay of `topic`; false when its window has no replay left.
    fn may_replay(&mut self, topic: &str) -> bool {
        let limit = self.core.settings.replays_per_topic_per_minute;
        if limit == 0 {
            return true;
        }
        let now = Instant::now();
        // Bounded: windows that ended are dropped once the map outgrows the topics a connection holds.
        if self.replays.len() > self.core.settings.max_subscriptions.max(16) {
            self.replays
                .retain(|_, (began, _)| now.saturating_duration_since(*began) < REPLAY_WINDOW);
        }
        let (began, made) = self.replays.entry(topic.to_owned()).or_insert((now, 0));
        if now.saturating_duration_since(*began) >= REPLAY_WINDOW {
            (*began, *made) = (now, 0);
        }
        if *made >= limit {
            return false;
        }
        *made += 1;
        true
    }

    /// The client sends faster than `messages_per_sec`: tell it why, then close with 1008.
    async fn rate_limited(&mut self) -> Flow {
        let message = format!(
            "more than {} messages a second; closing",
            self.core.settings.messages_per_sec
        );
        let error = Reply::Error {
            code: "rate_limited",
            message: &message,
            topic: None,
        };
        match self.reply(&error).await {
            Flow::Gone => Flow::Gone,
            _ => Flow::Close(close::POLICY),
        }
    }

    /// Answers with an `error`; too many in a row close the connection with 1008.
    async fn error(&mut self, code: &str, message: &str, topic: Option<&str>) -> Flow {
        self.errors_in_a_row += 1;
        if let Flow::Gone = self.reply(&Reply::Error { code, message, topic }).await {
            return Flow::Gone;
        }
        if self.errors_in_a_row > MAX_ERRORS_IN_A_ROW {
            return Flow::Close(close::POLICY);
        }
        Flow::Continue
    }

    async fn reply(&mut self, reply: &Reply<'_>) -> Flow {
        self.send(reply.to_frame()).await
    }

    /// Own replies wait for room in the queue: a client that does not read them slows only itself.
    async fn send(&mut self, frame: Frame) -> Flow {
        match self.outbox.send(Out::Text(frame)).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Gone,
        }
    }
}
