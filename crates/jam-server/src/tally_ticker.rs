//! Tally ticks (`DESIGN.md` §3): votes are never fanned out one by one. Every tick (`tally.tick_ms`,
//! default 500 ms) one node of the cluster publishes, for each session whose ideas' counts changed,
//! one `tally` message with those ideas' `{id, up, down, score}` on broker topic
//! `tally:session:{id}`, and one per changed idea on `tally:idea:{id}`. Every node's hub turns the
//! same payload bytes into the same frame for its subscribers (`jam-hub`), so tallies are identical
//! on every node.
//!
//! The messages go out with `Broker::broadcast`, not `publish`: tally messages carry no offset
//! (`spec/live.md`) and are never replayed, so they take no offset, keep no history and write no
//! key (with Redis: one plain `PUBLISH` each, no script). A client that missed some refetches the
//! counts over HTTP, as it does on any `resync`.
//!
//! # Design
//!
//! - **Which ideas changed: the database says.** A trigger on `ideas` (migration
//!   `m20261201_000001_tally_dirty`) upserts `tally_dirty(idea_id, version)` in the same transaction
//!   as any change of `up`/`down`: vote batches, single votes, merges. A committed change is thus
//!   recorded exactly when it becomes visible, whichever node wrote it, and survives any node's
//!   crash. No clock is involved (the black-box tests freeze the file clock, and time columns
//!   written by several nodes do not order commits anyway), and no sequence number either: under
//!   PostgreSQL, sequence values are taken before commit, so "everything after N" misses a
//!   transaction that took N-1 and committed later. The table holds only the ideas changed since the
//!   last tick, so reading it costs the size of the change, not of the jam.
//! - **One publisher: the holder of broker lease `tally-ticker`.** Every node runs this loop; each
//!   tick it takes or renews the lease (TTL 2.5 ticks). Only the holder reads the dirty rows (with
//!   each idea's current counts, session and status), broadcasts, and then deletes the rows whose
//!   `version` is still the one it read: a change committed after the read bumped the version, so
//!   its row stays and goes out next tick. On PostgreSQL the delete skips rows a vote batch holds
//!   locked (`FOR UPDATE SKIP LOCKED`): such a row is about to get a new version anyway, and waiting
//!   for it could deadlock with a batch waiting for a row this delete already removed. A crash
//!   between publishing and deleting only publishes the same counts again.
//! - **Counts are absolute**, so a repeated message is harmless and the last message wins. The
//!   leader remembers what it last published per idea and leaves out ideas whose counts are back to
//!   that (vote then retract within a tick). The memory is cleared whenever the node is not leader,
//!   since another node may have published meanwhile. Only visible ideas are published (hidden,
//!   removed and merged-away ideas take no votes and are not shown to everyone).
//! - The lease holder checks, before publishing, that its renewal is recent enough that the lease
//!   still has at least one tick to run, so a node paused past its lease does not publish counts
//!   older than the new holder's.
//! - Reading is bounded (`BATCH_ROWS` rows per tick; the rest waits for the next ticks), and so is
//!   one message (`MESSAGE_IDEAS` ideas; a session with more changes in one tick gets several).
//!
//! # Guarantees
//!
//! Every committed change of an idea's counts is published at least once, after its commit, by
//! whichever node holds the lease, as long as the database and the broker answer; the last message
//! of each idea carries its committed counts. Time from the last vote's commit to its publication:
//! - normal case: at most one tick plus the read and the publish (about 0.5 s; a commit that lands
//!   after the tick's read is published the tick after: at most two ticks);
//! - the leader stops (SIGTERM): it releases the lease, another node leads on its next tick: at most
//!   two ticks;
//! - the leader crashes (`kill -9`): its lease expires within 2.5 ticks of its last renewal and
//!   another node takes it on its next tick, and publishes everything still dirty, including what
//!   the dead node had read but not yet deleted: at most 3.5 ticks (1.75 s with the default);
//! - any other node restarts: ticks are unaffected; its clients reconnect elsewhere and refetch;
//! - broker outage: no node can renew the lease, so nothing is published and nothing is deleted;
//!   once the broker answers again a node takes the lease within 2.5 ticks and publishes every
//!   change made meanwhile; the hubs tell their clients to `resync`, which refetch over HTTP;
//! - database outage: votes cannot commit either; the tick retries.
//!
//! A subscriber that joined late or missed messages (tally messages have no offsets) gets the counts
//! from the HTTP API (`resync`, reconnect); the next change of an idea brings its tally up to date.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use jam_broker::{Broker, BrokerError};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement, Value};
use serde::Serialize;
use uuid::Uuid;

