//! Impressions (issue 17): which ideas each participant saw, stored once per (participant, idea) by
//! a group-commit writer like the votes' ([`crate::vote_writer`]), and counted on
//! `ideas.impressions` in the same transaction.
//!
//! # Batching
//!
//! A report (one participant, a list of idea ids) goes into a bounded queue
//! ([`ImpressionWriter::submit`]); a full queue refuses it at once with [`StoreError::Overloaded`].
//! One writer per node takes what is queued, up to `batch_max` impressions, and writes it in one
//! transaction of at most three statements, whatever the batch size:
//! 1. `INSERT INTO impressions … ON CONFLICT DO NOTHING RETURNING idea_id, participant_id`: only the
//!    rows inserted come back, so an impression reported twice (in one batch, two batches or two
//!    nodes) is counted once;
//! 2. PostgreSQL only: `SELECT … ORDER BY id FOR NO KEY UPDATE` the ideas that gained impressions,
//!    in id order, the order the vote writer locks them in, so the two writers cannot deadlock;
//! 3. `UPDATE ideas SET impressions = impressions + d.n FROM (VALUES …) d`.
//!
//! Each report is answered after the commit with how many of its impressions were new.
//!
//! # Accounting
//!
//! Every impression submitted ends in exactly one of [`ImpressionCounts`]' `recorded` (a new row),
//! `repeated` (the row existed), `failed` (its report got an error: nothing of it was written) or
//! `refused` (the queue was full). Rows and counters move in one transaction, so
//! `SUM(ideas.impressions)` always equals `COUNT(*)` of `impressions`.
//!
//! # Failures
//!
//! Contention (deadlock, lock timeout): the batch is retried whole, up to
//! [`crate::vote_writer::CONTENTION_RETRIES`] times. Any other error (an idea deleted meanwhile): the
//! batch is rolled back and each report is written alone, so one bad report fails alone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, IntoIden, LockType, OnConflict, Query, TableRef, Value, ValueTuple,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{count64, ideas, impressions};
use crate::write::begin_write;

/// The largest `batch_max` accepted: 3 bound values per impression stay under SQLite's 32,766
/// parameters per statement.
pub const BATCH_MAX_LIMIT: usize = 8192;

/// How the writer batches (the `[impressions]` settings).
#[derive(Debug, Clone, Copy)]
pub struct ImpressionWriterSettings {
    /// Most impressions in one transaction (1 to [`BATCH_MAX_LIMIT`]); a report larger than this
    /// is written alone.
    pub batch_max: usize,
    /// Reports that may wait for the writer; one more is refused with [`StoreError::Overloaded`].
    pub queue_capacity: usize,
}

impl Default for ImpressionWriterSettings {
    fn default() -> Self {
        Self {
            batch_max: 4096,
            queue_capacity: 4096,
        }
    }
}

/// What the writer has done since it started, in impressions (see the module's accounting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImpressionCounts {
    pub submitted: u64,
    pub recorded: u64,
    pub repeated: u64,
    pub failed: u64,
    pub refused: u64,
    /// Transactions committed.
    pub commits: u64,
}

#[derive(Default)]
struct Stats {
    submitted: AtomicU64,
    recorded: AtomicU64,
    repeated: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
    commits: AtomicU64,
}

impl Stats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// One participant's report.
struct Pending {
    participant_id: Uuid,
    idea_ids: Vec<Uuid>,
    reply: oneshot::Sender<Result<u64, StoreError>>,
}

/// The handle every request uses: cheap to clone, shared by all HTTP workers of a node.
#[derive(Clone)]
pub struct ImpressionWriter {
    /// The bounded queue; `try_send` so a full queue refuses at once rather than piling up waiters.
    queue: mpsc::Sender<Pending>,
    stats: Arc<Stats>,
}

impl ImpressionWriter {
    /// A writer whose task runs on the current Tokio runtime until every handle is dropped.
    pub fn start(db: DatabaseConnection, settings: ImpressionWriterSettings) -> ImpressionWriter {
        let batch_max = settings.batch_max.clamp(1, BATCH_MAX_LIMIT);
        let (queue, intake) = mpsc::channel(settings.queue_capacity.max(1));
        let stats = Arc::new(Stats::default());
        tokio::spawn(run(db, batch_max, intake, stats.clone()));
        ImpressionWriter { queue, stats }
    }

