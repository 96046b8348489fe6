//! PostgreSQL: `move_idea_counters(moves json)`, steps 4 and 5 of a vote batch in one round trip
//! (`jam_store::vote_writer`).
//!
//! Every batch of every node wants the same popular ideas' rows, and holds them from its lock to its
//! commit; each round trip inside that window is time every other batch waits. The function locks
//! the touched ideas in id order, then moves their counters and returns them, so the window is two
//! round trips (this call, `COMMIT`) instead of three. It is a volatile PL/pgSQL function so that
//! its two statements take two snapshots: the `UPDATE` sees the row versions the lock waited for.
//! (One SQL statement doing both, a locking CTE joined by the `UPDATE`, deadlocks: the `UPDATE` reads
//! the older version and must queue for the row it already holds.) The lock is `FOR NO KEY UPDATE`,
//! the one the `UPDATE` takes anyway: `FOR UPDATE` would also conflict with the `KEY SHARE` locks
//! that other batches' vote inserts hold on the idea (the foreign key check), and two batches would
//! deadlock on each other's ideas.
//!
//! `moves` is a JSON array of `{"id", "du", "dd", "dv", "rev"}`: the deltas of `up`, `down`,
//! `voters` and `votes_rev`. SQLite needs nothing: it has one writer at a time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &["CREATE FUNCTION move_idea_counters(moves json)
     RETURNS TABLE (idea_id uuid, new_up integer, new_down integer, new_voters integer, idea_status text)
     LANGUAGE plpgsql VOLATILE AS $$
     BEGIN
        PERFORM 1 FROM ideas i
            WHERE i.id IN (SELECT d.id FROM json_to_recordset(moves) AS d (id uuid))
            ORDER BY i.id FOR NO KEY UPDATE;
        RETURN QUERY
            UPDATE ideas i SET up = i.up + d.du, down = i.down + d.dd, voters = i.voters + d.dv,
                votes_rev = i.votes_rev + d.rev
            FROM json_to_recordset(moves) AS d (id uuid, du integer, dd integer, dv integer, rev bigint)
            WHERE i.id = d.id
            RETURNING i.id, i.up, i.down, i.voters, i.status::text;
     END
     $$"];

const POSTGRES_DOWN: &[&str] = &["DROP FUNCTION IF EXISTS move_idea_counters(json)"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, &[], POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_per_backend(manager, &[], POSTGRES_DOWN).await
    }
}
