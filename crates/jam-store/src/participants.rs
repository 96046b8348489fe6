//! Participants: people who joined one jam through an audience's invite code.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::participants;

/// Inserts a participant (the caller has checked the code, the name and the guidelines).
pub async fn insert(db: &impl ConnectionTrait, participant: participants::Model) -> Result<(), StoreError> {
    participants::Entity::insert(participants::ActiveModel::from(participant))
        .exec_without_returning(db)
        .await
        .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<participants::Model>, StoreError> {
    Ok(participants::Entity::find_by_id(id).one(db).await?)
}

/// The participants with these ids, by id (for the authors of a page of ideas or comments).
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, participants::Model>, StoreError> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(participants::Entity::find()
        .filter(participants::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect())
}

/// One participant as staff list them, with what they did.
#[derive(Debug, Clone)]
pub struct Listed {
    pub participant: participants::Model,
    pub ideas: u64,
    pub comments: u64,
    /// Non-zero votes.
    pub votes: u64,
    pub flags: u64,
    /// New participants that joined this jam from the same address (all days).
    pub joins_from_address: u64,
}

/// A page of a jam's participants in joining order (ids are v7) after `after`, whose display name
/// contains `q` (case-insensitive, when given), with their activity counts; and the next cursor.
pub async fn list(
    db: &impl ConnectionTrait,
    jam_id: Uuid,
    q: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<Listed>, Option<Uuid>), StoreError> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    use sea_orm::{QueryOrder, QuerySelect};

    use crate::entity::{comments, flags, ideas, join_counts, votes};

    let mut find = participants::Entity::find().filter(participants::Column::JamId.eq(jam_id));
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.to_lowercase().replace(['%', '_'], ""));
        find =
            find.filter(Expr::expr(Func::lower(Expr::col(participants::Column::DisplayName))).like(pattern));
    }
    if let Some(after) = after {
        find = find.filter(participants::Column::Id.gt(after));
    }
    let mut found = find
        .order_by_asc(participants::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next = if found.len() as u64 > limit {
        found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        found.last().map(|p| p.id)
    } else {
        None
    };
    let ids: Vec<Uuid> = found.iter().map(|p| p.id).collect();
    if ids.is_empty() {
        return Ok((Vec::new(), next));
    }
    let count_by = |rows: Vec<(Uuid, i64)>| -> HashMap<Uuid, u64> {
        rows.into_iter()
            .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
            .collect()
    };
    let idea_counts = count_by(
        ideas::Entity::find()
            .select_only()
            .column(ideas::Column::AuthorId)
            .column_as(Expr::col(ideas::Column::Id).count(), "n")
            .filter(ideas::Column::AuthorId.is_in(ids.clone()))
            .group_by(ideas::Column::AuthorId)
            .into_tuple()
            .all(db)
            .await?,
    );
    let comment_counts = count_by(
        comments::Entity::find()
            .select_only()
            .column(comments::Column::AuthorId)
            .column_as(Expr::col(comments::Column::Id).count(), "n")
            .filter(comments::Column::AuthorId.is_in(ids.clone()))
            .group_by(comments::Column::AuthorId)
            .into_tuple()
            .all(db)
            .await?,
    );
    let vote_counts = count_by(
        votes::Entity::find()
            .select_only()
            .column(votes::Column::ParticipantId)
            .column_as(Expr::col(votes::Column::IdeaId).count(), "n")
            .filter(votes::Column::ParticipantId.is_in(ids.clone()))
            .filter(votes::Column::Value.ne(0))
            .group_by(votes::Column::ParticipantId)
            .into_tuple()
            .all(db)
            .await?,
    );
    let flag_counts = count_by(
        flags::Entity::find()
            .select_only()
            .column(flags::Column::ParticipantId)
            .column_as(Expr::col(flags::Column::Id).count(), "n")
            .filter(flags::Column::ParticipantId.is_in(ids.clone()))
            .group_by(flags::Column::ParticipantId)
            .into_tuple()
            .all(db)
            .await?,
    );
    let keys: Vec<String> = found.iter().filter_map(|p| p.address_key.clone()).collect();
    let joins: HashMap<String, u64> = if keys.is_empty() {
        HashMap::new()
    } else {
        join_counts::Entity::find()
            .select_only()
            .column(join_counts::Column::AddressKey)
            .column_as(Expr::col(join_counts::Column::Joins).sum(), "n")
            .filter(join_counts::Column::JamId.eq(jam_id))
            .filter(join_counts::Column::AddressKey.is_in(keys))
            .group_by(join_counts::Column::AddressKey)
            .into_tuple::<(String, Option<i64>)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(k, n)| (k, n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)))
            .collect()
    };
    let listed = found
        .into_iter()
        .map(|p| Listed {
            ideas: idea_counts.get(&p.id).copied().unwrap_or(0),
            comments: comment_counts.get(&p.id).copied().unwrap_or(0),
            votes: vote_counts.get(&p.id).copied().unwrap_or(0),
            flags: flag_counts.get(&p.id).copied().unwrap_or(0),
            joins_from_address: p
                .address_key
                .as_ref()
                .and_then(|k| joins.get(k))
                .copied()
                .unwrap_or(0),
            participant: p,
        })
        .collect();
    Ok((listed, next))
}
