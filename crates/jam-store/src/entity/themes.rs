//! `themes`: the themes of each jam's latest clustering run (`crate::themes`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "themes")]
pub struct Model {
    /// Stable across runs: a theme that continues keeps it (`jam_pulse::themes`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub jam_id: Uuid,
    /// JSON array of the label's terms (3–5, fewer for a tiny theme).
    #[sea_orm(column_type = "Text")]
    pub label: String,
    /// Ideas in the theme at the run.
    pub size: i32,
    /// When the run that wrote it was (server clock).
    pub run_at: DateTimeUtc,
}

impl Model {
    /// The label's terms; an unreadable label (never written by this code) reads as none.
    pub fn terms(&self) -> Vec<String> {
        serde_json::from_str(&self.label).unwrap_or_default()
    }
}

/// The `label` column: the terms as a JSON array of strings.
pub fn label_json(terms: &[String]) -> String {
    // `Value`'s `Display` writes JSON and cannot fail, unlike `serde_json::to_string`'s signature.
    serde_json::Value::from(terms.to_vec()).to_string()
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
    #[sea_orm(has_many = "super::idea_themes::Entity")]
    Ideas,
}

impl Related<super::idea_themes::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ideas.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