/// The broker lease that makes one node the cluster's tally publisher is this, a colon, and the
/// deployment's id (`tally_deployment`, made once per database), so deployments sharing a broker
/// each have their own publisher.
pub const LEASE: &str = "tally-ticker";

/// Most dirty rows one tick reads (and so publishes); the rest wait for the next ticks.
const BATCH_ROWS: usize = 4096;

/// Most ideas in one `tally` message (about 80 bytes each).
const MESSAGE_IDEAS: usize = 500;

/// Publishes in flight at once.
const PUBLISH_CONCURRENCY: usize = 16;

/// Rows per `DELETE` (two bound values each).
const DELETE_CHUNK: usize = 1000;

/// Remembered published counts beyond which the memory starts over (it only saves repeats).
const REMEMBER_MAX: usize = 200_000;

#[derive(Debug, Clone)]
pub struct TallyConfig {
    /// Names this node as the lease holder; unique per process.
    pub node_id: String,
    pub tick: Duration,
}

impl TallyConfig {
    /// How long a lease taken at one tick lasts: 2.5 ticks, so one late tick does not lose it.
    pub fn lease_ttl(&self) -> Duration {
        (self.tick * 5 / 2).max(Duration::from_millis(50))
    }
}

/// Counters shared with whoever renders metrics or tests.
#[derive(Debug, Default)]
pub struct Counters {
    pub ticks: AtomicU64,
    pub led_ticks: AtomicU64,
    pub messages: AtomicU64,
    pub ideas: AtomicU64,
    pub errors: AtomicU64,
    pub leading: AtomicBool,
}

/// A cheap handle on the ticker: its counters.
#[derive(Clone, Default)]
pub struct Handle {
    counters: Arc<Counters>,
}

impl Handle {
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    pub leading: bool,
    /// Dirty rows read.
    pub rows: usize,
    /// Messages published (session and idea topics).
    pub messages: usize,
    /// Ideas whose counts went out.
    pub ideas: usize,
}

/// One idea in a `tally` message (`spec/live.md`).
#[derive(Debug, Serialize)]
struct TallyIdea {
    id: Uuid,
    up: u32,
    down: u32,
    score: f64,
}

#[derive(Serialize)]
struct TallyPayload<'a> {
    ideas: &'a [TallyIdea],
}

/// A dirty row with the idea's current state.
struct Dirty {
    idea: Uuid,
    version: i64,
    session: Uuid,
    visible: bool,
    counts: (u32, u32),
}

pub struct TallyTicker {
    db: DatabaseConnection,
    broker: Arc<dyn Broker>,
    config: TallyConfig,
    handle: Handle,
    leading: bool,
    /// Counts this node last published per idea, while it leads.
    published: HashMap<Uuid, (u32, u32)>,
    /// `tally-ticker:{deployment id}`, read from the database at the first tick.
    lease: Option<String>,
}

impl TallyTicker {
    pub fn new(db: DatabaseConnection, broker: Arc<dyn Broker>, config: TallyConfig, handle: Handle) -> Self {
        Self {
            db,
            broker,
            config,
            handle,
            leading: false,
            published: HashMap::new(),
            lease: None,
        }
    }

