//! The batched vote writer (group commit): concurrent votes share one transaction and one commit,
//! and each request is answered only after the batch that holds it has committed.
//!
//! # Batching
//!
//! Requests go into a bounded queue ([`VoteWriter::submit`]); a full queue refuses the vote at once
//! with [`StoreError::Overloaded`] (HTTP 503 with `Retry-After`) instead of letting memory and
//! latency grow. So does a queue that is not full but slow: when the votes answered last waited
//! longer than [`VoteWriterSettings::wait_budget`] from their arrival to their commit, new votes are
//! refused while any are queued ([`Admission`]), so a node offered more than it can write answers
//! the excess at once and keeps the votes it accepts fast, instead of answering everyone late.
//!
//! One writer per node ([`VoteWriterTask::run`]) takes everything queued, up to
//! `batch_max`, optionally lingering `batch_linger` for more, and writes it in one transaction.
//! With no linger a batch is exactly what arrived while the previous batch was committing, so a
//! lone voter waits for one commit and a crowd shares commits.
//!
//! On SQLite the writer writes one batch at a time (the database has one writer anyway). On
//! PostgreSQL it runs `writers` loops that take turns at the queue: while one batch waits for its
//! commit to reach the disk (an `fdatasync` of about 1–3 ms on the benchmark machine), the next
//! batch is already being written. Concurrent batches of one node are safe for the same reasons as
//! batches of two nodes (below).
//!
//! # One batch, a fixed number of statements
//!
//! Votes are grouped by `(idea, participant)`. Inside a batch, several votes of one participant on
//! one idea apply in arrival order: the last one is what is stored, and each request's `previous`
//! is the vote before it. The idea counters move by `delta(stored old value, last value)`, the
//! intermediate values cancel out. The statements, whatever the batch size:
//! 1. `INSERT` every pair with its last value, `ON CONFLICT DO NOTHING RETURNING` the inserted keys:
//!    those had no vote before (old value 0).
//! 2. `SELECT … FOR UPDATE` the other pairs' rows, to read their old values.
//! 3. Multi-row `INSERT … ON CONFLICT DO UPDATE` for the pairs whose value changes.
//! 4. `SELECT … FOR NO KEY UPDATE` the touched ideas' counters (their current values).
//! 5. One `UPDATE ideas SET up = up + d.du, …, votes_rev = votes_rev + 1 FROM (VALUES …) d` for the
//!    ideas whose vote set changes (the tally's leaf cache key, even when the counts net out).
//!
//! On PostgreSQL steps 4 and 5 are one round trip, a call of `move_idea_counters` (a function made
//! by the migrations; it locks in id order, then updates and returns the counters): the idea rows are
//! what every batch of every node contends for, and this holds them one round trip less (measured in
//! the cluster benchmark: batches of six nodes queue on the same hot ideas).
//!
//! The counts answered are step 4 plus the batch's deltas: exact, because the idea rows are locked
//! (or, on SQLite, the whole database is) from step 4 to the commit.
//!
//! # Why it stays exact with several writers (PostgreSQL cluster)
//!
//! Every node runs its own writer against the same database, so two batches may touch the same
//! rows at once. The old values are never read without a lock that lasts until commit:
//! - A pair missing at step 1 is inserted by this batch; its uncommitted row blocks any other
//!   inserter of that key, whose `DO NOTHING` then waits for our commit and sees our row as
//!   existing, so it reads our value at step 2, never "no vote".
//! - A pair present at step 1 was committed by someone; step 2 locks it (`FOR UPDATE`, which in
//!   READ COMMITTED returns the latest committed version after waiting), so no other batch changes
//!   it between our read and our write.
//! - Counters only ever move by `up = up + delta` on a locked row.
//!
//! (`INSERT … ON CONFLICT DO UPDATE … RETURNING` cannot return the *old* value before
//! PostgreSQL 18, and a sub-select in `RETURNING` reads the statement's snapshot, which can be older
//! than the row it just locked, so the explicit lock is the sound choice.)
//!
//! Deadlocks: every batch takes its locks in one global order: vote rows before idea rows (as the
//! single-vote [`votes::apply`] does), vote rows by `(idea_id, participant_id)` (step 1 inserts in
//! that order, step 2 sorts before locking), idea rows by id (step 4 sorts before locking; step 5
//! then waits for nothing). The idea lock is `FOR NO KEY UPDATE`, the one `UPDATE ideas SET up = …`
//! takes anyway: it does not conflict with the `KEY SHARE` lock every vote insert takes on its idea
//! for the foreign key check, which `FOR UPDATE` would (batch A inserts a vote on idea X, B one on
//! Y, then each waits for the other's idea: a deadlock). Should a deadlock happen anyway (another
//! code path), PostgreSQL aborts one transaction and the batch is retried whole.
//!
//! On SQLite the transaction is `BEGIN IMMEDIATE` ([`votes::begin_write`]): it holds the
//! database's write lock from the start, so reads and writes cannot interleave with another writer
//! and no `SQLITE_BUSY` upgrade failure can happen mid-batch. `FOR UPDATE` is not emitted there.
//!
//! # How the live tally learns of a batch
//!
//! Not from this writer: step 5's `UPDATE ideas SET up = …` fires the `tally_dirty` trigger
//! (migration `m20261201_000001_tally_dirty`, read by [`crate::tally_dirty`]), which records each
//! touched idea in the batch's own transaction. The change is queued for the tally ticker exactly
//! when it commits, on whichever node wrote it, and a batch that rolls back leaves nothing behind.
//! The writer sends no message and keeps no state for the tally.
//!
//! # Failures
//!
//! - Contention (deadlock, serialization failure, lock or pool timeout): the batch is rolled back
//!   and retried whole, up to [`CONTENTION_RETRIES`] times; then every vote in it gets the error.
//! - The database unreachable: every vote in the batch gets the error (HTTP 503); none was written.
//! - Any other error (e.g. a foreign key: an idea deleted meanwhile): the batch is rolled back and
//!   its votes are written again one per transaction in arrival order ([`votes::cast`]), so one bad
//!   vote fails alone.
//! - A commit whose outcome is unknown (connection lost during `COMMIT`) is safe to retry: a vote
//!   sets a value, and deltas come from the stored old value, so writing a batch twice changes the
//!   counts once.
//!
//! No request is answered before its transaction committed, and a request whose caller went away
//! is still written (the vote was accepted into the queue).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jam_domain::ItemStatus;
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, IntoIden, LockType, OnConflict, Order, Query, TableRef, Value,
    ValueTuple,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{ideas, votes};
