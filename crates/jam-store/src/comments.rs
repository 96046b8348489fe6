//! Comments: threaded replies on an idea, oldest first.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::{comments, ideas};
use crate::ideas::Viewer;

/// Inserts a comment and counts it on its idea, both in the caller's transaction (`db`), so the
/// idea's `comments` counter never disagrees with its thread.
pub async fn insert(db: &impl ConnectionTrait, comment: comments::Model) -> Result<(), StoreError> {
    let idea_id = comment.idea_id;
    comments::Entity::insert(comments::ActiveModel::from(comment))
        .exec_without_returning(db)
        .await
        .map_err(StoreError::from_insert)?;
    ideas::Entity::update_many()
        .col_expr(ideas::Column::Comments, Expr::col(ideas::Column::Comments).add(1))
        .filter(ideas::Column::Id.eq(idea_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<comments::Model>, StoreError> {
    Ok(comments::Entity::find_by_id(id).one(db).await?)
}

/// One page of an idea's thread, oldest first (ids are v7), after the id `after`; with the next
/// page's cursor (`None` on the last page).
pub async fn page(
    db: &impl ConnectionTrait,
    idea_id: Uuid,
    viewer: Viewer,
    after: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<comments::Model>, Option<Uuid>), StoreError> {
    let mut q = comments::Entity::find()
        .filter(comments::Column::IdeaId.eq(idea_id))
        .filter(viewer.listable(comments::Column::Status, comments::Column::AuthorId));
    if let Some(after) = after {
        q = q.filter(comments::Column::Id.gt(after));
    }
    let mut items = q
        .order_by_asc(comments::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| c.id)
    } else {
        None
    };
    Ok((items, next))
}
