//! Quick polls (issue 18): asking, one answer per participant (the key decides, so two answers at
//! once still make one), and the results counted from the answers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{poll_answers, polls};

pub async fn insert(db: &impl ConnectionTrait, poll: polls::Model) -> Result<(), StoreError> {
    polls::Entity::insert(polls::ActiveModel::from(poll))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<polls::Model>, StoreError> {
    Ok(polls::Entity::find_by_id(id).one(db).await?)
}

/// A session's polls, newest first.
pub async fn in_session(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    limit: u64,
) -> Result<Vec<polls::Model>, StoreError> {
    Ok(polls::Entity::find()
        .filter(polls::Column::SessionId.eq(session_id))
        .order_by_desc(polls::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Records `participant_id`'s answer; false when they had already answered (the first stands).
pub async fn answer(
    db: &impl ConnectionTrait,
    poll_id: Uuid,
    participant_id: Uuid,
    choice: i16,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let written = poll_answers::Entity::insert(poll_answers::ActiveModel {
        poll_id: Set(poll_id),
        participant_id: Set(participant_id),
        choice: Set(choice),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([poll_answers::Column::PollId, poll_answers::Column::ParticipantId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(written == 1)
}

/// Answers per option of each poll, in one grouped query: `poll id → counts by option index`
/// (`options` long; a poll without answers is all zeros).
pub async fn results(
    db: &impl ConnectionTrait,
    polls: &[polls::Model],
) -> Result<HashMap<Uuid, Vec<u32>>, StoreError> {
    let mut out: HashMap<Uuid, Vec<u32>> = polls
        .iter()
        .map(|p| (p.id, vec![0; p.option_list().len()]))
        .collect();
    if polls.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, i16, i64)> = poll_answers::Entity::find()
        .select_only()
        .column(poll_answers::Column::PollId)
        .column(poll_answers::Column::Choice)
        .column_as(Expr::col(poll_answers::Column::ParticipantId).count(), "n")
        .filter(poll_answers::Column::PollId.is_in(polls.iter().map(|p| p.id)))
        .group_by(poll_answers::Column::PollId)
        .group_by(poll_answers::Column::Choice)
        .into_tuple()
        .all(db)
        .await?;
    for (poll, choice, n) in rows {
        if let (Some(counts), Ok(i)) = (out.get_mut(&poll), usize::try_from(choice))
            && let Some(slot) = counts.get_mut(i)
        {
            *slot = u32::try_from(n).unwrap_or(u32::MAX);
        }
    }
    Ok(out)
}

/// `participant_id`'s answers to these polls: `poll id → option index`.
pub async fn mine(
    db: &impl ConnectionTrait,
    participant_id: Uuid,
    poll_ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, i16>, StoreError> {
    let rows: Vec<(Uuid, i16)> = poll_answers::Entity::find()
        .select_only()
        .column(poll_answers::Column::PollId)
        .column(poll_answers::Column::Choice)
        .filter(poll_answers::Column::ParticipantId.eq(participant_id))
        .filter(poll_answers::Column::PollId.is_in(poll_ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