use crate::votes::{VoteInput, VoteOutcome, delta};
use crate::write::begin_write;

/// How often a batch that lost to contention (deadlock, serialization failure, timeout) is
/// retried whole before its votes are answered with the error.
pub const CONTENTION_RETRIES: u32 = 2;

/// The most concurrent batches per node ([`VoteWriterSettings::writers`]).
pub const WRITERS_LIMIT: usize = 64;

/// The largest `batch_max` accepted: 7 bound values per vote stay under SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters per statement.
pub const BATCH_MAX_LIMIT: usize = 4096;

/// How the writer batches (the `[votes]` settings).
#[derive(Debug, Clone, Copy)]
pub struct VoteWriterSettings {
    /// Most votes in one transaction (1 to [`BATCH_MAX_LIMIT`]).
    pub batch_max: usize,
    /// How long the writer waits for more votes once it has some, while fewer than `batch_max`
    /// are queued. Zero: no waiting; a batch is whatever queued up during the previous commit.
    pub batch_linger: Duration,
    /// Votes that may wait for the writer; one more is refused with [`StoreError::Overloaded`].
    pub queue_capacity: usize,
    /// Batches a node writes at the same time on PostgreSQL (1 to [`WRITERS_LIMIT`]): while one
    /// batch waits for its commit to reach the disk, the next is already being written. SQLite
    /// always uses one.
    pub writers: usize,
    /// The longest a vote should wait for its answer (queue plus commit); beyond it new votes are
    /// refused with [`StoreError::Overloaded`] while the queue drains ([`Admission`]). Zero: no
    /// budget (only a full queue refuses).
    pub wait_budget: Duration,
}

impl Default for VoteWriterSettings {
    fn default() -> Self {
        Self {
            batch_max: 512,
            batch_linger: Duration::ZERO,
            queue_capacity: 8192,
            writers: 4,
            wait_budget: Duration::from_secs(1),
        }
    }
}

/// Counters of the writer's work since it started (for metrics and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VoteWriterCounts {
    /// Transactions committed with at least one vote (including one-vote fallbacks).
    pub commits: u64,
    /// Batches taken from the queue.
    pub batches: u64,
    /// Votes answered with an outcome (committed).
    pub votes: u64,
    /// Votes answered with an error.
    pub failed_votes: u64,
    /// Votes refused because the queue was full or over its wait budget.
    pub refused: u64,
    /// The largest batch so far.
    pub largest_batch: u64,
    /// Batches rolled back for contention and tried again.
    pub retries: u64,
    /// Batches rolled back for an error and rewritten one vote per transaction.
    pub split_batches: u64,
}

#[derive(Default)]
struct Stats {
    commits: AtomicU64,
    batches: AtomicU64,
    votes: AtomicU64,
    failed_votes: AtomicU64,
    refused: AtomicU64,
    largest_batch: AtomicU64,
    retries: AtomicU64,
    split_batches: AtomicU64,
}

