//! `polls`: a quick poll to one session (issue 18): a question, 2 to 6 options, open until
//! `closes_at` by the clock at the moment of each answer.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "polls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    pub session_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub question: String,
    /// The options, a JSON array of strings; an answer names one by its index.
    #[sea_orm(column_type = "Text")]
    pub options: String,
    pub closes_at: DateTimeUtc,
    /// The staff account that asked; NULL once that account is deleted.
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

impl Model {
    /// A poll asked `now` in `session`, by `created_by`.
    pub fn asked(
        session: &super::sessions::Model,
        question: String,
        options: &[String],
        closes_at: DateTimeUtc,
        created_by: Option<Uuid>,
        now: DateTimeUtc,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            jam_id: session.jam_id,
            session_id: session.id,
            question,
            options: serde_json::to_string(options).unwrap_or_else(|_| "[]".into()),
            closes_at,
            created_by,
            created_at: now,
        }
    }

    /// The options as stored.
    pub fn option_list(&self) -> Vec<String> {
        serde_json::from_str(&self.options).unwrap_or_default()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
