//! `tally_leaves`: per idea, the leaf hash of its sorted vote rows (the tally digest's cache).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tally_leaves")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub idea_id: Uuid,
    /// The idea's `votes_rev` the leaf was computed at; any other value makes it stale.
    pub rev: i64,
    /// Non-zero votes hashed into the leaf.
    pub votes: i64,
    /// The 32-byte SHA-256 leaf (`jam-tally`'s digest format).
    pub leaf: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::ideas::Entity",
        from = "Column::IdeaId",
        to = "super::ideas::Column::Id",
        on_delete = "Cascade"
    )]
    Idea,
}

impl Related<super::ideas::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Idea.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
