//! The tally's reads and writes: what `jam-tally` needs to rank a jam (one compact row per idea with
//! its counters and cached digest leaf, the canonical sorted vote set in pages, the texts and
//! per-audience counts of chosen ideas), the leaf cache, the facilitators' curation decisions, the
//! frozen shortlist snapshot, and the per-hour and per-session activity of the dashboard.
//!
//! Every read is bounded: ranking rows are one row per idea, texts and counts are read for chosen
//! ideas a chunk at a time, while the vote set itself, which can hold millions of rows, is read a
//! chunk of ideas at a time in primary-key order ([`sorted_votes`]), so a caller hashes it without
//! holding it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    AccessMode, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, FromQueryResult, IsolationLevel, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{
    ideas, jams, participants, shortlist_curation, shortlist_snapshots, staff, tally_leaves, votes,
};

/// Ideas per query when reading the sorted vote set: small enough for any backend's bound-parameter
/// limit, large enough that a jam of 100,000 ideas takes 200 round trips.
pub const VOTE_CHUNK_IDEAS: usize = 500;

/// Begins a read-only transaction that sees one consistent state of the database for all its
/// statements: `REPEATABLE READ` on PostgreSQL (whose default isolation gives each statement its own
/// snapshot); on SQLite a deferred transaction, which reads one WAL snapshot from its first read on.
/// The tally reads counts, facts and the vote set in separate statements, and they must agree.
pub async fn begin_snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, StoreError> {
    Ok(match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                .await?
        }
        _ => db.begin().await?,
    })
}

/// Begins the publishing transaction: it reads the whole tally and then writes the snapshot, so it
/// takes SQLite's write lock at once ([`crate::write::begin_write`]) and reads one snapshot on
/// PostgreSQL (`REPEATABLE READ`; a concurrent publish then fails on the snapshot's unique key).
pub async fn begin_publish(db: &DatabaseConnection) -> Result<crate::write::WriteTxn, StoreError> {
    match db.get_database_backend() {
        DbBackend::Postgres => Ok(crate::write::WriteTxn::without_turn(
            db.begin_with_config(Some(IsolationLevel::RepeatableRead), None)
                .await?,
        )),
        _ => crate::write::begin_write(db).await,
    }
}

/// One idea as the ranking reads it: status, counters, and the cached leaf of its votes with the
/// `votes_rev` it was computed at (`None`s when the idea has no cached leaf).
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct RankingRow {
    pub id: Uuid,
    pub status: jam_domain::ItemStatus,
    pub up: i32,
    pub down: i32,
    /// Distinct participants who saw the idea (`ideas.impressions`).
    pub impressions: i32,
    pub created_at: DateTime<Utc>,
    pub votes_rev: i64,
    pub leaf_rev: Option<i64>,
    pub leaf_votes: Option<i64>,
    pub leaf: Option<Vec<u8>>,
}

/// Ranking rows per page of [`ranking_rows`].
pub const RANKING_PAGE: u64 = 5000;

/// One page of the jam's ideas, whatever their status, in id order (the digest's order) after `after`,
/// with their cached leaves: at most `limit` rows of about 150 bytes, no text. Read a jam page by page
/// (keyset, inside one snapshot transaction) so that the driver's rows are never held all at once.
pub async fn ranking_rows(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<RankingRow>, StoreError> {
    let mut query = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::Id)
        .column(ideas::Column::Status)
        .column(ideas::Column::Up)
        .column(ideas::Column::Down)
        .column(ideas::Column::Impressions)
        .column(ideas::Column::CreatedAt)
        .column(ideas::Column::VotesRev)
        .column_as(tally_leaves::Column::Rev, "leaf_rev")
        .column_as(tally_leaves::Column::Votes, "leaf_votes")
        .column_as(tally_leaves::Column::Leaf, "leaf")
        .join_rev(JoinType::LeftJoin, tally_leaves::Relation::Idea.def())
        .filter(ideas::Column::JamId.eq(jam_id));
    if let Some(after) = after {
        query = query.filter(ideas::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(ideas::Column::Id)
        .limit(limit)
        .into_model::<RankingRow>()
        .all(db)
        .await?)
}

/// A leaf computed from an idea's vote rows at its `votes_rev`, for the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLeaf {
    pub idea_id: Uuid,
    pub rev: i64,
    pub votes: i64,
    pub leaf: Vec<u8>,
}

/// Rows per statement when saving leaves (4 bound values each).
const LEAVES_PER_STATEMENT: usize = 1000;