impl Stats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> VoteWriterCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        VoteWriterCounts {
            commits: get(&self.commits),
            batches: get(&self.batches),
            votes: get(&self.votes),
            failed_votes: get(&self.failed_votes),
            refused: get(&self.refused),
            largest_batch: get(&self.largest_batch),
            retries: get(&self.retries),
            split_batches: get(&self.split_batches),
        }
    }
}

type Reply = oneshot::Sender<Result<VoteOutcome, StoreError>>;

/// One queued vote, when it arrived, and where its answer goes.
struct Pending {
    vote: VoteInput,
    arrived: Instant,
    reply: Reply,
}

/// Whether a new vote is admitted, from how long the votes answered last waited (CoDel's idea:
/// judge the queue by the time its items spend in it, not by its length, since what one vote costs
/// depends on the batch it lands in).
///
/// After each batch the writer records how long its youngest vote waited from arrival to commit
/// ([`Admission::record`]): the shortest wait in that batch, so one straggler does not count. A new
/// vote is refused when that wait was over the budget and votes are still queued; an empty queue
/// always admits, so a refusal never outlives the backlog that caused it.
#[derive(Debug)]
pub struct Admission {
    budget_ns: u64,
    /// The last batch's youngest vote's wait, in nanoseconds.
    recent_wait_ns: AtomicU64,
}

impl Admission {
    pub fn new(budget: Duration) -> Self {
        Self {
            budget_ns: u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX),
            recent_wait_ns: AtomicU64::new(0),
        }
    }

    /// Records the wait of the youngest vote of a batch just answered.
    pub fn record(&self, waited: Duration) {
        let ns = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.recent_wait_ns.store(ns, Ordering::Relaxed);
    }

    /// True when a vote arriving behind `queued` others may wait its turn.
    pub fn admits(&self, queued: usize) -> bool {
        self.budget_ns == 0 || queued == 0 || self.recent_wait_ns.load(Ordering::Relaxed) <= self.budget_ns
    }
}

/// The handle every request uses: cheap to clone, shared by all HTTP workers of a node.
#[derive(Clone)]
pub struct VoteWriter {
    inner: Arc<Inner>,
}

struct Inner {
    /// The bounded queue; `try_send` so a full queue refuses at once rather than piling up waiters.
    queue: mpsc::Sender<Pending>,
    /// Set to `true` by [`VoteWriter::shutdown`]: the task stops taking new votes and drains.
    stop: watch::Sender<bool>,
    /// Becomes `true` when the task has answered its last vote.
    done: watch::Receiver<bool>,
    stats: Arc<Stats>,
    /// Shared with the writer loops, which record each batch's wait in it.
    admission: Arc<Admission>,
}

/// The writer's loops; run them once with [`VoteWriterTask::run`] (what [`VoteWriter::start`] does).
pub struct VoteWriterTask {
    db: DatabaseConnection,
    settings: VoteWriterSettings,
    intake: Intake,
    done: watch::Sender<bool>,
    stats: Arc<Stats>,
    admission: Arc<Admission>,
}

impl VoteWriter {
    /// A writer and its not yet running task. Votes submitted before the task runs wait in the
    /// queue (so tests can fill one batch exactly).
    pub fn new(db: DatabaseConnection, settings: VoteWriterSettings) -> (VoteWriter, VoteWriterTask) {
        let settings = VoteWriterSettings {
            batch_max: settings.batch_max.clamp(1, BATCH_MAX_LIMIT),
            batch_linger: settings.batch_linger,
            queue_capacity: settings.queue_capacity.max(1),
            // SQLite has one writer at a time: a second transaction would only wait for the lock.
            writers: match db.get_database_backend() {
                DbBackend::Sqlite => 1,
                _ => settings.writers.clamp(1, WRITERS_LIMIT),
            },
            wait_budget: settings.wait_budget,
        };
        let (queue_tx, queue_rx) = mpsc::channel(settings.queue_capacity);
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        let stats = Arc::new(Stats::default());
        let admission = Arc::new(Admission::new(settings.wait_budget));
        let writer = VoteWriter {
            inner: Arc::new(Inner {
                queue: queue_tx,
                stop: stop_tx,
                done: done_rx,
                stats: stats.clone(),
                admission: admission.clone(),
            }),
        };
        let task = VoteWriterTask {
            db,
            settings,
            intake: Intake {
                queue: queue_rx,
                stop: stop_rx,
                stopping: false,
            },
            done: done_tx,
            stats,
            admission,
        };
        (writer, task)
    }

    /// A writer whose task runs on the current Tokio runtime.
    pub fn start(db: DatabaseConnection, settings: VoteWriterSettings) -> VoteWriter {
        let (writer, task) = Self::new(db, settings);
        tokio::spawn(task.run());
        writer
    }

