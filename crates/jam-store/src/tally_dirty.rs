//! The live tally's queue of changed ideas (`tally_dirty`) and the deployment's id: what the tally
//! ticker (`jam-tally`'s `ticker`) reads and settles each tick.
//!
//! A trigger on `ideas` (migrations `m20261201_000001_tally_dirty`, `m20261215_000001_tally_dirty_rev`)
//! upserts `tally_dirty(idea_id, version)` in the same transaction as any change of `up`/`down`
//! (vote batches, single votes, merges, voids), so a committed change is recorded exactly when it
//! becomes visible, whichever node wrote it. The version is the idea's `votes_rev`, which every
//! statement that moves the counters bumps, so an idea's versions never repeat, even across the
//! row's deletion. The ticker reads the rows with each idea's current counts ([`read`]), publishes,
//! and deletes the rows still at the version it read ([`settle`]): a change committed after the
//! read has a newer version, so its row stays for the next tick, even when the read saw an older
//! snapshot than the delete does.

use jam_domain::ItemStatus;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::count;

/// Rows per `DELETE` of [`settle`] (two bound values each).
const SETTLE_CHUNK: usize = 1000;

/// A changed idea with its committed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirtyIdea {
    pub idea: Uuid,
    /// The row's version: [`settle`] deletes it only if no change came since.
    pub version: i64,
    pub session: Uuid,
    pub status: ItemStatus,
    pub up: u32,
    pub down: u32,
}

/// The id the migration gave this deployment (database): it names the ticker's broker lease, so
/// deployments sharing a broker each have their own publisher.
pub async fn deployment_id(db: &impl ConnectionTrait) -> Result<Uuid, StoreError> {
    let backend = db.get_database_backend();
    let sql = "SELECT id FROM tally_deployment ORDER BY id LIMIT 1";
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("tally_deployment is empty".into()))?;
    Ok(row.try_get("", "id")?)
}

/// At most `limit` changed ideas with their current counts (committed ones: plain reads, no locks).
pub async fn read(db: &impl ConnectionTrait, limit: usize) -> Result<Vec<DirtyIdea>, StoreError> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT d.idea_id AS idea_id, d.version AS version, i.session_id AS session_id, \
         i.status AS status, i.up AS up, i.down AS down \
         FROM tally_dirty d JOIN ideas i ON i.id = d.idea_id LIMIT {limit}"
    );
    let rows = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    let dirty = rows
        .iter()
        .map(|row| {
            Ok(DirtyIdea {
                idea: row.try_get("", "idea_id")?,
                version: row.try_get("", "version")?,
                session: row.try_get("", "session_id")?,
                status: row.try_get("", "status")?,
                up: count(row.try_get("", "up")?),
                down: count(row.try_get("", "down")?),
            })
        })
        .collect::<Result<_, DbErr>>()?;
    Ok(dirty)
}

/// Deletes the rows of `(idea, version)` still at that version (the ones published).
///
/// On PostgreSQL it skips rows a vote batch holds locked (`FOR UPDATE SKIP LOCKED`): such a row is
/// about to get a new version anyway, and waiting for it could deadlock with a batch waiting for a
/// row this delete already removed. On SQLite there is one writer at a time, so nothing changes
/// between the statement's read and its delete.
pub async fn settle(db: &impl ConnectionTrait, settled: &[(Uuid, i64)]) -> Result<(), StoreError> {
    let backend = db.get_database_backend();
    for chunk in settled.chunks(SETTLE_CHUNK) {
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
            _ => format!("DELETE FROM tally_dirty WHERE (idea_id, version) IN (VALUES {tuples})"),
        };
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}
