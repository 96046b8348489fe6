//! The siege benchmark (`just bench-siege`): what one node keeps doing while it is attacked cheaply.
//!
//! Three phases of `secs` seconds each, in order:
//! - **quiet**: nothing but the probe, for comparison;
//! - **slowloris**: `sockets` connections, each sending the headers of a sign-in with a large
//!   `Content-Length` and then one byte of the body every `byte_every`; a connection the server
//!   ends (408 or a close) is opened again at once, so the pressure holds for the whole phase;
//! - **login flood**: `logins` clients signing in as the staff account over and over (correct
//!   password, fresh cookie jar), each as soon as its last answer came.
//!
//! Throughout, the **probe** (own connections): a participant votes on one idea (alternately up and
//! withdrawn) every 300 ms and `/healthz` is fetched every 100 ms; every answer's latency is
//! recorded per phase, and any answer but 200 (or no answer within `PROBE_TIMEOUT`) is a failure.
//! The server's resident memory is sampled every `RSS_EVERY` when its pid is given. The goal of
//! each phase: every health check answered 200, the probe's votes at p99 ≤ 1 s with none failed,
//! and the server's RSS under 1 GiB.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Error;
use crate::api::{Api, join, setup};
use crate::http::HttpConn;
use crate::net::{self, Sources};
use crate::stats::{ProcSample, Quantiles, histogram};

/// How often the probe checks health.
const PROBE_EVERY: Duration = Duration::from_millis(100);
/// The probe votes every this many health checks (every 300 ms: 200 a minute, inside the node's
/// default `rate_limits.votes` of 300 a minute per participant).
const VOTE_EVERY_CHECKS: u64 = 3;
/// Longest the probe waits for one answer before counting it failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the server's RSS is read.
const RSS_EVERY: Duration = Duration::from_millis(250);
/// The slow body a slowloris connection announces (it never sends that much): within the node's
/// default `limits.max_body_bytes` (64 KiB), so that the node has to wait for it.
const SLOW_BODY_BYTES: usize = 60_000;
/// The goals of every phase.
const VOTE_P99_GOAL_MS: f64 = 1000.0;
const RSS_GOAL_MIB: f64 = 1024.0;

#[derive(Debug, Clone)]
pub struct SiegeOptions {
    pub addr: SocketAddr,
    pub origin: String,
    pub email: String,
    pub password: String,
    /// The server's pid, for its RSS.
    pub pid: Option<u32>,
    /// Seconds each phase lasts.
    pub secs: u64,
    pub sockets: usize,
    pub byte_every: Duration,
    pub logins: usize,
    pub sources: Sources,
}

/// One phase's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiegeRow {
    pub phase: String,
    /// What the attack was, in words.
    pub attack: String,
    /// What the attack got, by outcome (e.g. `HTTP 408`, `closed`, `HTTP 503`).
    pub outcomes: BTreeMap<String, u64>,
    pub health: Quantiles,
    pub health_failed: u64,
    pub votes: Quantiles,
    pub votes_failed: u64,
    /// The probe's failed answers (health and votes), by what came back.
    pub failures: BTreeMap<String, u64>,
    /// Largest RSS sampled during the phase, MiB (0 when no pid was given).
    pub rss_max_mib: f64,
}

impl SiegeRow {
    pub fn met(&self) -> bool {
        self.health.count > 0
            && self.health_failed == 0
            && self.votes.count > 0
            && self.votes_failed == 0
            && self.votes.p99_ms <= VOTE_P99_GOAL_MS
            && self.rss_max_mib < RSS_GOAL_MIB
    }
}

/// What the probe saw.
struct Probe {
    health: Histogram<u64>,
    health_failed: u64,
    votes: Histogram<u64>,
    votes_failed: u64,
    failures: BTreeMap<String, u64>,
    rss_max_kib: u64,
}

impl Probe {
    fn failed(
        &mut self,
        what: &str,
        answer: &Result<Result<crate::http::Response, impl std::fmt::Display>, tokio::time::error::Elapsed>,
    ) {
        let why = match answer {
            Ok(Ok(r)) => format!("{what} HTTP {}", r.status),
            Ok(Err(e)) => format!("{what} {e}"),
            Err(_) => format!("{what} no answer in {} s", PROBE_TIMEOUT.as_secs()),
        };
        *self.failures.entry(why).or_default() += 1;
    }
}

