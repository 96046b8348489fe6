//! `join_counts`: new participants per jam, client address and UTC day (the per-address join cap).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "join_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jam_id: Uuid,
    /// The client's address as a network: `203.0.113.7/32`, `2001:db8:1:2::/64`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub address_key: String,
    /// The UTC day the joins happened on.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    /// Participants this address added to the jam that day (never above the cap in force).
    pub joins: i32,
    /// When the first join over the cap was refused that day; None while none was.
    pub capped_at: Option<DateTimeUtc>,
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

impl Related<super::jams::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Jam.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