    /// Queues a vote, or refuses it at once: [`StoreError::Overloaded`] when the queue is full or
    /// over its wait budget ([`Admission`]), [`StoreError::WriterStopped`] after shutdown. The
    /// returned future resolves once the vote's
    /// batch has committed (or failed); dropping it does not withdraw the vote.
    pub fn submit(
        &self,
        vote: VoteInput,
    ) -> Result<impl Future<Output = Result<VoteOutcome, StoreError>> + Send + 'static, StoreError> {
        let queue = &self.inner.queue;
        if !self
            .inner
            .admission
            .admits(queue.max_capacity() - queue.capacity())
        {
            Stats::add(&self.inner.stats.refused, 1);
            return Err(StoreError::Overloaded);
        }
        let (reply, answer) = oneshot::channel();
        let arrived = Instant::now();
        match queue.try_send(Pending { vote, arrived, reply }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                Stats::add(&self.inner.stats.refused, 1);
                return Err(StoreError::Overloaded);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(StoreError::WriterStopped),
        }
        Ok(async move { answer.await.unwrap_or(Err(StoreError::WriterStopped)) })
    }

    /// Records one vote through the writer and returns the idea's counts after its batch.
    pub async fn cast(&self, vote: VoteInput) -> Result<VoteOutcome, StoreError> {
        self.submit(vote)?.await
    }

    /// Stops taking votes (new ones get [`StoreError::WriterStopped`]), answers every vote
    /// already queued, and returns when the task has finished. Safe to call more than once.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let mut done = self.inner.done.clone();
        // An error means the task is gone (never started, or dropped): nothing left to wait for.
        let _ = done.wait_for(|finished| *finished).await;
    }

    /// What the writer has done so far.
    pub fn counts(&self) -> VoteWriterCounts {
        self.inner.stats.snapshot()
    }
}

impl VoteWriterTask {
    /// Takes batches from the queue and writes them until [`VoteWriter::shutdown`] (or until every
    /// handle is dropped), then answers what is still queued and returns. Runs `writers` loops
    /// (one on SQLite) that take turns at the queue and write their batches concurrently.
    pub async fn run(self) {
        let VoteWriterTask {
            db,
            settings,
            intake,
            done,
            stats,
            admission,
        } = self;
        let writer = Arc::new(BatchWriter { db, stats, admission });
        let intake = Arc::new(tokio::sync::Mutex::new(intake));
        let mut loops = tokio::task::JoinSet::new();
        for _ in 0..settings.writers {
            let (writer, intake) = (writer.clone(), intake.clone());
            loops.spawn(async move {
                loop {
                    // The queue is taken by one loop at a time, so batches never interleave votes.
                    let batch = intake
                        .lock()
                        .await
                        .next_batch(settings.batch_max, settings.batch_linger)
                        .await;
                    if batch.is_empty() {
                        break; // closed and drained
                    }
                    writer.write(batch).await;
                }
            });
        }
        while let Some(finished) = loops.join_next().await {
            if let Err(err) = finished {
                // Its batch's callers were answered `WriterStopped` when their replies dropped.
                tracing::error!(error = %err, "a vote writer loop failed");
            }
        }
        done.send_replace(true);
    }
}

/// The receiving end of the queue and the stop signal.
struct Intake {
    queue: mpsc::Receiver<Pending>,
    stop: watch::Receiver<bool>,
    stopping: bool,
}

