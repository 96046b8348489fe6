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
