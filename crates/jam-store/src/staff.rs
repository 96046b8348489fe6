//! Staff accounts.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::staff;

pub struct NewStaff<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password_hash: String,
    pub now: DateTime<Utc>,
}

/// Creates an account; `StoreError::Duplicate` when the e-mail is taken.
pub async fn insert(db: &impl ConnectionTrait, new: NewStaff<'_>) -> Result<staff::Model, StoreError> {
    let model = staff::Model::new(
        new.email.to_owned(),
        new.display_name.to_owned(),
        new.role.to_owned(),
        new.password_hash,
        new.now,
    );
    staff::Entity::insert(staff::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await
        .map_err(StoreError::from_insert)?;
    Ok(model)
}

pub async fn by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<staff::Model>, StoreError> {
    Ok(staff::Entity::find()
        .filter(staff::Column::Email.eq(email))
        .one(db)
        .await?)
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<staff::Model>, StoreError> {
    Ok(staff::Entity::find_by_id(id).one(db).await?)
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(staff::Entity::find().count(db).await?)
}

/// Every account, oldest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<staff::Model>, StoreError> {
    use sea_orm::QueryOrder;
    Ok(staff::Entity::find()
        .order_by_asc(staff::Column::CreatedAt)
        .order_by_asc(staff::Column::Id)
        .all(db)
        .await?)
}

/// Admins that are not disabled.
pub async fn active_admins(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(staff::Entity::find()
        .filter(staff::Column::Role.eq("admin"))
        .filter(staff::Column::DisabledAt.is_null())
        .count(db)
        .await?)
}

/// What an admin changes on an account (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct StaffChange {
    pub role: Option<String>,
    /// `Some(Some(t))` disables at `t`, `Some(None)` enables.
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    pub password_hash: Option<String>,
}

/// Applies `change` to the account `id`.
pub async fn update(db: &impl ConnectionTrait, id: Uuid, change: StaffChange) -> Result<(), StoreError> {
    use sea_orm::ActiveValue::{NotSet, Set};
    let model = staff::ActiveModel {
        id: Set(id),
        role: change.role.map_or(NotSet, Set),
        disabled_at: change.disabled_at.map_or(NotSet, Set),
        password_hash: change.password_hash.map_or(NotSet, Set),
        ..Default::default()
    };
    staff::Entity::update(model).exec(db).await?;
    Ok(())
}

/// Records a password sign-in at `now`.
pub async fn signed_in(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
    use sea_orm::sea_query::Expr;
    staff::Entity::update_many()
        .col_expr(staff::Column::LastSignInAt, Expr::value(Some(now)))
        .filter(staff::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
