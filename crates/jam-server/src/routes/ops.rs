//! Operations endpoints, outside `/api/v1`: liveness, readiness (database and broker), metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use sea_orm::ConnectionTrait;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long `/readyz` waits for each dependency.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one readiness probe's answer is reused. A balancer probes every node every few seconds;
/// whoever else calls `/readyz` (as often as they like) shares that answer instead of taking a
/// database connection and a broker round trip each.
pub const READY_REUSE: Duration = Duration::from_secs(1);

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The last readiness probe: at most one runs at a time, and its answer serves every caller for
/// [`READY_REUSE`].
#[derive(Debug, Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
    probes: AtomicU64,
}

impl Readiness {
    /// Probes run so far (what the reuse saves is visible in tests and metrics).
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }

    /// `Err(what is not answering)`. Callers arriving while a probe runs wait for it and share it.
    async fn check(&self, state: &AppState) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last
            && at.elapsed() < READY_REUSE
        {
            return answer.clone();
        }
        self.probes.fetch_add(1, Ordering::Relaxed);
        let answer = probe(state).await;
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}

async fn probe(state: &AppState) -> Result<(), String> {
    let db = tokio::time::timeout(PROBE_TIMEOUT, state.db.execute_unprepared("SELECT 1")).await;
    if !matches!(db, Ok(Ok(_))) {
        return Err("database is not answering".into());
    }
    let broker = tokio::time::timeout(PROBE_TIMEOUT, state.broker.ping()).await;
    if !matches!(broker, Ok(Ok(()))) {
        return Err(format!("broker ({}) is not answering", state.broker.kind()));
    }
    Ok(())
}

/// The database and the broker answer; 503 (with `Retry-After`) names the one that does not. The
/// answer is at most [`READY_REUSE`] old.
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .readiness
        .check(&state)
        .await
        .map_err(|detail| ApiError::Unavailable {
            detail,
            retry_after_secs: 2,
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "ready",
        "database": state.db.get_database_backend().as_str().to_lowercase(),
        "broker": state.broker.kind(),
    })))
}

/// Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let o = &state.orchestrator;
    let hub = state.hub.stats();
    let votes = state.votes.counts();
    let body = state.metrics.render(&[
        (
            "jam_transitions_recorded_total",
            "Schedule transitions this node recorded.",
            "counter",
            o.recorded(),
        ),
        (
            "jam_transitions_published_total",
            "Schedule transitions this node published.",
            "counter",
            o.published(),
        ),
        (
            "jam_orchestrator_step_errors_total",
            "Failed schedule steps (retried).",
            "counter",
            o.step_errors(),
        ),
        (
            "jam_votes_written_total",
            "Votes committed by this node's vote writer.",
            "counter",
            votes.votes,
        ),
        (
            "jam_votes_failed_total",
            "Votes answered with an error.",
            "counter",
            votes.failed_votes,
        ),
        (
            "jam_sqlite_write_waiting",
            "Transactions waiting for their turn at SQLite's write lock now (0 on PostgreSQL).",
            "gauge",
            jam_store::write::waiting(&state.db) as u64,
        ),
        (
            "jam_ready_probes_total",
            "Readiness probes run (each /readyz answer is reused for a second).",
            "counter",
            state.readiness.probes(),
        ),
        (
            "jam_votes_refused_total",
            "Votes refused because the writer's queue was full (503).",
            "counter",
            votes.refused,
        ),
        (
            "jam_vote_batches_total",
            "Vote batches taken from the queue.",
            "counter",
            votes.batches,
        ),
        (
            "jam_vote_commits_total",
            "Vote transactions committed.",
            "counter",
            votes.commits,
        ),
        (
            "jam_vote_batch_largest",
            "The largest vote batch so far.",
            "gauge",
            votes.largest_batch,
        ),
        (
            "jam_vote_batch_retries_total",
            "Vote batches retried after contention.",
            "counter",
            votes.retries,
        ),
        (
            "jam_live_connections",
            "Open WebSocket connections.",
            "gauge",
            hub.connections,
        ),
        (
            "jam_live_subscriptions",
            "Topic subscriptions of this node's connections.",
            "gauge",
            hub.subscriptions,
        ),
        (
            "jam_live_topics",
            "Topics with local subscribers.",
            "gauge",
            hub.topics,
        ),
        (
            "jam_live_connections_behind",
            "Connections with frames queued that their socket has not taken yet (the fan-out waits above 1,024).",
            "gauge",
            hub.behind,
        ),
        (
            "jam_live_frames_out_total",
            "WebSocket frames written (a coalesced array counts once).",
            "counter",
            hub.frames_out,
        ),
        (
            "jam_live_bytes_out_total",
            "Bytes of WebSocket frames written.",
            "counter",
            hub.bytes_out,
        ),
        (
            "jam_live_queue_drops_total",
            "Frames dropped for slow consumers (each answered by resync or 4008).",
            "counter",
            hub.queue_drops,
        ),
    ]);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
