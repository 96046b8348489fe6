//! The open-loop drivers: ideas posted (the broadcast's events) and votes cast, each at its
//! intended time whatever happened to the previous ones, so a slow server cannot slow the schedule
//! down and hide its own latency (no coordinated omission). Latencies count from the intended time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::Api;
use crate::scan;
use crate::stats::{Ack, Counts, histogram, now_unix_ns};

/// The tokio instant of a Unix time (ns), for sleeping until it.
pub fn instant_at(unix_ns: u64) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    let now_unix = now_unix_ns();
    if unix_ns >= now_unix {
        now + Duration::from_nanos(unix_ns - now_unix)
    } else {
        now.checked_sub(Duration::from_nanos(now_unix - unix_ns))
            .unwrap_or(now)
    }
}

/// What a driver did.
#[derive(Debug)]
pub struct Driven {
    pub sent: u64,
    pub ok: u64,
    /// Failures by HTTP status or error (refusals included, as `HTTP 503`).
    pub failed: BTreeMap<String, u64>,
    /// Answers 503: the server refused the request as over its budget (to be retried later).
    pub refused: u64,
    /// From each request's intended time to its answer: all answers, the 2xx ones, the 503 ones.
    pub latency: Histogram<u64>,
    pub ok_latency: Histogram<u64>,
    pub refused_latency: Histogram<u64>,
    /// Votes acknowledged with the count their answer reported (votes only).
    pub acks: Vec<Ack>,
    /// When the first request was due and when the last answer came (Unix ns).
    pub first_ns: u64,
    pub last_answer_ns: u64,
}

/// One answer: its status and, for an acknowledged vote, its idea (index in the storm's list) and
/// the idea's `up` count the answer reported.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub counted: Option<(u32, u64)>,
}

impl Driven {
    /// No request yet, the schedule starting at `first_ns`.
    fn nothing_yet(first_ns: u64) -> Driven {
        Driven {
            sent: 0,
            ok: 0,
            failed: BTreeMap::new(),
            refused: 0,
            latency: histogram(),
            ok_latency: histogram(),
            refused_latency: histogram(),
            acks: Vec::new(),
            first_ns,
            last_answer_ns: first_ns,
        }
    }

    /// Requests answered per second, from the first one's intended time to the last answer: below
    /// the asked rate when the server answered more slowly than the schedule sent.
    pub fn achieved_rate(&self) -> f64 {
        per_sec(self.ok, self.answer_span_secs())
    }

    /// Seconds from the first request's intended time to the last answer.
    pub fn answer_span_secs(&self) -> f64 {
        self.last_answer_ns.saturating_sub(self.first_ns) as f64 / 1e9
    }
}

/// `n` per second over `secs`; zero over no time.
pub fn per_sec(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// HTTP clients shared by the requests in flight; a request waits for a free one.
struct Pool {
    free: Mutex<Vec<Api>>,
    permits: Semaphore,
}

impl Pool {
    fn new(apis: Vec<Api>) -> Arc<Pool> {
        let n = apis.len();
        Arc::new(Pool {
            free: Mutex::new(apis),
            permits: Semaphore::new(n),
        })
    }

    /// Runs `f` with a free client; gives up (without sending) when none is free by `give_up`.
    async fn run<F, Fut>(&self, give_up: tokio::time::Instant, f: F) -> Result<Answer, String>
    where
        F: FnOnce(Api) -> Fut,
        Fut: std::future::Future<Output = (Api, Result<Answer, String>)>,
    {
        let Ok(permit) = tokio::time::timeout_at(give_up, self.permits.acquire()).await else {
            return Err(NOT_SENT.into());
        };
        let Ok(_permit) = permit else {
            return Err("pool closed".into());
        };
        let api = self.free.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let Some(api) = api else {
            return Err("no free client".into());
        };
        let (api, result) = f(api).await;
        self.free.lock().unwrap_or_else(PoisonError::into_inner).push(api);
        result
    }
}

/// A request still waiting for a free client when its phase ended: never sent.
pub const NOT_SENT: &str = "not sent by the phase end (server behind)";

/// Runs `count` requests, the `k`-th at `start + k / rate`, each through `one(k, api)`. Requests
/// that find no free client before `give_up_unix_ns` are not sent (counted under `NOT_SENT`).
///
/// The requests run on a thread and runtime of their own: the load generator's main runtime is busy
/// reading thousands of sockets, and a request queued behind those reads would be timed as if the
/// server had been slow.
async fn open_loop<F, Fut>(
    apis: Vec<Api>,
    window_unix_ns: (u64, u64),
    rate: f64,
    count: u64,
    one: F,
) -> Driven
where
    F: Fn(u64, u64, Api) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Api, Result<Answer, String>)> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("loadgen-driver".into())
        .spawn(move || {
            let driven = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(schedule(apis, window_unix_ns, rate, count, one)));
            let _ = tx.send(driven);
        });
    let failed = |why: String| {
        let mut driven = Driven::nothing_yet(window_unix_ns.0);
        driven.failed.insert(why, count);
        driven
    };
    if let Err(e) = spawned {
        return failed(format!("driver thread: {e}"));
    }
    match rx.await {
        Ok(Ok(driven)) => driven,
        Ok(Err(e)) => failed(format!("driver runtime: {e}")),
        Err(_) => failed("driver thread ended early".into()),
    }
}

