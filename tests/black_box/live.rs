//! The live connection through a real jamd: cookie and Origin checks, events from writes and from
//! the schedule runner, permission per topic, replay with `since`, and 1001 on shutdown.

use std::collections::VecDeque;
use std::time::Duration as StdDuration;

use awc::ws::{Frame, Message};
use chrono::Duration;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;

/// The default `server.public_origin`, which the tests do not change.
const ORIGIN: &str = "http://127.0.0.1:8080";
const WAIT: StdDuration = StdDuration::from_secs(10);

type Framed = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

struct LiveClient {
    io: Framed,
    pending: VecDeque<Value>,
}

impl LiveClient {
    async fn connect(client: &Client) -> LiveClient {
        Self::try_connect(client, Some(ORIGIN))
            .await
            .unwrap_or_else(|status| panic!("upgrade refused: {status}"))
    }

    async fn try_connect(client: &Client, origin: Option<&str>) -> Result<LiveClient, u16> {
        let mut req = awc::Client::new().ws(format!("{}/api/v1/live", client.base()));
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

    async fn send(&mut self, message: Value) {
        self.io
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// The next message (arrays flattened), or the close code.
    async fn next(&mut self) -> Result<Value, Option<u16>> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(m);
            }
            let frame = actix_rt::time::timeout(WAIT, self.io.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Frame::Text(bytes))) => match serde_json::from_slice::<Value>(&bytes).unwrap() {
                    Value::Array(items) => self.pending.extend(items),
                    one => self.pending.push_back(one),
                },
                Some(Ok(Frame::Ping(p))) => self.io.send(Message::Pong(p)).await.unwrap(),
                Some(Ok(Frame::Close(reason))) => return Err(reason.map(|r| r.code.into())),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{e}"),
                None => return Err(None),
            }
        }
    }

    async fn recv(&mut self) -> Value {
        self.next()
            .await
            .unwrap_or_else(|code| panic!("closed with {code:?}"))
    }

    /// Skips messages (presence, other topics) until one matches.
    async fn recv_until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let m = self.recv().await;
            if wanted(&m) {
                return m;
            }
        }
    }

    async fn subscribe(&mut self, topic: &str, since: Option<(u64, &str)>) -> Value {
        let mut request = json!({ "type": "subscribe", "topic": topic });
        if let Some((offset, epoch)) = since {
            request["since"] = json!(offset);
            request["epoch"] = json!(epoch);
        }
        self.send(request).await;
        self.recv_until(|m| m["topic"] == topic && (m["type"] == "subscribed" || m["type"] == "error"))
            .await
    }
}

fn event_kind(m: &Value) -> &str {
    m["event"]["kind"].as_str().unwrap_or_default()
}

#[actix_rt::test]
async fn writes_and_the_schedule_reach_subscribers_live() {
    let jam = live_jam(Deployment::sqlite(t0()), "live-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[1].1, "Bob").await;

    let mut live = LiveClient::connect(&bob).await;
    let jam_topic = format!("jam:{}", jam.jam_id);
    let session_topic = format!("session:{}", jam.open);
    let subscribed = live.subscribe(&session_topic, None).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(live.subscribe(&jam_topic, None).await["type"], "subscribed");

    let idea = post_idea(&ada, &jam.open, "Live idea", "Seen at once", json!([])).await;
    let created = live
        .recv_until(|m| m["topic"] == session_topic && event_kind(m) == "idea.created")
        .await;
    assert_eq!(created["event"]["idea"]["id"], idea["id"], "{created}");
    let first_offset = created["offset"].as_u64().unwrap();

    let r = jam
        .fac
        .post(
            &format!("/api/v1/jams/{}/announcements", jam.slug),
            json!({ "text": "Coffee at 3" }),
        )
        .await;
    assert_eq!(r.status, 201);
    let announced = live.recv_until(|m| event_kind(m) == "announcement").await;
    assert_eq!(announced["event"]["text"], "Coffee at 3");
    assert_eq!(announced["topic"], jam_topic);

    // The schedule runner closes the session when the clock passes closes_at.
    jam.d.set_clock(t0() + Duration::hours(24));
    let closed = live
        .recv_until(|m| m["topic"] == session_topic && event_kind(m) == "session.closed")
        .await;
    assert_eq!(
        closed["offset"].as_u64().unwrap(),
        first_offset + 1,
        "offsets of a topic increase by one"
    );

    // A reconnect with `since` gets exactly what it missed.
    let epoch = subscribed["epoch"].as_str().unwrap().to_owned();
    drop(live);
    let mut again = LiveClient::connect(&bob).await;
    again
        .send(
            json!({ "type": "subscribe", "topic": session_topic, "since": first_offset - 1, "epoch": epoch }),
        )
        .await;
    let replayed: Vec<Value> = vec![again.recv().await, again.recv().await, again.recv().await];
    assert_eq!(event_kind(&replayed[0]), "idea.created", "{replayed:?}");
    assert_eq!(event_kind(&replayed[1]), "session.closed");
    assert_eq!(replayed[2]["type"], "subscribed");
    assert_eq!(replayed[2]["offset"].as_u64().unwrap(), first_offset + 1);
}

#[actix_rt::test]
async fn the_live_endpoint_checks_the_cookie_the_origin_and_each_topic() {
    let jam = live_jam(Deployment::sqlite(t0()), "live-guard").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    assert_eq!(
        LiveClient::try_connect(&Client::new(&jam.node.base), Some(ORIGIN))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        LiveClient::try_connect(&ada, Some("https://evil.example"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(LiveClient::try_connect(&ada, None).await.err(), Some(403));

    let (other, other_id, other_codes) = create_jam(&jam.fac, "live-other").await;
    let _ = (other, other_codes);
    let mut live = LiveClient::connect(&ada).await;
    let refused = live.subscribe(&format!("jam:{other_id}"), None).await;
    assert_eq!(refused["type"], "error", "{refused}");
    live.send(json!({ "type": "ping", "id": 7 })).await;
    let pong = live.recv_until(|m| m["type"] == "pong").await;
    assert_eq!(
        pong["id"], 7,
        "the connection stays open after a refused subscription"
    );
}

#[actix_rt::test]
async fn shutting_down_closes_live_connections_with_1001() {
    let jam = live_jam(Deployment::sqlite(t0()), "live-bye").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let mut live = LiveClient::connect(&ada).await;
    live.subscribe(&format!("jam:{}", jam.jam_id), None).await;
    let Live { node, d, .. } = jam;
    let stopper = std::thread::spawn(move || node.stop());
    let code = loop {
        match live.next().await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(code, Some(1001));
    assert!(stopper.join().unwrap().success());
    drop(d);
}
