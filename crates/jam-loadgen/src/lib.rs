//! `jam-loadgen`: load for the live hub through the public protocol only (the HTTP API and the live
//! WebSocket of `spec/live.md`), and the measurements the hub benchmark reports.
//!
//! Layout:
//! - `net`: sockets bound to chosen 127.0.0.x source addresses; the open-files limit.
//! - `http`: a minimal keep-alive HTTP/1.1 client.
//! - `api`: staff sign-in, the jam and session set-up (`Fixture`), joining, through the HTTP API.
//! - `live`: one live connection (upgrade, subscribe) and the listener that measures its frames.
//! - `scan`: reading server frames cheaply (borrowed fields, the rest skipped).
//! - `drive`: open-loop drivers of ideas (the broadcast's events) and votes.
//! - `abuse`: clients that break the protocol's rules, and what the server answered.
//! - `stats`: counts and HdrHistograms in shards; `/proc` samples of the server (one pid, or every
//!   process of a command such as `postgres`); acknowledged votes timed to the tallies that show them.
//! - `joins`: the join benchmark: a crowd of fresh browsers joining by code, then by personal invite.
//! - `run`: one process's run: set-up, ramp, then the phases on a fixed timeline.
//! - `report`: the markdown summary of a run, the hub benchmark's table over several runs, and the
//!   vote benchmark's rows and goals (`scripts/bench-vote-http.sh`).
//!
//! Measuring without lying: events are sent on an open-loop schedule and carry their *intended*
//! send time, so latency counts from when the event should have left even when the driver or the
//! server fell behind (no coordinated omission). Offsets are tracked per connection: any jump is a
//! gap. Each connection keeps a small read buffer (`DESIGN.md` §8).

pub mod abuse;
pub mod api;
pub mod drive;
pub mod http;
pub mod joins;
pub mod live;
pub mod net;
pub mod report;
pub mod run;
pub mod scan;
pub mod siege;
pub mod stats;

pub use api::Fixture;
pub use run::{Options, PhaseReport, Report, run};

/// Why a load-generator step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad configuration: {0}")]
    Config(String),
    #[error("cannot connect to {0}: {1}")]
    Connect(std::net::SocketAddr, #[source] std::io::Error),
    #[error(transparent)]
    Http(#[from] http::HttpError),
    #[error("{what} answered {status}: {body}")]
    Refused { what: String, status: u16, body: String },
    #[error("the live upgrade was refused with HTTP {0}")]
    Upgrade(u16),
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl Error {
    /// A short name to count errors of one kind together.
    pub fn kind(&self) -> String {
        match self {
            Error::Config(_) => "config".into(),
            Error::Connect(_, e) => format!("connect: {}", e.kind()),
            Error::Http(_) => "http".into(),
            Error::Refused { status, .. } => format!("HTTP {status}"),
            Error::Upgrade(status) => format!("upgrade refused {status}"),
            Error::Ws(e) => format!("websocket: {e}"),
            Error::Protocol(m) => {
                let short: String = m.chars().take(60).collect();
                format!("protocol: {short}")
            }
        }
    }
}
