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
use crate::stats::{Counts, histogram, now_unix_ns};

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
    /// Failures by HTTP status or error.
    pub failed: BTreeMap<String, u64>,
    /// From each request's intended time to its answer.
    pub latency: Histogram<u64>,
    /// When the first request was due and when the last answer came (Unix ns).
    pub first_ns: u64,
    pub last_answer_ns: u64,
}

impl Driven {
    /// No request yet, the schedule starting at `first_ns`.
    fn nothing_yet(first_ns: u64) -> Driven {
        Driven {
            sent: 0,
            ok: 0,
            failed: BTreeMap::new(),
            latency: histogram(),
            first_ns,
            last_answer_ns: first_ns,
        }
    }

    /// Requests answered per second, from the first one's intended time to the last answer: below
    /// the asked rate when the server answered more slowly than the schedule sent.
    pub fn achieved_rate(&self) -> f64 {
        let secs = self.last_answer_ns.saturating_sub(self.first_ns) as f64 / 1e9;
        if secs > 0.0 { self.ok as f64 / secs } else { 0.0 }
    }
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
    async fn run<F, Fut>(&self, give_up: tokio::time::Instant, f: F) -> Result<u16, String>
    where
        F: FnOnce(Api) -> Fut,
        Fut: std::future::Future<Output = (Api, Result<u16, String>)>,
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
    Fut: std::future::Future<Output = (Api, Result<u16, String>)> + Send + 'static,
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
    Fut: std::future::Future<Output = (Api, Result<u16, String>)> + Send + 'static,
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

type Done = Result<(u64, Result<u16, String>, u64), tokio::task::JoinError>;

fn tally(driven: &mut Driven, done: Done) {
    match done {
        Ok((_, Err(e), _)) if e == NOT_SENT => *driven.failed.entry(e).or_default() += 1,
        Ok((intended, result, at)) => {
            Counts::record_latency_ns(&mut driven.latency, at.saturating_sub(intended));
            driven.last_answer_ns = driven.last_answer_ns.max(at);
            match result {
                Ok(200 | 201) => driven.ok += 1,
                Ok(status) => *driven.failed.entry(format!("HTTP {status}")).or_default() += 1,
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
                .map(|r| r.status)
                .map_err(|e| e.to_string());
            (api, result)
        }
    })
    .await
}

/// Casts the vote storm: vote `k` is +1 by voter `k / ideas` on idea `k mod ideas` (see
/// `live::VotePlan`), through the HTTP clients in `apis`.
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
        let idea = ideas.get((k % n) as usize).cloned().unwrap_or_default();
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
                .map(|r| r.status)
                .map_err(|e| e.to_string());
            (api, result)
        }
    })
    .await
}