impl Intake {
    /// Waits for a vote, then takes everything queued up to `max` (lingering up to `linger` for
    /// more). Empty once the writer is stopping and the queue is drained.
    async fn next_batch(&mut self, max: usize, linger: Duration) -> Vec<Pending> {
        let mut batch = Vec::with_capacity(max);
        loop {
            if !self.stopping && *self.stop.borrow() {
                self.stopping = true;
                self.queue.close();
            }
            let received = tokio::select! {
                biased;
                _ = self.stop.changed(), if !self.stopping => {
                    // Set, or every handle dropped: either way stop taking votes, drain the rest.
                    self.stopping = true;
                    self.queue.close();
                    continue;
                }
                n = self.queue.recv_many(&mut batch, max) => n,
            };
            if received == 0 {
                return batch;
            }
            break;
        }
        if !linger.is_zero() && batch.len() < max {
            let deadline = tokio::time::Instant::now() + linger;
            while batch.len() < max {
                let room = max - batch.len();
                match tokio::time::timeout_at(deadline, self.queue.recv_many(&mut batch, room)).await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        batch
    }
}

/// What every writer loop shares.
struct BatchWriter {
    db: DatabaseConnection,
    stats: Arc<Stats>,
    admission: Arc<Admission>,
}

impl BatchWriter {
    /// Writes one batch and answers every vote in it.
    async fn write(&self, batch: Vec<Pending>) {
        let stats = &self.stats;
        Stats::add(&stats.batches, 1);
        stats
            .largest_batch
            .fetch_max(batch.len() as u64, Ordering::Relaxed);
        let youngest = batch.iter().map(|p| p.arrived).max();
        let (inputs, replies): (Vec<VoteInput>, Vec<Reply>) =
            batch.into_iter().map(|p| (p.vote, p.reply)).unzip();
        // However the batch ends, its votes are answered now: record how long they waited.
        let _record = RecordWait {
            admission: &self.admission,
            youngest,
        };

        let mut attempt = 0;
        let err = loop {
            match write_batch(&self.db, &inputs).await {
                Ok(outcomes) => {
                    Stats::add(&stats.commits, 1);
                    Stats::add(&stats.votes, outcomes.len() as u64);
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        // The caller may have gone away; the vote is committed all the same.
                        let _ = reply.send(Ok(outcome));
                    }
                    return;
                }
                Err(err) if err.is_unavailable() && is_contention(&err) && attempt < CONTENTION_RETRIES => {
                    attempt += 1;
                    Stats::add(&stats.retries, 1);
                    tracing::warn!(error = %err, attempt, votes = inputs.len(), "vote batch lost to contention; retrying");
                }
                Err(err) => break err,
            }
        };

        if err.is_unavailable() || inputs.len() == 1 {
            tracing::warn!(error = %err, votes = inputs.len(), "vote batch failed; no vote in it was written");
            Stats::add(&stats.failed_votes, inputs.len() as u64);
            for reply in replies {
                let _ = reply.send(Err(copy_error(&err)));
            }
            return;
        }

        // Find the bad vote(s) by writing each alone, in arrival order (so the last one wins).
        tracing::warn!(error = %err, votes = inputs.len(), "vote batch failed; writing its votes one by one");
        Stats::add(&stats.split_batches, 1);
        for (vote, reply) in inputs.into_iter().zip(replies) {
            let result = crate::votes::cast(&self.db, vote).await;
            match &result {
                Ok(_) => {
                    Stats::add(&stats.commits, 1);
                    Stats::add(&stats.votes, 1);
                }
                Err(_) => Stats::add(&stats.failed_votes, 1),
            }
            let _ = reply.send(result);
        }
    }
}

/// Records the wait of a batch's youngest vote in the admission when dropped, i.e. once the batch
/// has been answered, on every path out of [`BatchWriter::write`].
struct RecordWait<'a> {
    admission: &'a Admission,
    youngest: Option<Instant>,
}

impl Drop for RecordWait<'_> {
    fn drop(&mut self) {
        if let Some(youngest) = self.youngest {
            self.admission.record(youngest.elapsed());
        }
    }
}

/// True for contention a retry may get past (not for a lost connection).
fn is_contention(err: &StoreError) -> bool {
    matches!(err, StoreError::Db(db) if crate::error::is_contention(db))
}

/// The same error for every vote of a failed batch (`StoreError` is not `Clone`, `DbErr` is).
fn copy_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::Db(db) => StoreError::Db(db.clone()),
        StoreError::Overloaded => StoreError::Overloaded,
        StoreError::WriterStopped => StoreError::WriterStopped,
        StoreError::IdeaClosed => StoreError::IdeaClosed,
        other => StoreError::Db(DbErr::Custom(other.to_string())),
    }
}

/// Writes `votes` (in arrival order) in one transaction and returns each one's outcome, in the
/// same order. All or nothing: on error nothing was written. See the module docs for the steps.
///
/// This is the writer's core, public so it can be called without a queue (e.g. a bulk import);
/// the server goes through [`VoteWriter`].
pub async fn write_batch(
    db: &DatabaseConnection,
    votes: &[VoteInput],
) -> Result<Vec<VoteOutcome>, StoreError> {
    if votes.is_empty() {
        return Ok(Vec::new());
    }
    let txn = begin_write(db).await?;
    match apply_batch(&txn, votes).await {
        Ok(outcomes) => {
            txn.commit().await?;
            Ok(outcomes)
        }
        Err(err) => {
            // A failed rollback leaves nothing committed either; report the first error.
            let _ = txn.rollback().await;
            Err(err)
        }
    }
}

/// Every vote of one participant on one idea in a batch, and what the batch leaves stored.
struct Pair {
    jam_id: Uuid,
    audience_id: Uuid,
    /// Time of the first vote (a new row's `created_at`).
    first_at: chrono::DateTime<chrono::Utc>,
    /// Time and value of the last vote: what is stored.
    last_at: chrono::DateTime<chrono::Utc>,
    last_value: i16,
    /// Positions in the batch of this pair's votes, in arrival order.
    positions: Vec<usize>,
}

