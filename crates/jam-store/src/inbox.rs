//! The inbox (issue 18): follows, notification rows, the read watermark, the inbox page (stored
//! notifications merged with the jam's announcements) and the names `@mentions` resolve against.
//!
//! Work is proportional to the people told: a comment writes one row per recipient; an
//! announcement writes none here, since every inbox reads the jam's `announcements` (and counts
//! the unread ones) at read time.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{announcements, follows, inboxes, notifications, participants};

/// Rows per multi-row insert: well under SQLite's bound-parameter limit at ten columns a row.
const INSERT_CHUNK: usize = 500;

/// `participant_id` follows `idea_id` (again: nothing changes).
pub async fn follow(
    db: &impl ConnectionTrait,
    idea_id: Uuid,
    participant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    follows::Entity::insert(follows::ActiveModel {
        idea_id: Set(idea_id),
        participant_id: Set(participant_id),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([follows::Column::IdeaId, follows::Column::ParticipantId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Stops following (not following already: nothing changes).
pub async fn unfollow(
    db: &impl ConnectionTrait,
    idea_id: Uuid,
    participant_id: Uuid,
) -> Result<(), StoreError> {
    follows::Entity::delete_by_id((idea_id, participant_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn is_following(
    db: &impl ConnectionTrait,
    idea_id: Uuid,
    participant_id: Uuid,
) -> Result<bool, StoreError> {
    Ok(follows::Entity::find_by_id((idea_id, participant_id))
        .one(db)
        .await?
        .is_some())
}

/// Everyone following `idea_id`, in the order they followed.
pub async fn followers(db: &impl ConnectionTrait, idea_id: Uuid) -> Result<Vec<Uuid>, StoreError> {
    Ok(follows::Entity::find()
        .select_only()
        .column(follows::Column::ParticipantId)
        .filter(follows::Column::IdeaId.eq(idea_id))
        .order_by_asc(follows::Column::CreatedAt)
        .into_tuple()
        .all(db)
        .await?)
}

/// Writes notification rows (in the caller's transaction, so they stand or fall with the post).
pub async fn insert(db: &impl ConnectionTrait, rows: &[notifications::Model]) -> Result<(), StoreError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        notifications::Entity::insert_many(chunk.iter().cloned().map(notifications::ActiveModel::from))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// One inbox entry: a stored notification or one of the jam's announcements.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Notification(notifications::Model),
    Announcement(announcements::Model),
}

impl Entry {
    pub fn id(&self) -> Uuid {
        match self {
            Entry::Notification(n) => n.id,
            Entry::Announcement(a) => a.id,
        }
    }
}

/// A page of `participant_id`'s inbox in jam `jam_id`, newest first, older than `before`: the
/// newest `limit` of their notifications and the jam's announcements together (two indexed reads
/// of at most `limit` rows each, merged by id).
pub async fn page(
    db: &impl ConnectionTrait,
    participant_id: Uuid,
    jam_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Entry>, StoreError> {
    let mut mine =
        notifications::Entity::find().filter(notifications::Column::ParticipantId.eq(participant_id));
    let mut heard = announcements::Entity::find().filter(announcements::Column::JamId.eq(jam_id));
    if let Some(before) = before {
        mine = mine.filter(notifications::Column::Id.lt(before));
        heard = heard.filter(announcements::Column::Id.lt(before));
    }
    let mine = mine
        .order_by_desc(notifications::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let heard = heard
        .order_by_desc(announcements::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut entries: Vec<Entry> = mine
        .into_iter()
        .map(Entry::Notification)
        .chain(heard.into_iter().map(Entry::Announcement))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.id()));
    entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(entries)
}

/// The id of the newest entry `participant_id` has read, if any.
pub async fn read_until(db: &impl ConnectionTrait, participant_id: Uuid) -> Result<Option<Uuid>, StoreError> {
    Ok(inboxes::Entity::find_by_id(participant_id)
        .one(db)
        .await?
        .and_then(|i| i.read_until))
}

/// How many entries newer than `read_until` the inbox holds: two indexed counts.
pub async fn unread(
    db: &impl ConnectionTrait,
    participant_id: Uuid,
    jam_id: Uuid,
    read_until: Option<Uuid>,
) -> Result<u64, StoreError> {
    let mut mine =
        notifications::Entity::find().filter(notifications::Column::ParticipantId.eq(participant_id));
    let mut heard = announcements::Entity::find().filter(announcements::Column::JamId.eq(jam_id));
    if let Some(read) = read_until {
        mine = mine.filter(notifications::Column::Id.gt(read));
        heard = heard.filter(announcements::Column::Id.gt(read));
    }
    Ok(mine.count(db).await? + heard.count(db).await?)
}

/// Marks every entry up to `up_to` read. The watermark only moves forward, also when two marks
/// race (the upsert keeps the larger), so an older page marked late never makes entries unread.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    participant_id: Uuid,
    up_to: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let current = Expr::col((inboxes::Entity, inboxes::Column::ReadUntil));
    inboxes::Entity::insert(inboxes::ActiveModel {
        participant_id: Set(participant_id),
        read_until: Set(Some(up_to)),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(inboxes::Column::ParticipantId)
            .update_columns([inboxes::Column::ReadUntil, inboxes::Column::UpdatedAt])
            .action_and_where(current.clone().is_null().or(current.lt(up_to)))
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// `%` and `_` match themselves in a `LIKE` pattern (escaped with `\`).
fn like_prefix(prefix: &str) -> LikeExpr {
    let escaped: String = prefix
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    LikeExpr::new(format!("{escaped}%")).escape('\\')
}

/// `word` as it may be stored: as given, lower-case, capitalised, upper-case. SQLite's `lower()`
/// and `LIKE` fold ASCII only, so `@éloïse` must also look for `Éloïse` as written.
fn spellings(word: &str) -> Vec<String> {
    let lower = word.to_lowercase();
    let mut chars = lower.chars();
    let capital: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for s in [word.to_owned(), lower.clone(), capital, word.to_uppercase()] {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The jam's participants (not voided) whose display name starts with one of `prefixes`, ignoring
/// case: the candidates a mention or the `@name` picker resolves against. At most `limit`, by name.
pub async fn names_starting(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    prefixes: &[String],
    limit: u64,
) -> Result<Vec<(Uuid, String)>, StoreError> {
    if prefixes.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    let mut tried = HashSet::new();
    for prefix in prefixes {
        for spelled in spellings(prefix.trim_start()) {
            if tried.insert(spelled.clone()) {
                any = any
                    .add(Expr::col(participants::Column::DisplayName).like(like_prefix(&spelled)))
                    .add(
                        Expr::expr(Func::lower(Expr::col(participants::Column::DisplayName)))
                            .like(like_prefix(&spelled.to_lowercase())),
                    );
            }
        }
    }
    Ok(participants::Entity::find()
        .select_only()
        .column(participants::Column::Id)
        .column(participants::Column::DisplayName)
        .filter(participants::Column::JamId.eq(jam_id))
        .filter(participants::Column::VoidedAt.is_null())
        .filter(any)
        .order_by_asc(participants::Column::DisplayName)
        .order_by_asc(participants::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_looks_for_each_way_a_name_may_be_written() {
        assert_eq!(spellings("éloïse"), ["éloïse", "Éloïse", "ÉLOÏSE"]);
        assert_eq!(spellings("Ada"), ["Ada", "ada", "ADA"]);
    }
}
