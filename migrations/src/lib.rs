//! OpenJam's schema as one sea-orm migration set that runs unchanged on SQLite and PostgreSQL.
//!
//! Layout:
//! - `m20261127_000001_initial`: every table, key and index of the first release, built with
//!   sea-query's backend-neutral schema builders, with a `down` that drops it all again.
//! - `m20261201_000001_tally_dirty`: the tally ticker's change log (`tally_dirty`) and the trigger on
//!   `ideas` that fills it, and the deployment id that names its lease; written per backend, since triggers have no backend-neutral builder.
//! - `m20261203_000001_tally_leaves`: `ideas.votes_rev` and the per-idea leaf cache of the tally's
//!   digest (`tally_leaves`).
//! - `m20261205_000001_jam_parts_rev`: `jams.parts_rev`, bumped by triggers on `sessions` and
//!   `audiences`, which lets a node reuse a jam's parts while they have not changed.
//! - `m20261206_000001_vote_counters`: PostgreSQL's `move_idea_counters`, a vote batch's counter
//!   update in one round trip.
//! - `m20261208_000001_join_counts`: `join_counts`, new participants per jam, client address and UTC
//!   day, which caps how many voters one address can mint with a shared invite code.
//! - `m20261210_000006_sentiment`: each idea's and comment's sentiment (label and score, written
//!   with the post), the mood alert's state per jam (`mood_alerts`), and the `(jam_id, created_at)`
//!   indexes the mood series reads by.
//! - `m20261210_000003_staff_void`: disabled staff and their last sign-in, voided participants and
//!   the address they joined from, why an item is hidden, flags that count toward the threshold,
//!   and the jam's `auto_hide`.
//! - `m20261210_000001_admission_invites`: how each audience admits participants (`code`, `invite`,
//!   `sso`) and personal invites (`invites`, tokens stored hashed, redeemed once, revocable).
//! - `m20261210_000002_oidc_identities`: OpenID Connect: the participant of a jam and the staff
//!   account each provider identity (issuer, subject) is, and the sign-ins under way (`oidc_logins`).
//! - `m20261210_000004_search`: full-text search: `ideas.search_text` rewritten as analysed terms
//!   (English and French stems, accents folded), indexed by SQLite FTS5 (`ideas_fts`, kept by
//!   triggers) and a PostgreSQL generated `tsvector` with a GIN index.
//! - `m20261210_000007_fairness`: impressions (one row per participant and idea seen) and
//!   `ideas.impressions`, their count (issue 17).
//! - `m20261212_000001_hide_counts`: the jam option `hide_counts_until_voted` (issue 17).
//! - `m20261213_000001_notifications`: the inbox (issue 18): `notifications` (one row per person
//!   told), `follows` (participant and idea) and `inboxes` (how far each participant has read).
//! - `m20261213_000002_polls`: quick polls (`polls`) and one answer per participant (`poll_answers`).
//! - `m20261214_000001_search_vocab`: SQLite's `ideas_fts_vocab`, each search term's document
//!   frequency, from which similar ideas pick a draft's rarest terms.
//! - `m20261211_000001_themes`: the themes of each jam's latest clustering run (`themes`: stable id,
//!   label terms, size, run time), each idea's theme (`idea_themes`), and when each jam was last
//!   clustered (`theme_runs`).
//! - `m20261215_000001_tally_dirty_rev`: the tally's change log stamps a queued idea with its
//!   `votes_rev`, a version that never repeats, so a late delete cannot drop a newer change.
//!
//! Conventions every migration here follows:
//! - ids are UUID columns (stored as 16-byte blobs by SQLite, `uuid` by PostgreSQL), so both
//!   backends order them the same way bytewise, and v7 ids sort by time on both;
//! - times are `timestamp with time zone` (text in SQLite), always written in UTC;
//! - JSON is stored as text, so the same entity type reads it on both backends;
//! - each migration runs inside one transaction on both backends (SQLite has transactional DDL
//!   too), so a failed migration leaves nothing half-applied.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

mod columns;
mod m20261127_000001_initial;
mod m20261201_000001_tally_dirty;
mod m20261203_000001_tally_leaves;
mod m20261205_000001_jam_parts_rev;
mod m20261206_000001_vote_counters;
mod m20261208_000001_join_counts;
mod m20261210_000001_admission_invites;
mod m20261210_000002_oidc_identities;
mod m20261210_000003_staff_void;
mod m20261210_000004_search;
mod m20261210_000006_sentiment;
mod m20261210_000007_fairness;
mod m20261211_000001_themes;
mod m20261212_000001_hide_counts;
mod m20261213_000001_notifications;
mod m20261213_000002_polls;
mod m20261214_000001_search_vocab;
mod m20261215_000001_tally_dirty_rev;

/// The ordered list of OpenJam's migrations; `Migrator::up(db, None)` applies the pending ones.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_initial::Migration),
            Box::new(m20261201_000001_tally_dirty::Migration),
            Box::new(m20261203_000001_tally_leaves::Migration),
            Box::new(m20261205_000001_jam_parts_rev::Migration),
            Box::new(m20261206_000001_vote_counters::Migration),
            Box::new(m20261208_000001_join_counts::Migration),
            Box::new(m20261210_000006_sentiment::Migration),
            Box::new(m20261210_000003_staff_void::Migration),
            Box::new(m20261210_000001_admission_invites::Migration),
            Box::new(m20261210_000002_oidc_identities::Migration),
            Box::new(m20261210_000004_search::Migration),
            Box::new(m20261210_000007_fairness::Migration),
            Box::new(m20261212_000001_hide_counts::Migration),
            Box::new(m20261213_000001_notifications::Migration),
            Box::new(m20261213_000002_polls::Migration),
            Box::new(m20261214_000001_search_vocab::Migration),
            Box::new(m20261211_000001_themes::Migration),
            Box::new(m20261215_000001_tally_dirty_rev::Migration),
        ]
    }
}

/// Runs the statements written for the connection's backend, in order (for what sea-query's
/// backend-neutral builders cannot say, such as triggers).
async fn run_per_backend(
    manager: &SchemaManager<'_>,
    sqlite: &[&str],
    postgres: &[&str],
) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DatabaseBackend::Sqlite => sqlite,
        DatabaseBackend::Postgres => postgres,
        other => return Err(DbErr::Migration(format!("unsupported backend {other:?}"))),
    };
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}