    /// Queues a report, or refuses it at once ([`StoreError::Overloaded`] when the queue is full,
    /// [`StoreError::WriterStopped`] when the writer has gone). The future resolves with how many
    /// of its impressions were new once its batch has committed; dropping it does not withdraw the
    /// report. Duplicate ids within the report count once.
    pub fn submit(
        &self,
        participant_id: Uuid,
        mut idea_ids: Vec<Uuid>,
    ) -> Result<impl Future<Output = Result<u64, StoreError>> + Send + 'static, StoreError> {
        idea_ids.sort_unstable();
        idea_ids.dedup();
        let n = idea_ids.len() as u64;
        Stats::add(&self.stats.submitted, n);
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            participant_id,
            idea_ids,
            reply,
        };
        if let Err(err) = self.queue.try_send(pending) {
            Stats::add(&self.stats.refused, n);
            return Err(match err {
                mpsc::error::TrySendError::Full(_) => StoreError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => StoreError::WriterStopped,
            });
        }
        Ok(async move { answer.await.unwrap_or(Err(StoreError::WriterStopped)) })
    }

    /// What the writer has done so far.
    pub fn counts(&self) -> ImpressionCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let s = &self.stats;
        ImpressionCounts {
            submitted: get(&s.submitted),
            recorded: get(&s.recorded),
            repeated: get(&s.repeated),
            failed: get(&s.failed),
            refused: get(&s.refused),
            commits: get(&s.commits),
        }
    }
}