/// The batch's statements inside the caller's write transaction (see the module docs).
async fn apply_batch(
    txn: &impl ConnectionTrait,
    votes: &[VoteInput],
) -> Result<Vec<VoteOutcome>, StoreError> {
    // Pairs sorted by (idea, participant): the order every batch takes vote-row locks in.
    let mut pairs: BTreeMap<(Uuid, Uuid), Pair> = BTreeMap::new();
    for (position, vote) in votes.iter().enumerate() {
        pairs
            .entry((vote.idea_id.0, vote.participant_id.0))
            .and_modify(|pair| {
                pair.last_at = vote.at;
                pair.last_value = vote.value.as_i16();
                pair.positions.push(position);
            })
            .or_insert_with(|| Pair {
                jam_id: vote.jam_id.0,
                audience_id: vote.audience_id.0,
                first_at: vote.at,
                last_at: vote.at,
                last_value: vote.value.as_i16(),
                positions: vec![position],
            });
    }

    // 1. New pairs are inserted with their final value; the rest already had a row.
    let mut insert = vote_rows(pairs.iter())?;
    insert
        .on_conflict(
            OnConflict::columns([votes::Column::IdeaId, votes::Column::ParticipantId])
                .do_nothing()
                .to_owned(),
        )
        .returning(Query::returning().columns([votes::Column::IdeaId, votes::Column::ParticipantId]));
    let mut old: HashMap<(Uuid, Uuid), i16> = HashMap::with_capacity(pairs.len());
    for row in txn.query_all(&insert).await? {
        let key = (
            row.try_get::<Uuid>("", "idea_id")?,
            row.try_get::<Uuid>("", "participant_id")?,
        );
        old.insert(key, 0);
    }

    // 2. Old values of existing pairs, locked until commit.
    let existing: Vec<(Uuid, Uuid)> = pairs.keys().filter(|k| !old.contains_key(k)).copied().collect();
    if !existing.is_empty() {
        let keys = Query::select()
            .column(Asterisk)
            .from_values(existing.iter().copied(), Alias::new("k"))
            .to_owned();
        let select = Query::select()
            .columns([
                votes::Column::IdeaId,
                votes::Column::ParticipantId,
                votes::Column::Value,
            ])
            .from(votes::Entity)
            .and_where(
                Expr::tuple([
                    Expr::col(votes::Column::IdeaId),
                    Expr::col(votes::Column::ParticipantId),
                ])
                .in_subquery(keys),
            )
            .order_by(votes::Column::IdeaId, Order::Asc)
            .order_by(votes::Column::ParticipantId, Order::Asc)
            .lock(LockType::Update)
            .to_owned();
        for row in txn.query_all(&select).await? {
            let key = (
                row.try_get::<Uuid>("", "idea_id")?,
                row.try_get::<Uuid>("", "participant_id")?,
            );
            old.insert(key, row.try_get::<i16>("", "value")?);
        }
        if let Some(missing) = existing.iter().find(|k| !old.contains_key(k)) {
            // Step 1 saw the row and nothing deletes vote rows without deleting the jam.
            return Err(DbErr::RecordNotFound(format!(
                "vote of participant {} on idea {} vanished during its batch",
                missing.1, missing.0
            ))
            .into());
        }
    }

    // 3. Existing pairs whose value changes.
    let changed: Vec<_> = existing
        .iter()
        .filter_map(|key| pairs.get_key_value(key))
        .filter(|(key, pair)| old.get(key) != Some(&pair.last_value))
        .collect();
    if !changed.is_empty() {
        let mut upsert = vote_rows(changed.into_iter())?;
        upsert.on_conflict(
            OnConflict::columns([votes::Column::IdeaId, votes::Column::ParticipantId])
                .update_columns([votes::Column::Value, votes::Column::UpdatedAt])
                .to_owned(),
        );
        txn.execute(&upsert).await?;
    }

    // 4–5. The touched ideas' counters, locked in id order, moved by the batch's deltas.
    let mut deltas = Deltas::new();
    // Ideas whose non-zero vote set changes, even when their counts net out (one voter retracts
    // as another votes): their `votes_rev` moves.
    let mut revised: BTreeSet<Uuid> = BTreeSet::new();
    for (key, pair) in &pairs {
        let before = old.get(key).copied().unwrap_or(0);
        let (du, dd, dv) = delta(before, pair.last_value);
        let d = deltas.entry(key.0).or_default();
        *d = (d.0 + du, d.1 + dd, d.2 + dv);
        if before != pair.last_value {
            revised.insert(key.0);
        }
    }
    let counts = match txn.get_database_backend() {
        DbBackend::Postgres => move_counters_at_once(txn, &deltas, &revised).await?,
        _ => move_counters(txn, &deltas, &revised).await?,
    };
    if let Some(missing) = deltas.keys().find(|id| !counts.contains_key(id)) {
        // The vote rows' foreign key makes this unreachable short of a concurrent delete.
        return Err(DbErr::RecordNotFound(format!("idea {missing}")).into());
    }

    // Each vote's answer: the idea's counts after the batch, its own value and the one before it.
    let mut outcomes: Vec<Option<VoteOutcome>> = vec![None; votes.len()];
    for (key, pair) in &pairs {
        let (up, down, voters) = counts.get(&key.0).copied().unwrap_or_default();
        let mut previous = old.get(key).copied().unwrap_or(0);
        for &position in &pair.positions {
            let value = votes[position].value.as_i16();
            outcomes[position] = Some(VoteOutcome {
                idea_id: key.0,
                up,
                down,
                voters,
                value,
                previous,
            });
            previous = value;
        }
    }
    // Every position belongs to exactly one pair, so every slot is filled.
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| DbErr::Custom("a vote of the batch got no outcome".into()).into()))
        .collect()
}

