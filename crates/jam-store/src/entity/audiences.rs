//! `audiences`: named groups of a jam's participants, each with its own invite code.

use jam_domain::Admission;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audiences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique together with `name`.
    pub jam_id: Uuid,
    pub name: String,
    /// Unique across all jams.
    #[sea_orm(unique)]
    pub invite_code: String,
    /// Display order within the jam.
    pub position: i32,
    /// How participants join: the shared code, personal invites or single sign-on.
    pub admission: Admission,
}

impl Model {
    /// A new audience of `jam_id`, shown at `position` among the jam's audiences, admitting with its
    /// shared code (see [`Model::admitting`]).
    pub fn new(jam_id: Uuid, name: String, invite_code: String, position: i32) -> Self {
        Self {
            id: Uuid::now_v7(),
            jam_id,
            name,
            invite_code,
            position,
            admission: Admission::Code,
        }
    }

    /// The same audience admitting by `admission`.
    pub fn admitting(self, admission: Admission) -> Self {
        Self { admission, ..self }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::jams::Entity",
        from = "Column::JamId",
        to = "super::jams::Column::Id",
        on_delete = "Cascade"
    )]
    Jam,
    #[sea_orm(has_many = "super::participants::Entity")]
    Participants,
}

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl Related<super::participants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participants.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
