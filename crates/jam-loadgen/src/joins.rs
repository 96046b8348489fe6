//! The join benchmark (`just bench-join`): a crowd arriving at once, each person a fresh browser.
//!
//! One jam with two audiences: `employee` joins with the shared code, `partners` with one-time
//! personal invites. Phase one sends `joins` code joins; phase two issues `invites` invites (in
//! requests of at most `invites_per_request`, as a facilitator would) and redeems each once. Each
//! phase runs `clients` closed-loop workers over keep-alive connections spread across loopback
//! source addresses; every request carries no cookie, as a new browser's would, so each success is a
//! new participant. A request's latency is from its send to its answer (as `ab` measures), and the
//! phase's rate is its successes over its wall time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Error;
use crate::api::Api;
use crate::net::Sources;
use crate::stats::{Quantiles, histogram};

/// What the benchmark does.
#[derive(Debug, Clone)]
pub struct JoinOptions {
    pub addr: SocketAddr,
    pub origin: String,
    pub email: String,
    pub password: String,
    /// Where it runs, for the table (`sqlite`, `postgres`).
    pub backend: String,
    /// Code joins in phase one (0 skips it).
    pub joins: usize,
    /// Invites issued and redeemed in phase two (0 skips it).
    pub invites: usize,
    /// Most invites one issuing request asks for (the server's `limits.invites_per_request`).
    pub invites_per_request: usize,
    /// Concurrent clients of each phase.
    pub clients: usize,
    pub sources: Sources,
}

/// One phase's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseRow {
    /// Where it ran (`sqlite`, `postgres`).
    pub backend: String,
    pub phase: String,
    /// Requests sent.
    pub sent: usize,
    /// Answers 2xx: new participants.
    pub joined: u64,
    /// Other answers, by status.
    pub refused: BTreeMap<u16, u64>,
    /// Requests with no answer (connection errors).
    pub errors: u64,
    pub secs: f64,
    /// Latency of the successful joins.
    pub latency: Quantiles,
}

impl PhaseRow {
    pub fn per_sec(&self) -> f64 {
        if self.secs > 0.0 {
            self.joined as f64 / self.secs
        } else {
            0.0
        }
    }
}

/// The jam both phases join, created by a staff sign-in.
struct JoinJam {
    staff: Api,
    slug: String,
    code: String,
}

async fn create_jam(opts: &JoinOptions) -> Result<JoinJam, Error> {
    let mut staff = Api::new(opts.addr, None, &opts.origin);
    staff
        .expect(
            "POST",
            "/auth/login",
            Some(&json!({ "email": opts.email, "password": opts.password })),
            200,
        )
        .await?;
    let now = Utc::now();
    let slug = format!("joins-{}", now.timestamp_millis());
    let jam = staff
        .expect(
            "POST",
            "/jams",
            Some(&json!({
                "slug": slug,
                "title": "Join benchmark",
                "description": "Created by jam-loadgen join-bench.",
                "guidelines": "Be kind.",
                "starts_at": now - Duration::minutes(1),
                "ends_at": now + Duration::days(3),
                "audiences": [
                    { "name": "employee", "invite_code": format!("{slug}-code") },
                    { "name": "partners", "admission": "invite" },
                ],
            })),
            201,
        )
        .await?;
    let code = jam
        .pointer("/audiences/0/invite_code")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Protocol(format!("no invite code in {jam}")))?
        .to_owned();
    staff
        .expect(
            "POST",
            &format!("/jams/{slug}/sessions"),
            Some(&json!({
                "title": "Ideas",
                "opens_at": now - Duration::minutes(1),
                "closes_at": now + Duration::days(2),
            })),
            201,
        )
        .await?;
    staff
        .expect("POST", &format!("/jams/{slug}/schedule"), Some(&json!({})), 200)
        .await?;
    Ok(JoinJam { staff, slug, code })
}

/// Issues `count` invites to `partners` and returns their tokens (from the links of the CSV).
async fn issue_invites(jam: &mut JoinJam, count: usize, per_request: usize) -> Result<Vec<String>, Error> {
    let mut tokens = Vec::with_capacity(count);
    while tokens.len() < count {
        let n = (count - tokens.len()).min(per_request.max(1));
        let path = format!("/jams/{}/audiences/partners/invites", jam.slug);
        let answer = jam
            .staff
            .send("POST", &path, Some(&json!({ "count": n })))
            .await?;
        if answer.status != 201 {
            return Err(Error::Refused {
                what: format!("POST {path}"),
                status: answer.status,
                body: String::from_utf8_lossy(&answer.body).chars().take(300).collect(),
            });
        }
        let csv = String::from_utf8_lossy(&answer.body);
        let before = tokens.len();
        tokens.extend(csv.lines().skip(1).filter_map(|line| {
            line.rsplit_once("invite=")
                .map(|(_, token)| token.trim().to_owned())
        }));
        if tokens.len() - before != n {
            return Err(Error::Protocol(format!(
                "asked for {n} invites, the CSV had {}",
                tokens.len() - before
            )));
        }
    }
    Ok(tokens)
}