    /// Ticks until `shutdown` completes, then gives the lease up so another node leads at once.
    /// Errors are logged and the tick is retried at the next one; nothing is lost, since the
    /// changes stay in `tally_dirty` until published.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let tick = self.config.tick.max(Duration::from_millis(1));
        tracing::info!(node = %self.config.node_id, tick_ms = tick.as_millis() as u64, "tally ticker started");
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {}
            }
            if let Err(error) = self.tick().await {
                self.handle.counters.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "tally tick failed; retrying next tick");
            }
        }
        if self.leading
            && let Some(lease) = &self.lease
            && let Err(error) = self.broker.release_lease(lease, &self.config.node_id).await
        {
            tracing::warn!(%error, "could not release the tally lease; it expires by itself");
        }
        tracing::info!("tally ticker stopped");
    }

    fn set_leading(&mut self, leading: bool) {
        if leading != self.leading {
            tracing::info!(node = %self.config.node_id, leading, "tally ticker leadership changed");
            self.published.clear();
        }
        self.leading = leading;
        self.handle.counters.leading.store(leading, Ordering::Relaxed);
    }

    /// One tick: renew the lease and, when holding it, publish what changed.
    pub async fn tick(&mut self) -> Result<TickReport, TickError> {
        let counters = self.handle.counters.clone();
        counters.ticks.fetch_add(1, Ordering::Relaxed);
        let ttl = self.config.lease_ttl();
        let lease = match &self.lease {
            Some(lease) => lease.clone(),
            None => {
                let lease = format!("{LEASE}:{}", deployment_id(&self.db).await?);
                self.lease = Some(lease.clone());
                lease
            }
        };
        let renewed_at = Instant::now();
        let holds = match self.broker.acquire_lease(&lease, &self.config.node_id, ttl).await {
            Ok(holds) => holds,
            Err(error) => {
                self.set_leading(false);
                return Err(error.into());
            }
        };
        self.set_leading(holds);
        if !holds {
            return Ok(TickReport::default());
        }
        counters.led_ticks.fetch_add(1, Ordering::Relaxed);

        let rows = read_dirty(&self.db).await?;
        let mut report = TickReport {
            leading: true,
            rows: rows.len(),
            ..TickReport::default()
        };
        if rows.is_empty() {
            return Ok(report);
        }

        // What goes out, and the rows that can go once it has.
        let mut by_session: BTreeMap<Uuid, Vec<TallyIdea>> = BTreeMap::new();
        let mut settled: Vec<(Uuid, i64)> = Vec::with_capacity(rows.len());
        let mut outgoing: Vec<(Uuid, i64, (u32, u32))> = Vec::new();
        for row in rows {
            if !row.visible {
                self.published.remove(&row.idea);
                settled.push((row.idea, row.version));
                continue;
            }
            if self.published.get(&row.idea) == Some(&row.counts) {
                settled.push((row.idea, row.version));
                continue;
            }
            let (up, down) = row.counts;
            by_session.entry(row.session).or_default().push(TallyIdea {
                id: row.idea,
                up,
                down,
                score: jam_domain::ranking::wilson_lower_bound(u64::from(up), u64::from(down)),
            });
            outgoing.push((row.idea, row.version, row.counts));
        }

        let mut messages: Vec<(String, Bytes, Vec<Uuid>)> = Vec::new();
        for (session, ideas) in &by_session {
            for chunk in ideas.chunks(MESSAGE_IDEAS) {
                let payload = payload(chunk);
                messages.push((
                    format!("tally:session:{session}"),
                    payload,
                    chunk.iter().map(|i| i.id).collect(),
                ));
            }
            for idea in ideas {
                messages.push((
                    format!("tally:idea:{}", idea.id),
                    payload(std::slice::from_ref(idea)),
                    vec![idea.id],
                ));
            }
        }

        // A holder paused since its renewal may have lost the lease to a node with newer counts.
        if renewed_at.elapsed() + self.config.tick > ttl {
            tracing::warn!("tally tick too slow to publish under the lease; leaving it for the next tick");
            return Ok(report);
        }

        let broker = &self.broker;
        let results: Vec<(Vec<Uuid>, Result<(), BrokerError>)> = futures_util::stream::iter(messages)
            .map(|(topic, payload, ideas)| async move {
                let sent = broker.broadcast(&topic, payload).await;
                (ideas, sent)
            })
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .collect()
            .await;
        let mut failed: HashSet<Uuid> = HashSet::new();
        let mut first_error = None;
        for (ideas, sent) in results {
            match sent {
                Ok(()) => report.messages += 1,
                Err(error) => {
                    failed.extend(ideas);
                    first_error.get_or_insert(error);
                }
            }
        }
        if self.published.len() > REMEMBER_MAX {
            self.published.clear();
        }
        for (idea, version, counts) in outgoing {
            if failed.contains(&idea) {
                // Published to some topics only: unknown to the memory, still dirty.
                self.published.remove(&idea);
                continue;
            }
            self.published.insert(idea, counts);
            settled.push((idea, version));
            report.ideas += 1;
        }
        delete_settled(&self.db, &settled).await?;
        counters
            .messages
            .fetch_add(report.messages as u64, Ordering::Relaxed);
        counters.ideas.fetch_add(report.ideas as u64, Ordering::Relaxed);
        match first_error {
            Some(error) => Err(error.into()),
            None => Ok(report),
        }
    }
}

