//! A live-protocol client for the black-box tests: one WebSocket to `/api/v1/live` with a client's
//! cookie, JSON messages in and out (arrays flattened), pings answered.

use std::collections::VecDeque;
use std::time::Duration as StdDuration;

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::support::Client;

/// The default `server.public_origin`, which the tests do not change.
pub const ORIGIN: &str = "http://127.0.0.1:8080";
/// How long `recv` waits for a frame before the test fails.
pub const WAIT: StdDuration = StdDuration::from_secs(10);

type Framed = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

pub struct LiveClient {
    io: Framed,
    pending: VecDeque<Value>,
}

impl LiveClient {
    pub async fn connect(client: &Client) -> LiveClient {
        Self::try_connect(client, Some(ORIGIN))
            .await
            .unwrap_or_else(|status| panic!("upgrade refused: {status}"))
    }

    pub async fn try_connect(client: &Client, origin: Option<&str>) -> Result<LiveClient, u16> {
        // As patient as the HTTP client (awc's default gives up on a handshake after 5 s, which a
        // node of the cluster test needed on a machine loaded by a benchmark).
        let mut req = awc::Client::builder()
            .timeout(StdDuration::from_secs(30))
            .finish()
            .ws(format!("{}/api/v1/live", client.base()));
        if let Some(cookie) = client.cookie() {
            req = req.header("cookie", cookie.to_owned());
        }
        if let Some(origin) = origin {
            req = req.origin(origin);
        }
        match req.connect().await {
            Ok((_, io)) => Ok(LiveClient {
                io,
                pending: VecDeque::new(),
            }),
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => Err(status.as_u16()),
            Err(e) => panic!("{e}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.io
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// The next message (arrays flattened), or the close code; panics after `WAIT` without one.
    pub async fn next(&mut self) -> Result<Value, Option<u16>> {
        match self.next_within(WAIT).await {
            Some(next) => next,
            None => panic!("no frame within {WAIT:?}"),
        }
    }

    /// The next message or close code, or `None` when nothing arrives within `wait`.
    pub async fn next_within(&mut self, wait: StdDuration) -> Option<Result<Value, Option<u16>>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Some(Ok(m));
            }
            let frame = tokio::time::timeout_at(deadline, self.io.next()).await.ok()?;
            match frame {
                Some(Ok(Frame::Text(bytes))) => match serde_json::from_slice::<Value>(&bytes).unwrap() {
                    Value::Array(items) => self.pending.extend(items),
                    one => self.pending.push_back(one),
                },
                Some(Ok(Frame::Ping(p))) => self.io.send(Message::Pong(p)).await.unwrap(),
                Some(Ok(Frame::Close(reason))) => return Some(Err(reason.map(|r| r.code.into()))),
                Some(Ok(_)) => {}
                // The connection broke without a close frame (e.g. the node was killed).
                Some(Err(_)) | None => return Some(Err(None)),
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        self.next()
            .await
            .unwrap_or_else(|code| panic!("closed with {code:?}"))
    }

    /// Skips messages (presence, other topics) until one matches.
    pub async fn recv_until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let m = self.recv().await;
            if wanted(&m) {
                return m;
            }
        }
    }

    pub async fn subscribe(&mut self, topic: &str, since: Option<(u64, &str)>) -> Value {
        let mut request = json!({ "type": "subscribe", "topic": topic });
        if let Some((offset, epoch)) = since {
            request["since"] = json!(offset);
            request["epoch"] = json!(epoch);
        }
        self.send(request).await;
        self.recv_until(|m| m["topic"] == topic && (m["type"] == "subscribed" || m["type"] == "error"))
            .await
    }

    /// Subscribes with `since` and collects the replay: `(events, the subscribed reply)`; a
    /// `resync` for the topic comes back as the only "event".
    pub async fn resume(&mut self, topic: &str, since: u64, epoch: &str) -> (Vec<Value>, Value) {
        self.send(json!({ "type": "subscribe", "topic": topic, "since": since, "epoch": epoch }))
            .await;
        let mut events = Vec::new();
        loop {
            let m = self.recv_until(|m| m["topic"] == topic).await;
            match m["type"].as_str() {
                Some("subscribed") | Some("error") => return (events, m),
                Some("event") | Some("resync") => events.push(m),
                _ => {}
            }
        }
    }
}

pub fn event_kind(m: &Value) -> &str {
    m["event"]["kind"].as_str().unwrap_or_default()
}