/// Runs `total` joins through `clients` workers; `body(i)` is the i-th join's request body.
async fn phase(
    opts: &JoinOptions,
    name: &'static str,
    slug: &str,
    total: usize,
    body: Arc<dyn Fn(usize) -> Value + Send + Sync>,
) -> PhaseRow {
    let next = Arc::new(AtomicUsize::new(0));
    let path = format!("/jams/{slug}/join");
    let started = Instant::now();
    let mut workers = Vec::with_capacity(opts.clients);
    for w in 0..opts.clients.max(1) {
        let (next, body, path) = (next.clone(), body.clone(), path.clone());
        let mut api = Api::new(opts.addr, opts.sources.pick(w), &opts.origin);
        workers.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut refused: BTreeMap<u16, u64> = BTreeMap::new();
            let (mut joined, mut errors) = (0u64, 0u64);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                api.clear_cookie();
                let sent = Instant::now();
                match api.send("POST", &path, Some(&body(i))).await {
                    Ok(r) if (200..300).contains(&r.status) => {
                        joined += 1;
                        let micros = sent.elapsed().as_micros() as u64;
                        crate::stats::Counts::record_latency_ns(&mut hist, micros * 1000);
                    }
                    Ok(r) => *refused.entry(r.status).or_default() += 1,
                    Err(_) => errors += 1,
                }
            }
            (hist, refused, joined, errors)
        }));
    }
    let mut hist = histogram();
    let mut refused: BTreeMap<u16, u64> = BTreeMap::new();
    let (mut joined, mut errors) = (0u64, 0u64);
    for worker in workers {
        match worker.await {
            Ok((h, r, j, e)) => {
                let _ = hist.add(&h);
                for (status, n) in r {
                    *refused.entry(status).or_default() += n;
                }
                joined += j;
                errors += e;
            }
            Err(_) => errors += 1,
        }
    }
    PhaseRow {
        backend: opts.backend.clone(),
        phase: name.to_owned(),
        sent: total,
        joined,
        refused,
        errors,
        secs: started.elapsed().as_secs_f64(),
        latency: Quantiles::of(&hist),
    }
}

/// Both phases against one node; returns a row per phase run.
pub async fn run(opts: &JoinOptions) -> Result<Vec<PhaseRow>, Error> {
    let mut jam = create_jam(opts).await?;
    let mut rows = Vec::new();
    if opts.joins > 0 {
        let code = jam.code.clone();
        let body = Arc::new(move |i: usize| {
            json!({
                "invite_code": code,
                "display_name": format!("Joiner {i}"),
                "accept_guidelines": true,
            })
        });
        rows.push(phase(opts, "code join", &jam.slug, opts.joins, body).await);
    }
    if opts.invites > 0 {
        let tokens = Arc::new(issue_invites(&mut jam, opts.invites, opts.invites_per_request).await?);
        let body = Arc::new(move |i: usize| {
            json!({
                "invite_code": "",
                "invite_token": tokens[i],
                "display_name": format!("Partner {i}"),
                "accept_guidelines": true,
            })
        });
        rows.push(phase(opts, "invite redemption", &jam.slug, opts.invites, body).await);
    }
    Ok(rows)
}

/// The goals of issue 14: each phase's joins all succeed, within 60 s, p99 ≤ 500 ms.
pub const GOAL_SECS: f64 = 60.0;
pub const GOAL_P99_MS: f64 = 500.0;

/// A markdown table of the rows, one per (backend, phase), with the goals.
pub fn table(rows: &[PhaseRow]) -> String {
    let mut out = String::from(
        "| backend | phase | joins | all admitted | seconds | joins/s | p50 ms | p99 ms | max ms | goal (≤ 60 s, p99 ≤ 500 ms) |\n\
         |---|---|---:|---|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let all = r.joined as usize == r.sent;
        let met = all && r.secs <= GOAL_SECS && r.latency.p99_ms <= GOAL_P99_MS;
        let not_admitted = if all {
            "yes".to_owned()
        } else {
            let statuses: Vec<String> = r.refused.iter().map(|(s, n)| format!("{n}× {s}")).collect();
            format!("no: {} errors, {}", r.errors, statuses.join(", "))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {not_admitted} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {} |\n",
            r.backend,
            r.phase,
            r.sent,
            r.secs,
            r.per_sec(),
            r.latency.p50_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
            if met { "met" } else { "**missed**" },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(backend: &str, joined: u64, secs: f64, p99_ms: f64) -> PhaseRow {
        PhaseRow {
            backend: backend.into(),
            phase: "code join".into(),
            sent: 100,
            joined,
            refused: if joined < 100 {
                BTreeMap::from([(429, 100 - joined)])
            } else {
                BTreeMap::new()
            },
            errors: 0,
            secs,
            latency: Quantiles {
                count: joined,
                p50_ms: 1.0,
                p99_ms,
                max_ms: p99_ms,
            },
        }
    }

    #[test]
    fn a_phase_meets_the_goal_only_when_everyone_got_in_fast_enough() {
        let t = table(&[
            row("sqlite", 100, 10.0, 120.0),
            row("sqlite", 99, 10.0, 120.0),
            row("postgres", 100, 61.0, 120.0),
            row("postgres", 100, 10.0, 501.0),
        ]);
        let goals: Vec<&str> = t
            .lines()
            .skip(2)
            .map(|l| l.rsplit('|').nth(1).unwrap_or("").trim())
            .collect();
        assert_eq!(goals, ["met", "**missed**", "**missed**", "**missed**"], "{t}");
        assert!(t.contains("no: 0 errors, 1× 429"), "{t}");
        assert!(t.contains("| 10 |"), "rate of 100 joins in 10 s: {t}");
    }
}