fn payload(ideas: &[TallyIdea]) -> Bytes {
    // Serializing plain numbers and UUIDs cannot fail.
    Bytes::from(serde_json::to_vec(&TallyPayload { ideas }).unwrap_or_default())
}

/// The id the migration gave this deployment (database).
async fn deployment_id(db: &DatabaseConnection) -> Result<Uuid, DbErr> {
    let backend = db.get_database_backend();
    let sql = "SELECT id FROM tally_deployment ORDER BY id LIMIT 1";
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("tally_deployment is empty".into()))?;
    row.try_get("", "id")
}

/// The dirty rows with their ideas' current counts (committed ones: plain reads, no locks).
async fn read_dirty(db: &DatabaseConnection) -> Result<Vec<Dirty>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT d.idea_id AS idea_id, d.version AS version, i.session_id AS session_id, \
         i.status AS status, i.up AS up, i.down AS down \
         FROM tally_dirty d JOIN ideas i ON i.id = d.idea_id LIMIT {BATCH_ROWS}"
    );
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    rows.iter()
        .map(|row| {
            let count = |column: &str| {
                row.try_get::<i32>("", column)
                    .map(|n| u32::try_from(n).unwrap_or(0))
            };
            Ok(Dirty {
                idea: row.try_get("", "idea_id")?,
                version: row.try_get("", "version")?,
                session: row.try_get("", "session_id")?,
                visible: row.try_get::<String>("", "status")? == "visible",
                counts: (count("up")?, count("down")?),
            })
        })
        .collect()
}

/// Deletes the rows still at the version that was published.
async fn delete_settled(db: &DatabaseConnection, settled: &[(Uuid, i64)]) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for chunk in settled.chunks(DELETE_CHUNK) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 2);
        let mut tuples: Vec<String> = Vec::with_capacity(chunk.len());
        for (n, (idea, version)) in chunk.iter().enumerate() {
            values.push((*idea).into());
            values.push((*version).into());
            tuples.push(match backend {
                DatabaseBackend::Postgres => format!("(${}::uuid, ${}::bigint)", 2 * n + 1, 2 * n + 2),
                _ => "(?, ?)".to_owned(),
            });
        }
        let tuples = tuples.join(", ");
        let sql = match backend {
            DatabaseBackend::Postgres => format!(
                "DELETE FROM tally_dirty WHERE idea_id IN (\
                 SELECT d.idea_id FROM tally_dirty d \
                 JOIN (VALUES {tuples}) AS s (idea_id, version) \
                 ON d.idea_id = s.idea_id AND d.version = s.version \
                 FOR UPDATE OF d SKIP LOCKED)"
            ),
            // One writer at a time: nothing changes between this statement's read and its delete.
            _ => format!("DELETE FROM tally_dirty WHERE (idea_id, version) IN (VALUES {tuples})"),
        };
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}
