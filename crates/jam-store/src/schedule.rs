//! Queries of the schedule runner: which jams to watch, what was recorded, and the claim-publish
//! protocol over the `transitions` table.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait, TryInsertResult,
};
use uuid::Uuid;

use crate::StoreError;
use crate::audit::{self, Actor, NewAudit};
use crate::entity::{jams, transitions};
use crate::jams::JamFull;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Jam,
    Session,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Jam => "jam",
            SubjectKind::Session => "session",
        }
    }
}

/// A state change the runner found due.
#[derive(Debug, Clone)]
pub struct NewTransition {
    pub jam_id: Uuid,
    pub subject_kind: SubjectKind,
    pub subject_id: Uuid,
    /// 1 + the last recorded seq of the subject; the unique key `(subject_id, seq)` makes it once.
    pub seq: i32,
    pub from_state: String,
    pub to_state: String,
    pub at: DateTime<Utc>,
    /// Caused by a facilitator's action rather than the clock.
    pub manual: bool,
}

/// The last recorded transition of a subject.
#[derive(Debug, Clone)]
pub struct Last {
    pub seq: i32,
    pub to_state: String,
    pub at: DateTime<Utc>,
}

/// Jams whose state can still change: scheduled, and not published more than a day ago.
pub async fn active_jams(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<JamFull>, StoreError> {
    let jams = jams::Entity::find()
        .filter(jams::Column::ScheduledAt.is_not_null())
        .filter(
            jams::Column::PublishedAt
                .is_null()
                .or(jams::Column::PublishedAt.gt(now - Duration::days(1))),
        )
        .all(db)
        .await?;
    crate::jams::load_full(db, jams).await
}

/// The last transition of the jam and of each of its sessions.
pub async fn last_transitions(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<HashMap<Uuid, Last>, StoreError> {
    let rows = transitions::Entity::find()
        .filter(transitions::Column::JamId.eq(jam_id))
        .order_by_asc(transitions::Column::Seq)
        .all(db)
        .await?;
    let mut last = HashMap::new();
    for row in rows {
        last.insert(
            row.subject_id,
            Last {
                seq: row.seq,
                to_state: row.to_state,
                at: row.at,
            },
        );
    }
    Ok(last)
}

/// Inserts the transitions, each with an audit entry, and returns how many this call recorded.
/// A subject whose next seq another node recorded first is skipped (its rows came from the same
/// schedule, so they are the same transitions).
pub async fn record(
    db: &DatabaseConnection,
    due: Vec<NewTransition>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut recorded = 0;
    let mut lost_race: Vec<Uuid> = Vec::new();
    for t in due {
        if lost_race.contains(&t.subject_id) {
            continue;
        }
        let txn = db.begin().await?;
        let id = Uuid::now_v7();
        let row = transitions::ActiveModel {
            id: Set(id),
            jam_id: Set(t.jam_id),
            subject_kind: Set(t.subject_kind.as_str().to_owned()),
            subject_id: Set(t.subject_id),
            seq: Set(t.seq),
            from_state: Set(t.from_state.clone()),
            to_state: Set(t.to_state.clone()),
            at: Set(t.at),
            cause: Set(if t.manual { "manual" } else { "schedule" }.to_owned()),
            recorded_at: Set(now),
            published_at: Set(None),
            claimed_by: Set(None),
            claimed_at: Set(None),
        };
        let inserted = transitions::Entity::insert(row)
            .on_conflict_do_nothing_on([transitions::Column::SubjectId, transitions::Column::Seq])
            .exec_without_returning(&txn)
            .await?;
        if !matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
            txn.rollback().await?;
            lost_race.push(t.subject_id);
            continue;
        }
        audit::record(
            &txn,
            NewAudit {
                jam_id: Some(t.jam_id),
                actor: Actor::System,
                action: format!("{}.{}", t.subject_kind.as_str(), t.to_state),
                subject_kind: t.subject_kind.as_str(),
                subject_id: Some(t.subject_id),
                detail: serde_json::json!({
                    "transition_id": id, "seq": t.seq, "from": t.from_state, "to": t.to_state,
                    "at": t.at, "cause": if t.manual { "manual" } else { "schedule" },
                }),
                at: now,
            },
        )
        .await?;
        txn.commit().await?;
        recorded += 1;
    }
    Ok(recorded)
}

/// Atomically claims up to `limit` unpublished transitions that nobody holds (or whose claim went
/// stale), oldest first. Concurrent callers never get the same row.
pub async fn claim_unpublished(
    db: &impl ConnectionTrait,
    node: &str,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<transitions::Model>, StoreError> {
    let claimable = transitions::Column::PublishedAt.is_null().and(
        transitions::Column::ClaimedAt
            .is_null()
            .or(transitions::Column::ClaimedAt.lt(stale_before)),
    );
    let ids = Query::select()
        .column(transitions::Column::Id)
        .from(transitions::Entity)
        .cond_where(claimable.clone())
        .order_by(transitions::Column::Id, sea_orm::Order::Asc)
        .limit(limit)
        .to_owned();
    let mut rows = transitions::Entity::update_many()
        .col_expr(transitions::Column::ClaimedBy, Expr::value(node.to_owned()))
        .col_expr(transitions::Column::ClaimedAt, Expr::value(now))
        .filter(transitions::Column::Id.in_subquery(ids))
        .filter(claimable)
        .exec_with_returning(db)
        .await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Gives claims back so another pass (or node) can publish them.
pub async fn release_claims(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    transitions::Entity::update_many()
        .col_expr(
            transitions::Column::ClaimedBy,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            transitions::Column::ClaimedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(transitions::Column::Id.is_in(ids.iter().copied()))
        .filter(transitions::Column::PublishedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn mark_published(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    transitions::Entity::update_many()
        .col_expr(transitions::Column::PublishedAt, Expr::value(now))
        .filter(transitions::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every transition of a jam in schedule order: by the time it took effect, the jam before its sessions
/// at the same time, then by each subject's seq. Ids are not an order here: two nodes recording in the
/// same millisecond make UUIDv7s whose order is random.
pub async fn transitions_of(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<Vec<transitions::Model>, StoreError> {
    Ok(transitions::Entity::find()
        .filter(transitions::Column::JamId.eq(jam_id))
        .order_by_asc(transitions::Column::At)
        .order_by_asc(transitions::Column::SubjectKind)
        .order_by_asc(transitions::Column::Seq)
        .order_by_asc(transitions::Column::Id)
        .limit(10_000)
        .all(db)
        .await?)
}