async fn run(
    db: DatabaseConnection,
    batch_max: usize,
    mut intake: mpsc::Receiver<Pending>,
    stats: Arc<Stats>,
) {
    while let Some(first) = intake.recv().await {
        let mut size = first.idea_ids.len();
        let mut batch = vec![first];
        while size < batch_max {
            match intake.try_recv() {
                Ok(next) => {
                    size += next.idea_ids.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        write_batch(&db, batch, &stats).await;
    }
}

/// Writes a batch and answers its reports (see the module's failures).
async fn write_batch(db: &DatabaseConnection, batch: Vec<Pending>, stats: &Stats) {
    let mut attempt = 0;
    let result = loop {
        match write(db, &batch).await {
            Err(err) if is_contention(&err) && attempt < crate::vote_writer::CONTENTION_RETRIES => {
                attempt += 1
            }
            other => break other,
        }
    };
    match result {
        Ok(mut new) => {
            Stats::add(&stats.commits, 1);
            for pending in batch {
                answer(pending, Ok(&mut new), stats);
            }
        }
        Err(err) if batch.len() > 1 && !is_contention(&err) => {
            for pending in batch {
                let mut alone = write(db, std::slice::from_ref(&pending)).await;
                if alone.is_ok() {
                    Stats::add(&stats.commits, 1);
                }
                answer(pending, alone.as_mut().map_err(|err| copy_error(err)), stats);
            }
        }
        Err(err) => {
            for pending in batch {
                answer(pending, Err(copy_error(&err)), stats);
            }
        }
    }
}

/// Answers one report from the set of `(idea, participant)` rows its batch inserted, taking the
/// rows it claims out of the set: a row two reports of the batch named is new for the first only.
fn answer(pending: Pending, new: Result<&mut HashSet<(Uuid, Uuid)>, StoreError>, stats: &Stats) {
    let total = pending.idea_ids.len() as u64;
    let outcome = new.map(|new| {
        pending
            .idea_ids
            .iter()
            .filter(|idea| new.remove(&(**idea, pending.participant_id)))
            .count() as u64
    });
    match &outcome {
        Ok(recorded) => {
            Stats::add(&stats.recorded, *recorded);
            Stats::add(&stats.repeated, total - recorded);
        }
        Err(_) => Stats::add(&stats.failed, total),
    }
    // The caller may have gone; the impressions are written (or failed) all the same.
    let _ = pending.reply.send(outcome);
}

/// One transaction for `batch`; returns the rows it inserted. A pair reported twice within the
/// batch is inserted once and counted for the first report that named it.
async fn write(db: &DatabaseConnection, batch: &[Pending]) -> Result<HashSet<(Uuid, Uuid)>, StoreError> {
    let now = Utc::now();
    let mut insert = Query::insert();
    insert.into_table(impressions::Entity).columns([
        impressions::Column::IdeaId,
        impressions::Column::ParticipantId,
        impressions::Column::SeenAt,
    ]);
    let mut pairs: Vec<(Uuid, Uuid)> = batch
        .iter()
        .flat_map(|p| p.idea_ids.iter().map(move |idea| (*idea, p.participant_id)))
        .collect();
    // Insert in key order: two writers inserting overlapping rows wait on each other in one order.
    pairs.sort_unstable();
    pairs.dedup();
    if pairs.is_empty() {
        return Ok(HashSet::new());
    }
    for (idea, participant) in &pairs {
        insert
            .values([(*idea).into(), (*participant).into(), now.into()])
            .map_err(|err| DbErr::Custom(format!("building the impression insert: {err}")))?;
    }
    insert
        .on_conflict(
            OnConflict::columns([impressions::Column::IdeaId, impressions::Column::ParticipantId])
                .do_nothing()
                .to_owned(),
        )
        .returning(
            Query::returning().columns([impressions::Column::IdeaId, impressions::Column::ParticipantId]),
        );

    let txn = begin_write(db).await?;
    let mut new = HashSet::new();
    let mut per_idea: BTreeMap<Uuid, i32> = BTreeMap::new();
    for row in txn.query_all(&insert).await? {
        let idea = row.try_get::<Uuid>("", "idea_id")?;
        let participant = row.try_get::<Uuid>("", "participant_id")?;
        new.insert((idea, participant));
        *per_idea.entry(idea).or_default() += 1;
    }
    if !per_idea.is_empty() {
        if txn.get_database_backend() == DbBackend::Postgres {
            let lock = Query::select()
                .column(ideas::Column::Id)
                .from(ideas::Entity)
                .and_where(Expr::col(ideas::Column::Id).is_in(per_idea.keys().copied()))
                .order_by(ideas::Column::Id, sea_orm::sea_query::Order::Asc)
                .lock(LockType::NoKeyUpdate)
                .to_owned();
            txn.query_all(&lock).await?;
        }
        let moves: Vec<ValueTuple> = per_idea
            .iter()
            .map(|(id, n)| ValueTuple::Many(vec![Value::from(*id), Value::from(*n)]))
            .collect();
        let d = Alias::new("d");
        let update = Query::update()
            .table(ideas::Entity)
            .value(
                Alias::new("impressions"),
                Expr::col((ideas::Entity, Alias::new("impressions")))
                    .add(Expr::col((d.clone(), Alias::new("column2")))),
            )
            .from(TableRef::ValuesList(moves, d.clone().into_iden()))
            .and_where(Expr::col((ideas::Entity, ideas::Column::Id)).equals((d, Alias::new("column1"))))
            .to_owned();
        txn.execute(&update).await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// Each idea's impressions count (`ideas.impressions`), for the ids given; ideas not found are
/// left out.
pub async fn counts(db: &impl ConnectionTrait, idea_ids: &[Uuid]) -> Result<HashMap<Uuid, u64>, StoreError> {
    let mut out = HashMap::with_capacity(idea_ids.len());
    for chunk in idea_ids.chunks(1000) {
        let query = Query::select()
            .column(ideas::Column::Id)
            .column(Alias::new("impressions"))
            .from(ideas::Entity)
            .and_where(Expr::col(ideas::Column::Id).is_in(chunk.iter().copied()))
            .to_owned();
        for row in db.query_all(&query).await? {
            let impressions = row.try_get::<i32>("", "impressions")?;
            out.insert(row.try_get::<Uuid>("", "id")?, count64(i64::from(impressions)));
        }
    }
    Ok(out)
}

/// Each idea's impressions counted from the rows (`COUNT(*)`, not the counter): the audit path of
/// `jamd tally verify`. Ideas without impressions are left out.
pub async fn recount(db: &impl ConnectionTrait, idea_ids: &[Uuid]) -> Result<HashMap<Uuid, u64>, StoreError> {
    let mut out = HashMap::with_capacity(idea_ids.len());
    for chunk in idea_ids.chunks(1000) {
        let query = Query::select()
            .column(impressions::Column::IdeaId)
            .expr_as(Expr::col(impressions::Column::IdeaId).count(), Alias::new("n"))
            .from(impressions::Entity)
            .and_where(Expr::col(impressions::Column::IdeaId).is_in(chunk.iter().copied()))
            .group_by_col(impressions::Column::IdeaId)
            .to_owned();
        for row in db.query_all(&query).await? {
            let n = row.try_get::<i64>("", "n")?;
            out.insert(row.try_get::<Uuid>("", "idea_id")?, count64(n));
        }
    }
    Ok(out)
}

/// True for contention a retry may get past.
fn is_contention(err: &StoreError) -> bool {
    matches!(err, StoreError::Db(db) if crate::error::is_contention(db))
}

/// The same error for every report of a failed batch (`StoreError` is not `Clone`).
fn copy_error(err: &StoreError) -> StoreError {
    match err {
        StoreError::Db(db) => StoreError::Db(db.clone()),
        StoreError::Overloaded => StoreError::Overloaded,
        StoreError::WriterStopped => StoreError::WriterStopped,
        other => StoreError::Db(DbErr::Custom(other.to_string())),
    }
}

/// Which of `idea_ids` are ideas of the jam (any status: a participant may have seen an idea
/// before it was hidden).
pub async fn ideas_in(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    idea_ids: &[Uuid],
) -> Result<HashSet<Uuid>, StoreError> {
    if idea_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let query = Query::select()
        .column(ideas::Column::Id)
        .from(ideas::Entity)
        .and_where(Expr::col(ideas::Column::Id).is_in(idea_ids.iter().copied()))
        .and_where(Expr::col(ideas::Column::JamId).eq(jam_id))
        .to_owned();
    let mut out = HashSet::with_capacity(idea_ids.len());
    for row in db.query_all(&query).await? {
        out.insert(row.try_get::<Uuid>("", "id")?);
    }
    Ok(out)
}
