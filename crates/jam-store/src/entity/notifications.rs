//! `notifications`: one inbox entry per person told (issue 18); announcements are not stored here
//! but merged into each inbox from `announcements`.

use jam_domain::NotificationKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// v7: the inbox's order (newest first) and its read watermark.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who is told.
    pub participant_id: Uuid,
    pub jam_id: Uuid,
    pub kind: NotificationKind,
    pub idea_id: Option<Uuid>,
    pub comment_id: Option<Uuid>,
    /// Who caused it (a participant's display name at the time), when someone did.
    pub actor_name: Option<String>,
    /// The idea's title at the time.
    pub idea_title: Option<String>,
    /// The start of the comment or idea that caused it.
    #[sea_orm(column_type = "Text", nullable)]
    pub excerpt: Option<String>,
    pub created_at: DateTimeUtc,
}

impl Model {
    /// An entry telling `participant_id` of `kind` about `idea` (its title copied), `now`.
    pub fn about(
        participant_id: Uuid,
        kind: NotificationKind,
        idea: &super::ideas::Model,
        now: DateTimeUtc,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            participant_id,
            jam_id: idea.jam_id,
            kind,
            idea_id: Some(idea.id),
            comment_id: None,
            actor_name: None,
            idea_title: Some(idea.title.clone()),
            excerpt: None,
            created_at: now,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
