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
