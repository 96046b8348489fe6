//! One live connection: the upgrade (cookie and Origin), the subscription, and the listener that
//! measures every frame it gets until it is told to stop.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::stats::{Counts, Seen, Stats, now_unix_ns};
use crate::{Error, net, scan};

pub type Ws = WebSocketStream<TcpStream>;

/// How long the upgrade plus the `subscribed` answer may take.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(60);

/// Where and as whom a connection opens.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub origin: String,
    pub cookie: String,
    /// tungstenite's read buffer, allocated up front per connection (its default is 128 KiB, which
    /// at 19,000 connections costs 2.4 GiB: `DESIGN.md` §8).
    pub read_buffer: usize,
}

fn config(read_buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        // Written at once: the client only sends small requests.
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20))
}

/// Upgrades a connection from `source`. A refused upgrade is `Error::Upgrade` with its status.
pub async fn open(target: &Target, source: Option<Ipv4Addr>, recv_buffer: Option<u32>) -> Result<Ws, Error> {
    let stream = net::connect_with(target.addr, source, recv_buffer)
        .await
        .map_err(|e| Error::Connect(target.addr, e))?;
    let mut request = format!("ws://{}/api/v1/live", target.addr).into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("cookie", header(&target.cookie)?);
    headers.insert("origin", header(&target.origin)?);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config(target.read_buffer)))
            .await
            .map_err(|e| match e {
                tungstenite::Error::Http(response) => Error::Upgrade(response.status().as_u16()),
                other => Error::Ws(other),
            })?;
    Ok(ws)
}

fn header(value: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(value).map_err(|_| Error::Config(format!("not a header value: {value:?}")))
}

/// Sends a request object.
pub async fn send(ws: &mut Ws, request: serde_json::Value) -> Result<(), Error> {
    ws.send(Message::text(request.to_string())).await?;
    Ok(())
}

/// Subscribes and waits for `subscribed`: returns the topic's offset. An `error` for the topic, or a
/// close, is an error.
pub async fn subscribe(ws: &mut Ws, topic: &str) -> Result<u64, Error> {
    send(ws, json!({ "type": "subscribe", "topic": topic })).await?;
    let wait = async {
        while let Some(message) = ws.next().await {
            match message? {
                Message::Text(text) => {
                    let Ok(messages) = scan::messages(&text) else {
                        continue;
                    };
                    for m in messages {
                        if m.topic.as_deref() != Some(topic) {
                            continue;
                        }
                        match &*m.kind {
                            "subscribed" => return Ok(m.offset.unwrap_or(0)),
                            "error" => {
                                return Err(Error::Protocol(format!(
                                    "subscribe {topic} refused: {}",
                                    m.code.as_deref().unwrap_or("?")
                                )));
                            }
                            _ => {}
                        }
                    }
                }
                Message::Close(frame) => {
                    let code = frame.map(|f| u16::from(f.code)).unwrap_or(0);
                    return Err(Error::Protocol(format!("closed with {code} while subscribing")));
                }
                _ => {}
            }
        }
        Err(Error::Protocol("connection ended while subscribing".into()))
    };
    tokio::time::timeout(SUBSCRIBE_WAIT, wait).await.map_err(|_| {
        Error::Protocol(format!(
            "no answer to subscribe {topic} within {SUBSCRIBE_WAIT:?}"
        ))
    })?
}

/// Turns a vote's count back into the time the vote that made it was meant to be sent: the storm
/// sends vote `k` at `start + k / rate` to idea `k mod ideas`, always +1 and each (voter, idea) pair
/// once, so an idea's `up` count `U` is reached no earlier than the send time of vote
/// `(U - 1) * ideas + index`.
#[derive(Debug, Clone)]
pub struct VotePlan {
    pub start_unix_ns: u64,
    pub rate: f64,
    pub total: u64,
    pub index: HashMap<String, usize>,
    /// Probe connections also keep every count they see (`Counts::tally_seen`), to time each
    /// acknowledged vote to its tally afterwards (`stats::ack_to_tally`). Only the process that
    /// drives the votes can use them.
    pub keep_seen: bool,
}

impl VotePlan {
    pub fn intended_ns(&self, idea: &str, up: u64) -> Option<u64> {
        let i = *self.index.get(idea)? as u64;
        let k = up
            .checked_sub(1)?
            .checked_mul(self.index.len() as u64)?
            .checked_add(i)?;
        (k < self.total).then(|| self.start_unix_ns + (k as f64 * 1e9 / self.rate) as u64)
    }
}

/// What a listener shares with the others.
pub struct Shared {
    pub stats: Stats,
    /// Connections listening now.
    pub open: AtomicU64,
    /// The vote storm's schedule, once it is known.
    pub plan: OnceLock<VotePlan>,
}

