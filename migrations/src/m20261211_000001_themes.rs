//! Themes of a jam (issue 16): the latest clustering run's themes and each idea's theme, written by
//! the re-clustering job (`jam-server`'s `themes_job`) in one transaction per run.
//!
//! - `themes`: one row per theme of the jam's latest run: its stable id (kept across runs by
//!   `jam_pulse::themes`), its label terms (a JSON array of 3–5 strings), its size and when the run
//!   was. A run replaces the jam's rows; a theme that continues keeps its id.
//! - `idea_themes`: each idea's theme in the latest run (ideas with no theme have no row). The
//!   `(theme_id, idea_id)` index pages a theme's ideas in posting order (v7 ids).
//! - `theme_runs`: per jam, when it was last clustered and what its ideas looked like then (how
//!   many, and the latest `updated_at`), so the job skips a jam whose ideas have not changed since.
//! - Every row dies with its jam; an idea's row dies with the idea; a theme's rows with the theme.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Jams {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Ideas {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Themes {
    Table,
    Id,
    JamId,
    Label,
    Size,
    RunAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdeaThemes {
    Table,
    IdeaId,
    JamId,
    ThemeId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ThemeRuns {
    Table,
    JamId,
    RunAt,
    Ideas,
    IdeasUpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Themes::Table)
                    .col(uuid(Themes::Id).primary_key())
                    .col(uuid(Themes::JamId))
                    .col(text(Themes::Label))
                    .col(integer(Themes::Size).default(0))
                    .col(timestamp_with_time_zone(Themes::RunAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_themes_jam_id")
                            .from(Themes::Table, Themes::JamId)
                            .to(Jams::Table, Jams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_themes_jam_id")
                    .table(Themes::Table)
                    .col(Themes::JamId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdeaThemes::Table)
                    .col(uuid(IdeaThemes::IdeaId).primary_key())
                    .col(uuid(IdeaThemes::JamId))
                    .col(uuid(IdeaThemes::ThemeId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idea_themes_idea_id")
                            .from(IdeaThemes::Table, IdeaThemes::IdeaId)
                            .to(Ideas::Table, Ideas::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idea_themes_jam_id")
                            .from(IdeaThemes::Table, IdeaThemes::JamId)
                            .to(Jams::Table, Jams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idea_themes_theme_id")
                            .from(IdeaThemes::Table, IdeaThemes::ThemeId)
                            .to(Themes::Table, Themes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_idea_themes_theme_idea", IdeaThemes::ThemeId),
            ("idx_idea_themes_jam_id", IdeaThemes::JamId),
        ] {
            let mut index = Index::create();
            index.name(name).table(IdeaThemes::Table).col(col);
            if matches!(col, IdeaThemes::ThemeId) {
                index.col(IdeaThemes::IdeaId);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ThemeRuns::Table)
                    .col(uuid(ThemeRuns::JamId).primary_key())
                    .col(timestamp_with_time_zone(ThemeRuns::RunAt))
                    .col(integer(ThemeRuns::Ideas).default(0))
                    .col(timestamp_with_time_zone_null(ThemeRuns::IdeasUpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_theme_runs_jam_id")
                            .from(ThemeRuns::Table, ThemeRuns::JamId)
                            .to(Jams::Table, Jams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ThemeRuns::Table.into_iden(),
            IdeaThemes::Table.into_iden(),
            Themes::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
