//! `mood_alerts`: per jam, the state of the negative-mood alert (`jam-server`'s `mood_alert`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mood_alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jam_id: Uuid,
    /// The last minute the alert was evaluated at (server clock).
    pub evaluated_until: DateTimeUtc,
    /// Raised: the negative share is above the threshold; it fires again only after it fell below.
    pub active: bool,
    /// When the raised alert fired.
    pub since: Option<DateTimeUtc>,
    /// How many times it fired in this jam.
    pub fired: i32,
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