/// Reads one subscribed connection until `stop`, counting into its shard of `shared.stats`.
pub async fn listen(
    mut ws: Ws,
    id: usize,
    topic: Arc<str>,
    mut offset: u64,
    probe: bool,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    shared.open.fetch_add(1, Ordering::Relaxed);
    // One wait for the stop, made once: a fresh `changed()` per frame would join and leave the
    // watch's waiter list (shared by every connection, under its lock) on every frame.
    let stopped = async {
        while stop.changed().await.is_ok() {
            if *stop.borrow() {
                return;
            }
        }
    };
    tokio::pin!(stopped);
    let closed = loop {
        tokio::select! {
            // Frames first, without a random draw per frame; under a flood tokio's per-task budget
            // still makes the socket yield, so the stop is seen.
            biased;
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let resynced = {
                        let mut shard = shared.stats.shard(id);
                        let probe = probe.then_some(id as u32);
                        on_text(&text, &topic, &mut offset, probe, &shared, &mut shard)
                    };
                    // As the spec asks: subscribe again without `since` (this client has no state to
                    // refetch); the `subscribed` answer sets the offset to count from.
                    if resynced && send(&mut ws, json!({ "type": "subscribe", "topic": &*topic })).await.is_err() {
                        break Some(0);
                    }
                }
                Some(Ok(Message::Close(frame))) => break Some(frame.map(|f| u16::from(f.code)).unwrap_or(0)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break Some(0),
            },
            () = &mut stopped => {
                let _ = ws.close(None).await;
                break None;
            }
        }
    };
    shared.open.fetch_sub(1, Ordering::Relaxed);
    if let Some(code) = closed {
        *shared.stats.shard(id).closes.entry(code).or_default() += 1;
    }
}

/// Counts one text frame; true when it resynced `topic` (the caller subscribes again). `probe` is
/// the connection's number when it is one of those that read tally counts.
fn on_text(
    text: &str,
    topic: &str,
    offset: &mut u64,
    probe: Option<u32>,
    shared: &Shared,
    counts: &mut Counts,
) -> bool {
    let now = now_unix_ns();
    counts.frames += 1;
    counts.bytes += text.len() as u64;
    let mut tally_seen = false;
    let mut resynced = false;
    let read = scan::each_message(text, |m| {
        counts.messages += 1;
        match &*m.kind {
            "event" => {
                counts.events += 1;
                if m.topic.as_deref() == Some(topic)
                    && let Some(o) = m.offset
                {
                    if o == *offset + 1 {
                        *offset = o;
                    } else if o > *offset {
                        counts.gaps += 1;
                        counts.missing += o - *offset - 1;
                        *offset = o;
                    } else {
                        counts.duplicates += 1;
                    }
                }
                let marker = m
                    .event
                    .as_ref()
                    .and_then(|e| e.idea.as_ref())
                    .and_then(|i| scan::parse_marker(&i.title));
                if let Some((_, intended)) = marker {
                    counts.delivered += 1;
                    counts.last_delivery_ns = now;
                    Counts::record_latency_ns(&mut counts.latency, now.saturating_sub(intended));
                }
            }
            "tally" => {
                counts.tallies += 1;
                counts.last_delivery_ns = now;
                tally_seen = true;
            }
            "resync" => {
                counts.resyncs += 1;
                resynced |= m.topic.as_deref() == Some(topic);
            }
            "subscribed" if m.topic.as_deref() == Some(topic) => *offset = m.offset.unwrap_or(*offset),
            "error" => {
                let code = m.code.as_deref().unwrap_or("?").to_owned();
                *counts.errors.entry(code).or_default() += 1;
            }
            _ => {}
        }
    });
    if read.is_err() {
        counts.unreadable += 1;
        return resynced;
    }
    if tally_seen
        && let Some(connection) = probe
        && let Some(plan) = shared.plan.get()
        && let Ok(tallies) = scan::tallies(text)
    {
        for t in tallies {
            for idea in t.ideas {
                let (id, up) = (idea.id.to_string(), u64::from(idea.up));
                if let Some(intended) = plan.intended_ns(&id, up) {
                    Counts::record_latency_ns(&mut counts.tally_latency, now.saturating_sub(intended));
                }
                if plan.keep_seen
                    && let Some(&i) = plan.index.get(&id)
                {
                    counts.tally_seen.push(Seen {
                        connection,
                        idea: i as u32,
                        up,
                        at_ns: now,
                    });
                }
            }
        }
    }
    resynced
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_count_maps_back_to_the_vote_that_made_it() {
        let plan = VotePlan {
            start_unix_ns: 1_000_000_000,
            rate: 10.0,
            total: 40,
            index: [("a".to_owned(), 0), ("b".to_owned(), 1)].into(),
            keep_seen: false,
        };
        // Vote 0 → a, 1 → b, 2 → a, 3 → b …; b's 2nd vote is vote 3, sent at +0.3 s.
        assert_eq!(plan.intended_ns("b", 2), Some(1_300_000_000));
        assert_eq!(plan.intended_ns("a", 1), Some(1_000_000_000));
        assert_eq!(plan.intended_ns("a", 0), None);
        assert_eq!(plan.intended_ns("a", 21), None, "beyond the storm");
        assert_eq!(plan.intended_ns("c", 1), None);
    }
}
