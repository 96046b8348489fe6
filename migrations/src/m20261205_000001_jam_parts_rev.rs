//! `jams.parts_rev`: how many times the jam's sessions or audiences have changed.
//!
//! Every request of a participant loads its jam with its sessions and audiences (is the session open,
//! may this audience take part). The jam row is read each time; `parts_rev` lets a node keep the
//! sessions and audiences it last read and reuse them while the number is the same, so a vote or a
//! reply costs one query for its jam instead of three (`jam_store::jams::JamCache`).
//!
//! Triggers bump it in the same statement as the change, for every insert, update or delete of a
//! session or an audience, so no write path has to remember it and a committed change is never
//! read with the parts from before it. Written per backend, like the tally's trigger.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows are a jam's parts.
const PARTS: [&str; 2] = ["sessions", "audiences"];

/// SQLite has no procedural functions: three triggers per table (an update that moves a row to
/// another jam bumps both jams).
fn sqlite_up() -> Vec<String> {
    let bump = |row: &str| format!("UPDATE jams SET parts_rev = parts_rev + 1 WHERE id = {row}.jam_id;");
    let mut statements = vec!["ALTER TABLE jams ADD COLUMN parts_rev bigint NOT NULL DEFAULT 0".to_owned()];
    for table in PARTS {
        statements.extend([
            format!("CREATE TRIGGER {table}_parts_rev_insert AFTER INSERT ON {table} BEGIN {} END", bump("NEW")),
            format!(
                "CREATE TRIGGER {table}_parts_rev_update AFTER UPDATE ON {table} BEGIN {} \
                 UPDATE jams SET parts_rev = parts_rev + 1 WHERE id = OLD.jam_id AND OLD.jam_id IS NOT NEW.jam_id; END",
                bump("NEW")
            ),
            format!("CREATE TRIGGER {table}_parts_rev_delete AFTER DELETE ON {table} BEGIN {} END", bump("OLD")),
        ]);
    }
    statements
}

fn sqlite_down() -> Vec<String> {
    let mut statements: Vec<String> = PARTS
        .iter()
        .flat_map(|table| {
            ["insert", "update", "delete"].map(|op| format!("DROP TRIGGER IF EXISTS {table}_parts_rev_{op}"))
        })
        .collect();
    statements.push("ALTER TABLE jams DROP COLUMN parts_rev".to_owned());
    statements
}

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE jams ADD COLUMN parts_rev bigint NOT NULL DEFAULT 0",
    "CREATE FUNCTION jam_parts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        IF TG_OP <> 'INSERT' THEN
            UPDATE jams SET parts_rev = parts_rev + 1 WHERE id = OLD.jam_id;
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.jam_id IS DISTINCT FROM OLD.jam_id) THEN
            UPDATE jams SET parts_rev = parts_rev + 1 WHERE id = NEW.jam_id;
        END IF;
        RETURN NULL;
     END
     $$",
    "CREATE TRIGGER sessions_parts_rev AFTER INSERT OR UPDATE OR DELETE ON sessions
     FOR EACH ROW EXECUTE FUNCTION jam_parts_changed()",
    "CREATE TRIGGER audiences_parts_rev AFTER INSERT OR UPDATE OR DELETE ON audiences
     FOR EACH ROW EXECUTE FUNCTION jam_parts_changed()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS sessions_parts_rev ON sessions",
    "DROP TRIGGER IF EXISTS audiences_parts_rev ON audiences",
    "DROP FUNCTION IF EXISTS jam_parts_changed()",
    "ALTER TABLE jams DROP COLUMN parts_rev",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = sqlite_up();
        crate::run_per_backend(
            manager,
            &sqlite.iter().map(String::as_str).collect::<Vec<_>>(),
            POSTGRES_UP,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = sqlite_down();
        crate::run_per_backend(
            manager,
            &sqlite.iter().map(String::as_str).collect::<Vec<_>>(),
            POSTGRES_DOWN,
        )
        .await
    }
}