/// Runs the quiet phase, the slowloris phase and the login flood; one row each.
pub async fn run(opts: &SiegeOptions) -> Result<Vec<SiegeRow>, Error> {
    let fixture = setup(opts.addr, &opts.origin, &opts.email, &opts.password, 1).await?;
    let idea = fixture
        .vote_ideas
        .first()
        .cloned()
        .ok_or_else(|| Error::Protocol("the fixture has no idea".into()))?;
    let voter = join(
        opts.addr,
        None,
        &opts.origin,
        &fixture.slug,
        &fixture.invite_code,
        "Probe",
    )
    .await?;
    let mut voter = Some(voter);
    let mut rows = Vec::new();
    for phase in ["quiet", "slowloris", "login flood"] {
        let Some(api) = voter.take() else { break };
        let stop = Arc::new(AtomicBool::new(false));
        let probe = tokio::spawn(probe(opts.clone(), api, idea.clone(), stop.clone()));
        let deadline = Instant::now() + Duration::from_secs(opts.secs);
        let (attack, outcomes) = match phase {
            "slowloris" => (
                format!(
                    "{} sockets, 1 byte of a sign-in body every {} s",
                    opts.sockets,
                    opts.byte_every.as_secs()
                ),
                slowloris(opts, deadline).await,
            ),
            "login flood" => (
                format!("{} concurrent sign-ins, closed loop", opts.logins),
                login_flood(opts, deadline).await,
            ),
            _ => {
                tokio::time::sleep_until(deadline.into()).await;
                ("none".to_owned(), BTreeMap::new())
            }
        };
        stop.store(true, Ordering::Relaxed);
        let (api, seen) = probe
            .await
            .map_err(|e| Error::Protocol(format!("the probe panicked: {e}")))?;
        voter = Some(api);
        rows.push(SiegeRow {
            phase: phase.to_owned(),
            attack,
            outcomes,
            health: Quantiles::of(&seen.health),
            health_failed: seen.health_failed,
            votes: Quantiles::of(&seen.votes),
            votes_failed: seen.votes_failed,
            failures: seen.failures,
            rss_max_mib: seen.rss_max_kib as f64 / 1024.0,
        });
    }
    Ok(rows)
}

/// Checks health every `PROBE_EVERY` and votes every `VOTE_EVERY_CHECKS` checks until `stop`, and
/// samples the server's RSS.
async fn probe(opts: SiegeOptions, mut voter: Api, idea: String, stop: Arc<AtomicBool>) -> (Api, Probe) {
    let mut seen = Probe {
        health: histogram(),
        health_failed: 0,
        votes: histogram(),
        votes_failed: 0,
        failures: BTreeMap::new(),
        rss_max_kib: 0,
    };
    let mut health = HttpConn::new(opts.addr, None);
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_rss = Instant::now() - RSS_EVERY;
    let mut value = 1;
    let mut checks: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        checks += 1;
        if let Some(pid) = opts.pid
            && last_rss.elapsed() >= RSS_EVERY
        {
            last_rss = Instant::now();
            if let Some(sample) = ProcSample::read(pid) {
                seen.rss_max_kib = seen.rss_max_kib.max(sample.rss_kib);
            }
        }
        let started = Instant::now();
        let answer = tokio::time::timeout(PROBE_TIMEOUT, health.request("GET", "/healthz", &[], None)).await;
        match &answer {
            Ok(Ok(r)) if r.status == 200 => record(&mut seen.health, started),
            _ => {
                seen.health_failed += 1;
                seen.failed("healthz", &answer);
            }
        }
        if !checks.is_multiple_of(VOTE_EVERY_CHECKS) {
            continue;
        }
        let started = Instant::now();
        let body = json!({ "value": value });
        let answer = tokio::time::timeout(
            PROBE_TIMEOUT,
            voter.send("PUT", &format!("/ideas/{idea}/vote"), Some(&body)),
        )
        .await;
        match &answer {
            Ok(Ok(r)) if r.status == 200 => record(&mut seen.votes, started),
            _ => {
                seen.votes_failed += 1;
                seen.failed("vote", &answer);
            }
        }
        value = 1 - value;
    }
    (voter, seen)
}

fn record(h: &mut Histogram<u64>, started: Instant) {
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(micros.max(1));
}

/// `sockets` slow sign-in bodies until `deadline`, each reopened when the server ends it.
async fn slowloris(opts: &SiegeOptions, deadline: Instant) -> BTreeMap<String, u64> {
    let tasks: Vec<_> = (0..opts.sockets)
        .map(|i| {
            let (addr, source, every) = (opts.addr, opts.sources.pick(i), opts.byte_every);
            let head = format!(
                "POST /api/v1/auth/login HTTP/1.1\r\nhost: {addr}\r\norigin: {}\r\n\
                 content-type: application/json\r\ncontent-length: {SLOW_BODY_BYTES}\r\n\r\n",
                opts.origin
            );
            tokio::spawn(async move {
                let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
                while Instant::now() < deadline {
                    let outcome = slow_request(addr, source, &head, every, deadline).await;
                    *outcomes.entry(outcome).or_default() += 1;
                }
                outcomes
            })
        })
        .collect();
    let mut all: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        if let Ok(outcomes) = task.await {
            for (k, v) in outcomes {
                *all.entry(k).or_default() += v;
            }
        }
    }
    all
}