async fn schedule<F, Fut>(
    apis: Vec<Api>,
    (start_unix_ns, give_up_unix_ns): (u64, u64),
    rate: f64,
    count: u64,
    one: F,
) -> Driven
where
    F: Fn(u64, u64, Api) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Api, Result<Answer, String>)> + Send + 'static,
{
    let pool = Pool::new(apis);
    let one = Arc::new(one);
    let mut tasks = JoinSet::new();
    let mut driven = Driven::nothing_yet(start_unix_ns);
    let interval_ns = 1e9 / rate.max(1e-9);
    for k in 0..count {
        let intended = start_unix_ns + (k as f64 * interval_ns) as u64;
        tokio::time::sleep_until(instant_at(intended)).await;
        let pool = pool.clone();
        let one = one.clone();
        let give_up = instant_at(give_up_unix_ns);
        tasks.spawn(async move {
            let result = pool.run(give_up, |api| one(k, intended, api)).await;
            (intended, result, now_unix_ns())
        });
        driven.sent += 1;
        // Collect what has finished, so the set does not grow with the run.
        while let Some(done) = tasks.try_join_next() {
            tally(&mut driven, done);
        }
    }
    while let Some(done) = tasks.join_next().await {
        tally(&mut driven, done);
    }
    driven
}

type Done = Result<(u64, Result<Answer, String>, u64), tokio::task::JoinError>;

fn tally(driven: &mut Driven, done: Done) {
    match done {
        Ok((_, Err(e), _)) if e == NOT_SENT => *driven.failed.entry(e).or_default() += 1,
        Ok((intended, result, at)) => {
            let took_ns = at.saturating_sub(intended);
            Counts::record_latency_ns(&mut driven.latency, took_ns);
            driven.last_answer_ns = driven.last_answer_ns.max(at);
            match result {
                Ok(Answer {
                    status: 200 | 201,
                    counted,
                }) => {
                    driven.ok += 1;
                    Counts::record_latency_ns(&mut driven.ok_latency, took_ns);
                    if let Some((idea, up)) = counted {
                        driven.acks.push(Ack { idea, up, at_ns: at });
                    }
                }
                Ok(Answer { status, .. }) => {
                    if status == 503 {
                        driven.refused += 1;
                        Counts::record_latency_ns(&mut driven.refused_latency, took_ns);
                    }
                    *driven.failed.entry(format!("HTTP {status}")).or_default() += 1;
                }
                Err(e) => *driven.failed.entry(e).or_default() += 1,
            }
        }
        Err(e) => *driven.failed.entry(format!("task: {e}")).or_default() += 1,
    }
}

