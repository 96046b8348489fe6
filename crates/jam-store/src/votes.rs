//! Votes: one row per participant per idea (the primary key), `1`, `-1` or `0` (retracted), and the
//! idea's denormalized `up`, `down` and `voters` kept equal to those rows.
//!
//! Correctness rests on three rules, all inside one transaction per vote:
//! 1. The participant's row is created if missing (`INSERT … ON CONFLICT DO NOTHING`) and otherwise
//!    read under a row lock (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite the transaction holds the
//!    database's write lock from `BEGIN IMMEDIATE`), so two requests of one participant for one idea
//!    take turns and each sees the other's result as its "old" vote.
//! 2. The idea's counters move by the delta between the old and the new vote with
//!    `UPDATE ideas SET up = up + ?` (never read-modify-write), so concurrent voters on one idea
//!    cannot overwrite each other.
//! 3. The counts returned are read after that update in the same transaction: they include this
//!    vote and every vote committed before it.
//!
//! The locks are always taken vote row first, then idea row, so votes never deadlock each other.
//!
//! [`cast`] writes one vote in its own transaction. The server goes through the batched writer
//! ([`crate::vote_writer`]), which applies the same rules to many votes at once with a fixed number
//! of statements per batch, and falls back to [`cast`] vote by vote when a batch fails.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jam_domain::{AudienceId, IdeaId, ItemStatus, JamId, ParticipantId, VoteValue};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{ideas, votes};
use crate::write::begin_write;

/// One participant's vote on one idea. The ids are typed so that two of them cannot be swapped.
#[derive(Debug, Clone, Copy)]
pub struct VoteInput {
    pub idea_id: IdeaId,
    pub participant_id: ParticipantId,
    pub jam_id: JamId,
    /// The voter's audience, copied onto the row for per-audience results.
    pub audience_id: AudienceId,
    pub value: VoteValue,
    pub at: DateTime<Utc>,
}

/// The idea's counts right after the vote, and the vote it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteOutcome {
    pub idea_id: Uuid,
    pub up: i32,
    pub down: i32,
    pub voters: i32,
    /// The participant's vote now.
    pub value: i16,
    /// The participant's vote before (`0` for none).
    pub previous: i16,
}

