//! Abusive clients, each doing one thing the live protocol refuses, over and over until a deadline,
//! and what the server answered each time (`spec/live.md`: errors, then close 1008/1009/4008).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::live::{self, Target, Ws};
use crate::scan;

/// How long one abuse attempt may wait for the server's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(30);
/// Requests a misbehaving client sends per attempt (the server closes after 20 failures in a row).
const BAD_REQUESTS: usize = 25;

/// What one kind of abuser saw over all its attempts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbuseReport {
    pub kind: String,
    pub expected: String,
    pub attempts: u64,
    /// What attempts ended with, e.g. `close 1008` or `reset without close`, with counts.
    pub outcomes: BTreeMap<String, u64>,
    /// `error` frames received, by code.
    pub errors: BTreeMap<String, u64>,
    /// Every attempt ended as expected.
    pub met: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    MalformedJson,
    UnknownType,
    HugeFrame,
    SubscriptionFlood,
    NeverReads,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::MalformedJson,
        Kind::UnknownType,
        Kind::HugeFrame,
        Kind::SubscriptionFlood,
        Kind::NeverReads,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::MalformedJson => "malformed JSON",
            Kind::UnknownType => "unknown types",
            Kind::HugeFrame => "10 MB frame",
            Kind::SubscriptionFlood => "10,000 subscriptions",
            Kind::NeverReads => "never reads",
        }
    }

    /// What `spec/live.md` says the attempt ends with.
    fn expected(self) -> &'static [&'static str] {
        match self {
            Kind::MalformedJson | Kind::UnknownType | Kind::SubscriptionFlood => &["close 1008"],
            Kind::HugeFrame => &["close 1009"],
            // A slow consumer's topic is resynced ("too slow"); if it still reads nothing, 4008. A
            // client whose socket buffers absorb all it is sent never overflows its queue, but it is
            // silent: closed (1000) once `live.client_timeout_secs` pass without a word from it. The
            // close frame then waits behind the bytes the client has not read, and the node drops
            // the connection when it cannot write it (actix-http's disconnect timeout), so a client
            // that reads only after that finds the data and then the end of the stream.
            Kind::NeverReads => &[
                "close 4008",
                "resync too slow",
                "close 1000",
                "reset without close",
            ],
        }
    }
}

/// What the abuser may use.
pub struct Abuser {
    pub kind: Kind,
    pub target: Target,
    pub source: Option<Ipv4Addr>,
    pub session_topic: String,
    /// Readable topics (jam, session, ideas) for the subscription flood.
    pub topics: Vec<String>,
}

impl Abuser {
    /// Repeats the abuse until `deadline` (the never-reading client holds one connection that long).
    pub async fn run(self, deadline: Instant) -> AbuseReport {
        let mut report = AbuseReport {
            kind: self.kind.name().to_owned(),
            expected: self.kind.expected().join(" or "),
            attempts: 0,
            outcomes: BTreeMap::new(),
            errors: BTreeMap::new(),
            met: true,
        };
        loop {
            let outcome = match live::open(&self.target, self.source, self.recv_buffer()).await {
                Ok(ws) => self.attempt(ws, deadline, &mut report.errors).await,
                Err(e) => format!("refused: {e}"),
            };
            report.attempts += 1;
            if !self.kind.expected().contains(&outcome.as_str()) {
                report.met = false;
            }
            *report.outcomes.entry(outcome).or_default() += 1;
            if Instant::now() >= deadline || matches!(self.kind, Kind::NeverReads) {
                break;
            }
            // Pace the reconnects so the abuse stays a steady pressure rather than a connect storm.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        report
    }

    fn recv_buffer(&self) -> Option<u32> {
        // A small window, so that the server's side of the socket fills quickly.
        matches!(self.kind, Kind::NeverReads).then_some(4096)
    }

    async fn attempt(&self, mut ws: Ws, deadline: Instant, errors: &mut BTreeMap<String, u64>) -> String {
        let frames: Vec<String> = match self.kind {
            Kind::MalformedJson => (0..BAD_REQUESTS).map(|_| "{not json".to_owned()).collect(),
            Kind::UnknownType => (0..BAD_REQUESTS)
                .map(|i| json!({ "type": "dance", "n": i }).to_string())
                .collect(),
            Kind::HugeFrame => {
                vec![format!(
                    r#"{{"type":"ping","id":"{}"}}"#,
                    "x".repeat(10 * 1024 * 1024)
                )]
            }
            Kind::SubscriptionFlood => (0..10_000)
                .filter_map(|i| self.topics.get(i % self.topics.len().max(1)))
                .map(|topic| json!({ "type": "subscribe", "topic": topic }).to_string())
                .collect(),
            Kind::NeverReads => {
                // The session and the jam (whose ticker repeats each new idea): twice the frames.
                for topic in [Some(&self.session_topic), self.topics.first()]
                    .into_iter()
                    .flatten()
                {
                    if let Err(e) = live::subscribe(&mut ws, topic).await {
                        return format!("subscribe failed: {e}");
                    }
                }
                // Read nothing until the phase ends: the server must not let this stall anyone else.
                tokio::time::sleep_until(deadline).await;
                // Then read what piled up; silence then means the server kept the connection open.
                return read_to_end(&mut ws, errors, Duration::from_secs(3)).await;
            }
        };
        // Write and read at once: the server answers (and may close) before the client is done
        // writing, and then stops reading, so a client that only wrote would wait on a full socket.
        let (mut sink, mut stream) = ws.split();
        let writer = async move {
            for frame in frames {
                if sink.send(Message::text(frame)).await.is_err() {
                    break;
                }
            }
            // Keep the sink (and so the socket) open until the reader has the server's answer.
            std::future::pending::<()>().await;
        };
        tokio::select! {
            // Never taken: the writer waits forever once it has written.
            () = writer => "writer ended".to_owned(),
            end = read_to_end(&mut stream, errors, ANSWER_WAIT) => end,
        }
    }
}

/// Reads until the connection ends or stays silent for `idle`; returns how it ended: `close N`,
/// `resync too slow` (that resync came and the connection stayed open or broke), `no answer`.
async fn read_to_end<S>(stream: &mut S, errors: &mut BTreeMap<String, u64>, idle: Duration) -> String
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut resynced = false;
    let read = async {
        loop {
            let message = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(message)) => message,
                Ok(None) => return "reset without close".to_owned(),
                Err(_) => return "no answer".to_owned(),
            };
            match message {
                Ok(Message::Text(text)) => {
                    if let Ok(messages) = scan::messages(&text) {
                        for m in messages {
                            match &*m.kind {
                                "error" => {
                                    let code = m.code.as_deref().unwrap_or("?").to_owned();
                                    *errors.entry(code).or_default() += 1;
                                }
                                "resync" if m.reason.as_deref() == Some("too slow") => resynced = true,
                                _ => {}
                            }
                        }
                    }
                }
                Ok(Message::Close(frame)) => {
                    return match frame {
                        Some(f) => format!("close {}", u16::from(f.code)),
                        None => "close without code".to_owned(),
                    };
                }
                Ok(_) => {}
                Err(_) => return "reset without close".to_owned(),
            }
        }
    };
    let end = read.await;
    if resynced && (end == "no answer" || end == "reset without close") {
        return "resync too slow".to_owned();
    }
    end
}