/// Each touched idea's `(up, down, voters)` deltas.
type Deltas = BTreeMap<Uuid, (i32, i32, i32)>;

/// The counters of each touched idea after the batch, by id.
type Counts = HashMap<Uuid, (i32, i32, i32)>;

/// An idea that no longer takes votes stops the batch with [`StoreError::IdeaClosed`].
fn require_visible(row: &sea_orm::QueryResult) -> Result<(), StoreError> {
    if !row.try_get::<ItemStatus>("", "status")?.takes_votes() {
        // Hidden, removed or merged since the request checked it: the whole batch rolls back
        // and (when it holds more than this vote) is rewritten vote by vote, where only this
        // idea's votes fail with `IdeaClosed`.
        return Err(StoreError::IdeaClosed);
    }
    Ok(())
}

/// A row's `(up, down, voters)`.
fn counters(row: &sea_orm::QueryResult) -> Result<(i32, i32, i32), DbErr> {
    Ok((
        row.try_get::<i32>("", "up")?,
        row.try_get::<i32>("", "down")?,
        row.try_get::<i32>("", "voters")?,
    ))
}

/// PostgreSQL: steps 4 and 5 in one round trip, through `move_idea_counters` (migration
/// `m20261206_000001_vote_counters`): it locks the touched ideas in id order, then moves their
/// counters (and `votes_rev` where the vote set changed) and returns them as they now stand.
async fn move_counters_at_once(
    txn: &impl ConnectionTrait,
    deltas: &Deltas,
    revised: &BTreeSet<Uuid>,
) -> Result<Counts, StoreError> {
    let moves: Vec<serde_json::Value> = deltas
        .iter()
        .map(|(id, (du, dd, dv))| {
            serde_json::json!({ "id": id, "du": du, "dd": dd, "dv": dv, "rev": i64::from(revised.contains(id)) })
        })
        .collect();
    let statement = sea_orm::Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT idea_id AS id, new_up AS up, new_down AS down, new_voters AS voters, idea_status AS status \
         FROM move_idea_counters($1::json)",
        [Value::from(serde_json::Value::Array(moves).to_string())],
    );
    let mut counts = Counts::with_capacity(deltas.len());
    for row in txn.query_all_raw(statement).await? {
        require_visible(&row)?;
        counts.insert(row.try_get::<Uuid>("", "id")?, counters(&row)?);
    }
    Ok(counts)
}