/// One slow request: how it ended (`HTTP nnn`, `closed`, `refused`, or `open at the end`).
async fn slow_request(
    addr: SocketAddr,
    source: Option<std::net::Ipv4Addr>,
    head: &str,
    every: Duration,
    deadline: Instant,
) -> String {
    let Ok(mut stream) = net::connect(addr, source).await else {
        // Refused connections come back at once; wait a beat so the attack stays a steady pressure.
        tokio::time::sleep(every.min(Duration::from_secs(1))).await;
        return "connect refused".into();
    };
    if stream.write_all(head.as_bytes()).await.is_err() {
        return "closed".into();
    }
    let mut answer = [0u8; 64];
    let mut next_byte = Instant::now() + every;
    loop {
        tokio::select! {
            read = stream.read(&mut answer) => {
                let outcome = match read {
                    Ok(n) if n >= 12 => {
                        let status = String::from_utf8_lossy(&answer[9..12]).into_owned();
                        format!("HTTP {status}")
                    }
                    _ => "closed".into(),
                };
                // An attacker refused comes back, but not in a tight loop: the attack is the slow
                // bodies, not a connection storm.
                if outcome != "HTTP 408" {
                    tokio::time::sleep(every.min(Duration::from_secs(1))).await;
                }
                return outcome;
            }
            () = tokio::time::sleep_until(next_byte.min(deadline).into()) => {
                if Instant::now() >= deadline {
                    return "open at the end".into();
                }
                if stream.write_all(b" ").await.is_err() {
                    return "closed".into();
                }
                next_byte += every;
            }
        }
    }
}

/// `logins` clients signing in over and over until `deadline`; answers by status.
async fn login_flood(opts: &SiegeOptions, deadline: Instant) -> BTreeMap<String, u64> {
    let body = json!({ "email": opts.email, "password": opts.password });
    let tasks: Vec<_> = (0..opts.logins)
        .map(|i| {
            let mut api = Api::new(opts.addr, opts.sources.pick(i), &opts.origin);
            let body = body.clone();
            tokio::spawn(async move {
                let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
                while Instant::now() < deadline {
                    api.clear_cookie();
                    let outcome = match api.send("POST", "/auth/login", Some(&body)).await {
                        Ok(r) => format!("HTTP {}", r.status),
                        Err(e) => e.kind(),
                    };
                    *outcomes.entry(outcome).or_default() += 1;
                }
                outcomes
            })
        })
        .collect();
    let mut all: BTreeMap<String, u64> = BTreeMap::new();
    for task in tasks {
        if let Ok(outcomes) = task.await {
            for (k, v) in outcomes {
                *all.entry(k).or_default() += v;
            }
        }
    }
    all
}

/// The markdown table of the rows, with each phase's goal.
pub fn table(rows: &[SiegeRow]) -> String {
    let mut out = String::from(
        "| phase | attack | what the attack got | /healthz ok, p99 ms | vote p50 / p99 / max ms (failed) | RSS max MiB | goal (health all 200, vote p99 ≤ 1 s, RSS < 1 GiB) |\n\
         |---|---|---|---|---|---:|---|\n",
    );
    for r in rows {
        let outcomes = if r.outcomes.is_empty() {
            "—".to_owned()
        } else {
            r.outcomes
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} | {} | {} | {}/{}, {:.1} | {:.1} / {:.1} / {:.1} ({}) | {:.0} | {} |\n",
            r.phase,
            r.attack,
            outcomes,
            r.health.count,
            r.health.count + r.health_failed,
            r.health.p99_ms,
            r.votes.p50_ms,
            r.votes.p99_ms,
            r.votes.max_ms,
            r.votes_failed,
            r.rss_max_mib,
            if r.met() { "met" } else { "**missed**" },
        ));
    }
    let failures: Vec<String> = rows
        .iter()
        .filter(|r| !r.failures.is_empty())
        .map(|r| {
            let why: Vec<String> = r.failures.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("- {}: the probe's failures: {}\n", r.phase, why.join(", "))
        })
        .collect();
    if !failures.is_empty() {
        out.push('\n');
        out.push_str(&failures.concat());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(health_failed: u64, votes_p99_ms: f64, votes_failed: u64, rss_max_mib: f64) -> SiegeRow {
        let q = |p99_ms| Quantiles {
            count: 100,
            p50_ms: 1.0,
            p99_ms,
            max_ms: p99_ms,
        };
        SiegeRow {
            phase: "slowloris".into(),
            attack: "a".into(),
            outcomes: BTreeMap::new(),
            health: q(5.0),
            health_failed,
            votes: q(votes_p99_ms),
            votes_failed,
            failures: BTreeMap::new(),
            rss_max_mib,
        }
    }

    #[test]
    fn a_phase_meets_the_goal_only_when_every_condition_holds() {
        assert!(row(0, 999.0, 0, 1000.0).met());
        assert!(!row(1, 10.0, 0, 100.0).met(), "a failed health check");
        assert!(!row(0, 1001.0, 0, 100.0).met(), "slow votes");
        assert!(!row(0, 10.0, 1, 100.0).met(), "a failed vote");
        assert!(!row(0, 10.0, 0, 1024.0).met(), "too much memory");
        assert!(table(&[row(0, 1001.0, 0, 1.0)]).contains("**missed**"));
    }
}
