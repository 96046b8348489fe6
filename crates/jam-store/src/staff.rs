//! Staff accounts.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
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
    let model = staff::Model {
        id: Uuid::now_v7(),
        email: new.email.to_owned(),
        display_name: new.display_name.to_owned(),
        role: new.role.to_owned(),
        password_hash: new.password_hash,
        created_at: new.now,
    };
    let active = staff::ActiveModel {
        id: Set(model.id),
        email: Set(model.email.clone()),
        display_name: Set(model.display_name.clone()),
        role: Set(model.role.clone()),
        password_hash: Set(model.password_hash.clone()),
        created_at: Set(model.created_at),
    };
    staff::Entity::insert(active)
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
