//! `theme_runs`: per jam, when its themes were last computed and what its ideas looked like then.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "theme_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jam_id: Uuid,
    /// When the run was (server clock).
    pub run_at: DateTimeUtc,
    /// The jam's ideas (every status) the run read.
    pub ideas: i32,
    /// The latest `ideas.updated_at` among them (none without ideas).
    pub ideas_updated_at: Option<DateTimeUtc>,
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
}

impl ActiveModelBehavior for ActiveModel {}
