//! sea-orm entities, one module per table of `jam-migrations`, named after the table.
//!
//! Column types match the migration on both backends: ids are `Uuid`, times are `DateTimeUtc`
//! (`chrono::DateTime<Utc>`; PostgreSQL keeps microseconds, so write times truncated to
//! microseconds if you compare them after a round trip), counters are `i32` (revisions `i64`), a vote's value is
//! `i16`, JSON columns are `String` holding JSON text.
//!
//! Enumerated columns with a closed set of values that code branches on (a post's `ItemStatus`, a
//! jam's ranking `Method`) are jam-domain's enums, mapped to their column by sea-orm there (the
//! `sea-orm` feature of jam-domain), so no query spells a status. Other enumerated strings (roles,
//! kinds) are `String`s that jam-domain parses at the edge of each query.
//!
//! Counters are stored as signed integers (what both backends have); [`count`] and [`count64`] are
//! the one place they become unsigned counts.
//!
//! The format is sea-orm's classic one (`Model`, `Relation`, `Related`, `ActiveModelBehavior`),
//! written by hand; relations cover the joins the queries need.

pub mod announcements;
pub mod audiences;
pub mod audit_log;
pub mod auth_sessions;
pub mod comments;
pub mod flags;
pub mod follows;
pub mod idea_themes;
pub mod ideas;
pub mod impressions;
pub mod inboxes;
pub mod invites;
pub mod jams;
pub mod join_counts;
pub mod mood_alerts;
pub mod notifications;
pub mod oidc_logins;
pub mod participant_identities;
pub mod participants;
pub mod poll_answers;
pub mod polls;
pub mod sessions;
pub mod shortlist_curation;
pub mod shortlist_snapshots;
pub mod staff;
pub mod staff_identities;
pub mod tally_leaves;
pub mod theme_runs;
pub mod themes;
pub mod transitions;
pub mod votes;

/// A stored counter (`i32`) as a count. Counters move by the deltas of rows that exist, so they never
/// go below zero; should one ever read negative (a bug elsewhere), it counts as zero rather than wrapping.
pub fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// [`count`] for 64-bit sums (`COUNT(*)`, `SUM(…)`).
pub fn count64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Every entity under a table-like name (`Jams`, `Ideas`, …), for `use jam_store::entity::prelude::*`.
pub mod prelude {
    pub use super::announcements::Entity as Announcements;
    pub use super::audiences::Entity as Audiences;
    pub use super::audit_log::Entity as AuditLog;
    pub use super::auth_sessions::Entity as AuthSessions;
    pub use super::comments::Entity as Comments;
    pub use super::flags::Entity as Flags;
    pub use super::ideas::Entity as Ideas;
    pub use super::invites::Entity as Invites;
    pub use super::jams::Entity as Jams;
    pub use super::join_counts::Entity as JoinCounts;
    pub use super::participants::Entity as Participants;
    pub use super::sessions::Entity as Sessions;
    pub use super::shortlist_curation::Entity as ShortlistCuration;
    pub use super::shortlist_snapshots::Entity as ShortlistSnapshots;
    pub use super::staff::Entity as Staff;
    pub use super::tally_leaves::Entity as TallyLeaves;
    pub use super::transitions::Entity as Transitions;
    pub use super::votes::Entity as Votes;
}