/// Records one vote in its own transaction and returns the idea's counts after it. Idempotent:
/// repeating a vote changes nothing and returns the same counts (plus other voters' votes).
pub async fn cast(db: &DatabaseConnection, vote: VoteInput) -> Result<VoteOutcome, StoreError> {
    let txn = begin_write(db).await?;
    let outcome = apply(&txn, &vote).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Applies one vote inside the caller's transaction (see the module docs for why it is correct).
/// Call it only inside a transaction begun with [`crate::write::begin_write`].
pub async fn apply(db: &impl ConnectionTrait, vote: &VoteInput) -> Result<VoteOutcome, StoreError> {
    // The idea must still take votes, checked under the row lock the counter update takes anyway:
    // a moderator's hide or merge that committed after the request's own check wins.
    let status: Option<ItemStatus> = ideas::Entity::find_by_id(vote.idea_id.0)
        .select_only()
        .column(ideas::Column::Status)
        .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
        .into_tuple()
        .one(db)
        .await?;
    if status.is_some_and(|s| !s.takes_votes()) {
        return Err(StoreError::IdeaClosed);
    }
    let row = votes::Model::new(
        vote.idea_id,
        vote.participant_id,
        vote.jam_id,
        vote.audience_id,
        vote.value,
        vote.at,
    );
    let inserted = votes::Entity::insert(votes::ActiveModel::from(row))
        .on_conflict(
            OnConflict::columns([votes::Column::IdeaId, votes::Column::ParticipantId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let previous = if inserted == 1 {
        0
    } else {
        let old = votes::Entity::find_by_id((vote.idea_id.0, vote.participant_id.0))
            .lock_exclusive()
            .one(db)
            .await?
            .map_or(0, |v| v.value);
        if old != vote.value.as_i16() {
            votes::Entity::update_many()
                .col_expr(votes::Column::Value, Expr::value(vote.value.as_i16()))
                .col_expr(votes::Column::UpdatedAt, Expr::value(vote.at))
                .filter(votes::Column::IdeaId.eq(vote.idea_id.0))
                .filter(votes::Column::ParticipantId.eq(vote.participant_id.0))
                .exec(db)
                .await?;
        }
        old
    };
    let (du, dd, dv) = delta(previous, vote.value.as_i16());
    if (du, dd, dv) != (0, 0, 0) {
        ideas::Entity::update_many()
            .col_expr(ideas::Column::Up, Expr::col(ideas::Column::Up).add(du))
            .col_expr(ideas::Column::Down, Expr::col(ideas::Column::Down).add(dd))
            .col_expr(ideas::Column::Voters, Expr::col(ideas::Column::Voters).add(dv))
            .col_expr(ideas::Column::VotesRev, Expr::col(ideas::Column::VotesRev).add(1))
            .filter(ideas::Column::Id.eq(vote.idea_id.0))
            .exec(db)
            .await?;
    }
    let (up, down, voters): (i32, i32, i32) = ideas::Entity::find_by_id(vote.idea_id.0)
        .select_only()
        .column(ideas::Column::Up)
        .column(ideas::Column::Down)
        .column(ideas::Column::Voters)
        .into_tuple()
        .one(db)
        .await?
        .ok_or_else(|| StoreError::Db(sea_orm::DbErr::RecordNotFound("idea".into())))?;
    Ok(VoteOutcome {
        idea_id: vote.idea_id.0,
        up,
        down,
        voters,
        value: vote.value.as_i16(),
        previous,
    })
}

/// How `up`, `down` and `voters` change when a vote goes from `old` to `new`.
pub fn delta(old: i16, new: i16) -> (i32, i32, i32) {
    let flag = |b: bool| i32::from(b);
    (
        flag(new == 1) - flag(old == 1),
        flag(new == -1) - flag(old == -1),
        flag(new != 0) - flag(old != 0),
    )
}

/// The participant's votes on these ideas (ideas without a vote are absent; retracted ones are 0).
pub async fn mine(
    db: &impl ConnectionTrait,
    participant_id: Uuid,
    idea_ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, i16>, StoreError> {
    let ids: Vec<Uuid> = idea_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(votes::Entity::find()
        .filter(votes::Column::ParticipantId.eq(participant_id))
        .filter(votes::Column::IdeaId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.idea_id, v.value))
        .collect())
}

/// Counts an idea's `+1` and `-1` rows afresh (to check the denormalized counters).
pub async fn recount(db: &impl ConnectionTrait, idea_id: Uuid) -> Result<(u64, u64), StoreError> {
    let count = |value: i16| {
        votes::Entity::find()
            .filter(votes::Column::IdeaId.eq(idea_id))
            .filter(votes::Column::Value.eq(value))
            .count(db)
    };
    Ok((count(1).await?, count(-1).await?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn deltas_move_each_counter_by_at_most_one() {
        assert_eq!(delta(0, 1), (1, 0, 1));
        assert_eq!(delta(1, -1), (-1, 1, 0));
        assert_eq!(delta(-1, 0), (0, -1, -1));
        for v in [-1, 0, 1] {
            assert_eq!(delta(v, v), (0, 0, 0), "repeating a vote changes nothing");
            for w in [-1, 0, 1] {
                let (a, b) = (delta(v, w), delta(w, v));
                assert_eq!((a.0 + b.0, a.1 + b.1, a.2 + b.2), (0, 0, 0));
            }
        }
    }

    /// A writer that cannot get SQLite's write lock within the busy timeout fails with an error
    /// the server answers with 503 and `Retry-After`, not 500.
    #[tokio::test]
    async fn a_sqlite_writer_locked_out_past_the_busy_timeout_is_unavailable_not_an_internal_error() {
        let dir = tempfile::tempdir().unwrap();
        let settings = |busy_ms| crate::DbSettings {
            url: format!("sqlite://{}", dir.path().join("busy.db").display()),
            max_connections: 1,
            min_connections: 1,
            connect_timeout: std::time::Duration::from_secs(5),
            sqlite_busy_timeout: std::time::Duration::from_millis(busy_ms),
        };
        let holder = crate::connect(&settings(5000)).await.unwrap();
        let waiter = crate::connect(&settings(50)).await.unwrap();
        let held = begin_write(&holder).await.unwrap();
        let err = begin_write(&waiter).await.err().unwrap();
        assert!(err.is_unavailable(), "{err:?}");
        held.rollback().await.unwrap();
        assert!(
            begin_write(&waiter).await.is_ok(),
            "free again once the lock is gone"
        );
    }
}