/// Posts `count` ideas to `session` at `rate` per second, titled with their marker (sequence
/// number from `first_seq` and intended send time), through the authors in `apis` in turn.
pub async fn ideas(
    apis: Vec<Api>,
    session: String,
    window_unix_ns: (u64, u64),
    rate: f64,
    count: u64,
    first_seq: u64,
) -> Driven {
    let path = Arc::new(format!("/sessions/{session}/ideas"));
    open_loop(apis, window_unix_ns, rate, count, move |k, intended, mut api| {
        let path = path.clone();
        async move {
            let body = json!({ "title": scan::marker(first_seq + k, intended), "body": "Load." });
            let result = api
                .send("POST", &path, Some(&body))
                .await
                .map(|r| Answer {
                    status: r.status,
                    counted: None,
                })
                .map_err(|e| e.to_string());
            (api, result)
        }
    })
    .await
}

/// Casts the vote storm: vote `k` is +1 by voter `k / ideas` on idea `k mod ideas` (see
/// `live::VotePlan`), through the HTTP clients in `apis`. Each acknowledgement's `up` count is kept
/// (`Driven::acks`).
pub async fn votes(
    apis: Vec<Api>,
    voters: Arc<Vec<String>>,
    ideas: Arc<Vec<String>>,
    window_unix_ns: (u64, u64),
    rate: f64,
    count: u64,
) -> Driven {
    open_loop(apis, window_unix_ns, rate, count, move |k, _, mut api| {
        let n = ideas.len().max(1) as u64;
        let index = (k % n) as usize;
        let idea = ideas.get(index).cloned().unwrap_or_default();
        let voter = voters.get((k / n) as usize).cloned();
        async move {
            let Some(voter) = voter else {
                return (api, Err("not enough voters".into()));
            };
            api.set_cookie(&voter);
            let result = api
                .send(
                    "PUT",
                    &format!("/ideas/{idea}/vote"),
                    Some(&json!({ "value": 1 })),
                )
                .await
                .map(|r| Answer {
                    status: r.status,
                    counted: vote_count(r.status, &r.body).map(|up| (index as u32, up)),
                })
                .map_err(|e| e.to_string());
            (api, result)
        }
    })
    .await
}

/// The idea's `up` count in a 2xx answer to a vote.
fn vote_count(status: u16, body: &[u8]) -> Option<u64> {
    if !(200..300).contains(&status) {
        return None;
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("up")?
        .as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(driven: &mut Driven, intended: u64, status: u16, counted: Option<(u32, u64)>, at: u64) {
        tally(driven, Ok((intended, Ok(Answer { status, counted }), at)));
    }

    #[test]
    fn answers_are_sorted_into_acknowledged_refused_and_failed() {
        let mut d = Driven::nothing_yet(0);
        answered(&mut d, 0, 200, Some((3, 17)), 2_000_000);
        answered(&mut d, 1_000_000, 503, None, 1_500_000);
        answered(&mut d, 2_000_000, 422, None, 4_000_000);
        tally(&mut d, Ok((3_000_000, Err(NOT_SENT.into()), 9_000_000)));
        assert_eq!((d.ok, d.refused), (1, 1));
        assert_eq!(d.failed.get("HTTP 503"), Some(&1));
        assert_eq!(d.failed.get("HTTP 422"), Some(&1));
        assert_eq!(d.failed.get(NOT_SENT), Some(&1));
        // Three answers timed; a request never sent is not.
        assert_eq!(
            (d.latency.len(), d.ok_latency.len(), d.refused_latency.len()),
            (3, 1, 1)
        );
        // The refusal took 0.5 ms (the histogram keeps 2 significant figures).
        assert!(
            d.refused_latency.max().abs_diff(500) <= 5,
            "{}",
            d.refused_latency.max()
        );
        assert_eq!(
            d.acks,
            vec![Ack {
                idea: 3,
                up: 17,
                at_ns: 2_000_000
            }]
        );
        // The last answer came 4 ms after the first was due: one acknowledged in 4 ms.
        assert_eq!(d.answer_span_secs(), 0.004);
        assert_eq!(d.achieved_rate(), 250.0);
    }

    #[test]
    fn an_acknowledged_vote_reports_its_idea_count() {
        let body = br#"{"idea_id":"0191","up":12,"down":1,"score":0.6,"my_vote":1}"#;
        assert_eq!(vote_count(200, body), Some(12));
        assert_eq!(vote_count(503, body), None);
        assert_eq!(vote_count(200, b"not json"), None);
        assert_eq!(per_sec(10, 0.0), 0.0);
    }
}