/// Stores leaves in the cache, replacing what it held for those ideas. Any pair of `rev` and leaf
/// computed from the rows at that `rev` is true, so two nodes saving at once cannot make it lie: the
/// worst case is an older leaf replacing a newer one, which is then recomputed once.
pub async fn save_leaves(db: &impl ConnectionTrait, leaves: &[NewLeaf]) -> Result<(), StoreError> {
    for chunk in leaves.chunks(LEAVES_PER_STATEMENT) {
        tally_leaves::Entity::insert_many(chunk.iter().map(|leaf| tally_leaves::ActiveModel {
            idea_id: Set(leaf.idea_id),
            rev: Set(leaf.rev),
            votes: Set(leaf.votes),
            leaf: Set(leaf.leaf.clone()),
        }))
        .on_conflict(
            OnConflict::column(tally_leaves::Column::IdeaId)
                .update_columns([
                    tally_leaves::Column::Rev,
                    tally_leaves::Column::Votes,
                    tally_leaves::Column::Leaf,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// What the shortlist and the exports show of an idea besides its counts.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct IdeaText {
    pub id: Uuid,
    pub title: String,
    pub session_id: Uuid,
    /// The author's display name.
    pub author: String,
    pub comments: i32,
}

/// Ideas per query when reading texts and per-audience counts of chosen ideas (bound parameters).
pub const TEXT_CHUNK_IDEAS: usize = 500;

/// The texts of the ideas `ids` (any order; unknown ids are left out).
pub async fn idea_texts(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<IdeaText>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(TEXT_CHUNK_IDEAS) {
        out.extend(
            ideas::Entity::find()
                .select_only()
                .column(ideas::Column::Id)
                .column(ideas::Column::Title)
                .column(ideas::Column::SessionId)
                .column_as(participants::Column::DisplayName, "author")
                .column(ideas::Column::Comments)
                .join(JoinType::InnerJoin, ideas::Relation::Author.def())
                .filter(ideas::Column::Id.is_in(chunk.iter().copied()))
                .into_model::<IdeaText>()
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Non-zero votes of one idea from one audience with one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteCount {
    pub idea_id: Uuid,
    pub audience_id: Uuid,
    /// `1` or `-1`.
    pub value: i16,
    pub count: u64,
}

/// The non-zero votes on the ideas `ids` counted per idea, voter's audience and value (at most
/// ideas × audiences × 2 rows), read through the votes' primary key.
pub async fn vote_counts(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<VoteCount>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(TEXT_CHUNK_IDEAS) {
        let rows: Vec<(Uuid, Uuid, i16, i64)> = votes::Entity::find()
            .select_only()
            .column(votes::Column::IdeaId)
            .column(votes::Column::AudienceId)
            .column(votes::Column::Value)
            .column_as(Expr::col(votes::Column::IdeaId).count(), "n")
            .filter(votes::Column::IdeaId.is_in(chunk.iter().copied()))
            .filter(votes::Column::Value.ne(0))
            .group_by(votes::Column::IdeaId)
            .group_by(votes::Column::AudienceId)
            .group_by(votes::Column::Value)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(
            rows.into_iter()
                .map(|(idea_id, audience_id, value, n)| VoteCount {
                    idea_id,
                    audience_id,
                    value,
                    count: crate::entity::count64(n),
                }),
        );
    }
    Ok(out)
}

/// The non-zero votes on `idea_ids` sorted by `(idea_id, participant_id)`, the canonical order of the
/// digest. Reads the votes table by its primary key; call it with consecutive chunks (at most
/// [`VOTE_CHUNK_IDEAS`]) of the ideas in id order to read a jam's vote set in order.
pub async fn sorted_votes(
    db: &impl ConnectionTrait,
    idea_ids: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, i16)>, StoreError> {
    if idea_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(votes::Entity::find()
        .select_only()
        .column(votes::Column::IdeaId)
        .column(votes::Column::ParticipantId)
        .column(votes::Column::Value)
        .filter(votes::Column::IdeaId.is_in(idea_ids.iter().copied()))
        .filter(votes::Column::Value.ne(0))
        .order_by_asc(votes::Column::IdeaId)
        .order_by_asc(votes::Column::ParticipantId)
        .into_tuple()
        .all(db)
        .await?)
}

/// What a curation row does to its idea; the latest row per idea is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CurationAction {
    Exclude,
    Pin,
    /// Undoes an earlier exclusion or pin.
    Clear,
}

impl CurationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CurationAction::Exclude => "exclude",
            CurationAction::Pin => "pin",
            CurationAction::Clear => "clear",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "exclude" => Some(CurationAction::Exclude),
            "pin" => Some(CurationAction::Pin),
            "clear" => Some(CurationAction::Clear),
            _ => None,
        }
    }
}

/// One decision to record.
#[derive(Debug, Clone)]
pub struct NewCuration {
    pub idea_id: Uuid,
    pub action: CurationAction,
    /// Empty for pins and clears.
    pub reason: String,
}

/// Records decisions (in the caller's transaction, with its audit entry). Rows keep their order
/// through `(created_at, id)`: the ids are v7, increasing within a call.
pub async fn record_curation(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    staff_id: Option<Uuid>,
    decisions: &[NewCuration],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for decision in decisions {
        shortlist_curation::Entity::insert(shortlist_curation::ActiveModel {
            id: Set(Uuid::now_v7()),
            jam_id: Set(jam_id),
            idea_id: Set(decision.idea_id),
            action: Set(decision.action.as_str().to_owned()),
            reason: Set(decision.reason.clone()),
            staff_id: Set(staff_id),
            created_at: Set(at),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// A decision in force: the latest row of its idea, with who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurationInForce {
    pub idea_id: Uuid,
    pub action: CurationAction,
    pub reason: String,
    /// The staff member's display name (empty if the account is gone).
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The decisions in force for the jam (the latest row per idea, `clear` rows dropped), by idea id.
pub async fn curation_in_force(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<Vec<CurationInForce>, StoreError> {
    let rows = shortlist_curation::Entity::find()
        .filter(shortlist_curation::Column::JamId.eq(jam_id))
        .order_by_asc(shortlist_curation::Column::CreatedAt)
        .order_by_asc(shortlist_curation::Column::Id)
        .all(db)
        .await?;
    let mut latest: HashMap<Uuid, shortlist_curation::Model> = HashMap::new();
    for row in rows {
        latest.insert(row.idea_id, row);
    }
    let staff_ids: Vec<Uuid> = latest.values().filter_map(|r| r.staff_id).collect();
    let names: HashMap<Uuid, String> = if staff_ids.is_empty() {
        HashMap::new()
    } else {
        staff::Entity::find()
            .select_only()
            .column(staff::Column::Id)
            .column(staff::Column::DisplayName)
            .filter(staff::Column::Id.is_in(staff_ids))
            .into_tuple::<(Uuid, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let mut out: Vec<CurationInForce> = latest
        .into_values()
        .filter_map(|row| {
            let action = CurationAction::parse(&row.action)?;
            (action != CurationAction::Clear).then(|| CurationInForce {
                idea_id: row.idea_id,
                action,
                by: row
                    .staff_id
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or_default(),
                reason: row.reason,
                at: row.created_at,
            })
        })
        .collect();
    out.sort_by_key(|c| c.idea_id);
    Ok(out)
}

/// Which of `ids` are ideas of the jam.
pub async fn ideas_of_jam(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ideas::Entity::find()
        .select_only()
        .column(ideas::Column::Id)
        .filter(ideas::Column::JamId.eq(jam_id))
        .filter(ideas::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?)
}

/// Marks the jam changed (`updated_at`) unless it is published, in the caller's write transaction;
/// false when it is published. Curation calls it first: the row write orders it against a concurrent
/// publish (SQLite: one writer at a time; PostgreSQL: the row lock, and publishing's `REPEATABLE READ`
/// fails rather than freeze a snapshot that misses a decision committed meanwhile).
pub async fn touch_unpublished(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let updated = jams::Entity::update_many()
        .col_expr(jams::Column::UpdatedAt, Expr::value(at))
        .filter(jams::Column::Id.eq(jam_id))
        .filter(jams::Column::PublishedAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// The jam's published snapshot, if any.
pub async fn snapshot(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<Option<shortlist_snapshots::Model>, StoreError> {
    Ok(shortlist_snapshots::Entity::find()
        .filter(shortlist_snapshots::Column::JamId.eq(jam_id))
        .one(db)
        .await?)
}

/// Writes the snapshot and sets `jams.published_at` (in the caller's transaction). `Duplicate` when
/// the jam already has a snapshot or is already published (a concurrent publish got there first).
pub async fn publish(
    db: &impl ConnectionTrait,
    snapshot: shortlist_snapshots::Model,
) -> Result<(), StoreError> {
    let (jam_id, at) = (snapshot.jam_id, snapshot.published_at);
    shortlist_snapshots::Entity::insert(shortlist_snapshots::ActiveModel::from(snapshot))
        .exec_without_returning(db)
        .await
        .map_err(StoreError::from_insert)?;
    let updated = jams::Entity::update_many()
        .col_expr(jams::Column::PublishedAt, Expr::value(Some(at)))
        .col_expr(jams::Column::UpdatedAt, Expr::value(at))
        .filter(jams::Column::Id.eq(jam_id))
        .filter(jams::Column::PublishedAt.is_null())
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(StoreError::Duplicate);
    }
    Ok(())
}

/// Ideas, comments and non-zero votes in one bucket (an hour or a session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    pub ideas: u64,
    pub comments: u64,
    pub votes: u64,
}

/// The jam's activity per UTC hour, keyed by the hour's start as `YYYY-MM-DDTHH:00:00Z` (so the keys
/// sort by time), in order. Ideas and comments count at their creation, votes at their last change
/// (`updated_at`), retracted votes not at all. Grouped in the database with each backend's own way to
/// truncate a time to the hour (the one backend-specific SQL of this module).
pub async fn activity_per_hour(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<Vec<(String, Activity)>, StoreError> {
    let backend = db.get_database_backend();
    let hour = |column: &str| match backend {
        DbBackend::Postgres => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')")
        }
        // strftime reads the stored RFC 3339 text (with its offset) and answers in UTC.
        _ => format!("strftime('%Y-%m-%dT%H:00:00Z', {column})"),
    };
    let placeholder = match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    };
    let sql = format!(
        "SELECT 'i' AS kind, {ih} AS hour, COUNT(*) AS n FROM ideas WHERE jam_id = {p} GROUP BY {ih} \
         UNION ALL \
         SELECT 'c' AS kind, {ch} AS hour, COUNT(*) AS n FROM comments WHERE jam_id = {p} GROUP BY {ch} \
         UNION ALL \
         SELECT 'v' AS kind, {vh} AS hour, COUNT(*) AS n FROM votes WHERE jam_id = {p} AND value <> 0 GROUP BY {vh}",
        ih = hour("created_at"),
        ch = hour("created_at"),
        vh = hour("updated_at"),
        p = placeholder,
    );
    // PostgreSQL numbers its parameters, so one `$1` serves all three; SQLite's `?` takes one each.
    let values: Vec<sea_orm::Value> = match backend {
        DbBackend::Postgres => vec![jam_id.into()],
        _ => vec![jam_id.into(), jam_id.into(), jam_id.into()],
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut hours: std::collections::BTreeMap<String, Activity> = std::collections::BTreeMap::new();
    for row in rows {
        let kind: String = row.try_get("", "kind")?;
        let Some(hour) = row.try_get::<Option<String>>("", "hour")? else {
            continue;
        };
        let n = crate::entity::count64(row.try_get::<i64>("", "n")?);
        let slot = hours.entry(hour).or_default();
        match kind.as_str() {
            "i" => slot.ideas += n,
            "c" => slot.comments += n,
            _ => slot.votes += n,
        }
    }
    Ok(hours.into_iter().collect())
}

/// The jam's activity per session (ideas posted in it, comments and non-zero votes on its ideas).
/// Sessions without activity are absent.
pub async fn activity_per_session(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
) -> Result<HashMap<Uuid, Activity>, StoreError> {
    let mut out: HashMap<Uuid, Activity> = HashMap::new();
    let ideas: Vec<(Uuid, i64)> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::SessionId)
        .column_as(Expr::col(ideas::Column::Id).count(), "n")
        .filter(ideas::Column::JamId.eq(jam_id))
        .group_by(ideas::Column::SessionId)
        .into_tuple()
        .all(db)
        .await?;
    for (session, n) in ideas {
        out.entry(session).or_default().ideas = crate::entity::count64(n);
    }
    let comments: Vec<(Uuid, i64)> = crate::entity::comments::Entity::find()
        .select_only()
        .column_as(
            Expr::col((Alias::new("i"), ideas::Column::SessionId)),
            "session_id",
        )
        .column_as(
            Expr::col((
                crate::entity::comments::Entity,
                crate::entity::comments::Column::Id,
            ))
            .count(),
            "n",
        )
        .join_as(
            sea_orm::JoinType::InnerJoin,
            crate::entity::comments::Relation::Idea.def(),
            Alias::new("i"),
        )
        .filter(crate::entity::comments::Column::JamId.eq(jam_id))
        .group_by(Expr::col((Alias::new("i"), ideas::Column::SessionId)))
        .into_tuple()
        .all(db)
        .await?;
    for (session, n) in comments {
        out.entry(session).or_default().comments = crate::entity::count64(n);
    }
    let votes: Vec<(Uuid, i64)> = votes::Entity::find()
        .select_only()
        .column_as(
            Expr::col((Alias::new("i"), ideas::Column::SessionId)),
            "session_id",
        )
        .column_as(Expr::col((votes::Entity, votes::Column::IdeaId)).count(), "n")
        .join_as(
            sea_orm::JoinType::InnerJoin,
            votes::Relation::Idea.def(),
            Alias::new("i"),
        )
        .filter(votes::Column::JamId.eq(jam_id))
        .filter(votes::Column::Value.ne(0))
        .group_by(Expr::col((Alias::new("i"), ideas::Column::SessionId)))
        .into_tuple()
        .all(db)
        .await?;
    for (session, n) in votes {
        out.entry(session).or_default().votes = crate::entity::count64(n);
    }
    Ok(out)
}