/// SQLite (one writer at a time, so nothing to lock or shorten): step 4 reads the counters, step 5 moves
/// those of the ideas whose vote set changed, relative to their stored values, with their
/// `votes_rev`.
async fn move_counters(
    txn: &impl ConnectionTrait,
    deltas: &Deltas,
    revised: &BTreeSet<Uuid>,
) -> Result<Counts, StoreError> {
    let counts_query = Query::select()
        .columns([
            ideas::Column::Id,
            ideas::Column::Up,
            ideas::Column::Down,
            ideas::Column::Voters,
            ideas::Column::Status,
        ])
        .from(ideas::Entity)
        .and_where(Expr::col(ideas::Column::Id).is_in(deltas.keys().copied()))
        .to_owned();
    let mut counts = Counts::with_capacity(deltas.len());
    for row in txn.query_all(&counts_query).await? {
        require_visible(&row)?;
        let id = row.try_get::<Uuid>("", "id")?;
        let (up, down, voters) = counters(&row)?;
        let (du, dd, dv) = deltas.get(&id).copied().unwrap_or_default();
        counts.insert(id, (up + du, down + dd, voters + dv));
    }
    let moves: Vec<ValueTuple> = deltas
        .iter()
        .filter(|(id, _)| revised.contains(*id))
        .map(|(id, (du, dd, dv))| {
            ValueTuple::Many(vec![
                Value::from(*id),
                Value::from(*du),
                Value::from(*dd),
                Value::from(*dv),
            ])
        })
        .collect();
    if !moves.is_empty() {
        let d = Alias::new("d");
        let from_d = |column: &str| Expr::col((d.clone(), Alias::new(column)));
        let plus =
            |counter: ideas::Column, column: &str| Expr::col((ideas::Entity, counter)).add(from_d(column));
        let update = Query::update()
            .table(ideas::Entity)
            .value(ideas::Column::Up, plus(ideas::Column::Up, "column2"))
            .value(ideas::Column::Down, plus(ideas::Column::Down, "column3"))
            .value(ideas::Column::Voters, plus(ideas::Column::Voters, "column4"))
            .value(
                ideas::Column::VotesRev,
                Expr::col((ideas::Entity, ideas::Column::VotesRev)).add(1),
            )
            .from(TableRef::ValuesList(moves, d.clone().into_iden()))
            .and_where(
                Expr::col((ideas::Entity, ideas::Column::Id)).equals((d.clone(), Alias::new("column1"))),
            )
            .to_owned();
        txn.execute(&update).await?;
    }
    Ok(counts)
}

/// `INSERT INTO votes (…) VALUES (…), …` with each pair's last value.
fn vote_rows<'a>(
    pairs: impl Iterator<Item = (&'a (Uuid, Uuid), &'a Pair)>,
) -> Result<sea_orm::sea_query::InsertStatement, DbErr> {
    let mut insert = Query::insert();
    insert.into_table(votes::Entity).columns([
        votes::Column::IdeaId,
        votes::Column::ParticipantId,
        votes::Column::JamId,
        votes::Column::AudienceId,
        votes::Column::Value,
        votes::Column::CreatedAt,
        votes::Column::UpdatedAt,
    ]);
    for (&(idea_id, participant_id), pair) in pairs {
        insert
            .values([
                idea_id.into(),
                participant_id.into(),
                pair.jam_id.into(),
                pair.audience_id.into(),
                pair.last_value.into(),
                pair.first_at.into(),
                pair.last_at.into(),
            ])
            .map_err(|err| DbErr::Custom(format!("building the vote insert: {err}")))?;
    }
    Ok(insert)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jam_domain::{AudienceId, IdeaId, JamId, ParticipantId, VoteValue};

    use super::*;

    #[test]
    fn an_empty_queue_always_admits_and_a_slow_one_refuses_until_it_is_fast_again() {
        let admission = Admission::new(Duration::from_secs(1));
        assert!(
            admission.admits(0) && admission.admits(5000),
            "nothing measured yet"
        );
        admission.record(Duration::from_millis(1500));
        assert!(
            !admission.admits(1),
            "the last votes waited 1.5 s: over the 1 s budget"
        );
        assert!(
            admission.admits(0),
            "the backlog is gone: the refusal ends with it"
        );
        admission.record(Duration::from_millis(1000));
        assert!(admission.admits(4000), "exactly the budget is within it");
        let unbounded = Admission::new(Duration::ZERO);
        unbounded.record(Duration::from_secs(60));
        assert!(unbounded.admits(8000), "a zero budget never refuses");
    }

    #[tokio::test]
    async fn a_writer_over_its_wait_budget_refuses_new_votes_and_keeps_the_queued_ones() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::connect(&crate::DbSettings {
            url: format!("sqlite://{}", dir.path().join("budget.db").display()),
            max_connections: 1,
            min_connections: 1,
            connect_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(10),
        })
        .await
        .unwrap();
        let settings = VoteWriterSettings {
            wait_budget: Duration::from_millis(500),
            ..VoteWriterSettings::default()
        };
        // The task is not running: what is submitted stays queued.
        let (writer, _task) = VoteWriter::new(db, settings);
        let vote = || VoteInput {
            idea_id: IdeaId::new(),
            participant_id: ParticipantId::new(),
            jam_id: JamId::new(),
            audience_id: AudienceId::new(),
            value: VoteValue::Up,
            at: chrono::Utc::now(),
        };
        let queued = writer.submit(vote());
        assert!(queued.is_ok(), "an idle writer admits");
        writer.inner.admission.record(Duration::from_millis(800));
        assert!(matches!(writer.submit(vote()), Err(StoreError::Overloaded)));
        assert_eq!(writer.counts().refused, 1);
        writer.inner.admission.record(Duration::from_millis(10));
        assert!(
            writer.submit(vote()).is_ok(),
            "fast again: admitted behind the queued vote"
        );
    }
}
