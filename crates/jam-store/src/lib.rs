//! OpenJam storage: sea-orm entities, queries and connection setup for SQLite and PostgreSQL.
//!
//! Layout:
//! - `entity`: one sea-orm entity per table of `jam-migrations`, plus a `prelude`.
//! - `connect`: builds the connection pool from `DbSettings` (SQLite or PostgreSQL, chosen by the
//!   URL) and applies migrations under a lock.
//! - `error`: `StoreError` and the backend-neutral checks for unique and foreign-key violations.
//! - `audit`: the audit log (who did what, when), written in the change's own transaction.
//! - `auth`: sign-ins keyed by the hash of their cookie token, shared by every node.
//! - `comments`: threaded replies on an idea; counted on the idea in the same transaction.
//! - `ideas`: posting, editing, the `hot`/`top`/`new` feeds with keyset cursors.
//! - `invites`: personal invites (found by their token's hash, redeemed once, revoked), an
//!   audience's admission mode and shared code.
//! - `inbox`: follows, notification rows, the read watermark, inbox pages (notifications merged
//!   with announcements) and the names `@mentions` resolve against (issue 18).
//! - `impressions`: the impression writer (group commit, one row per participant and idea seen,
//!   counted on `ideas.impressions` in the same transaction).
//! - `jams`: jams with audiences and sessions; facilitators' writes; dashboard counts.
//! - `join_caps`: the cap on new participants per jam, client address and UTC day, counted in the
//!   database so every node enforces the same cap.
//! - `mood`: posts' sentiments by time for the mood series, the most negative and positive ideas,
//!   and the mood alert's state per jam.
//! - `moderation`: flags and the hide threshold, the moderation queue, hide/restore/remove, and
//!   merging a duplicate idea with its votes carried over once per voter.
//! - `oidc`: OpenID Connect: sign-ins under way (state, nonce, PKCE verifier) and the participant or
//!   staff account each provider identity is.
//! - `polls`: quick polls, one answer per participant, results counted from the answers.
//! - `participants`: people who joined a jam with an invite code.
//! - `search`: full-text search (SQLite FTS5, PostgreSQL `tsvector`) with facets and keyset pages,
//!   similar ideas, likely duplicate pairs and a session's top tags.
//! - `schedule`: the schedule runner's queries: record transitions once, claim and publish them.
//! - `staff`: staff accounts.
//! - `themes`: a jam's themes from its latest clustering run and each idea's theme: the job's reads
//!   (visible ideas' texts, the previous run, whether ideas changed) and its run saved in one
//!   transaction; a theme's ideas in pages, labels for the exports, activity per theme for hot topics.
//! - `tally`: what the tally reads (ideas, vote counts, the sorted vote set in chunks), curation
//!   decisions, the published snapshot, and activity per hour and per session.
//! - `tally_dirty`: the live tally's queue of changed ideas (filled by a trigger in the writes' own
//!   transactions) and the deployment's id, read and settled by the tally ticker.
//! - `votes`: one vote per participant per idea and the idea's counters; `cast` writes one vote in
//!   its own transaction.
//! - `void`: voiding a participant: their votes and flags removed (counters, leaves and live tallies
//!   follow), what their flags hid shown again, their posts hidden pending review.
//! - `vote_writer`: the batched vote writer (group commit): one queue and one writer per node, many
//!   votes per transaction, each request answered after its batch commits.
//!
//! Queries are free functions taking `&impl ConnectionTrait`, so they run the same on a pool or
//! inside a transaction.

pub mod entity;

mod connect;
mod error;

pub mod audit;
pub mod auth;
pub mod comments;
pub mod ideas;
pub mod impressions;
pub mod inbox;
pub mod invites;
pub mod jams;
pub mod join_caps;
pub mod moderation;
pub mod mood;
pub mod oidc;
pub mod participants;
pub mod polls;
pub mod schedule;
pub mod search;
pub mod staff;
pub mod tally;
pub mod tally_dirty;
pub mod themes;
pub mod vote_writer;
pub mod votes;
pub mod write;

pub mod void;

pub use jams::JamFull;

pub use connect::{DbSettings, connect, migrate};
pub use error::{StoreError, is_foreign_key_violation, is_unique_violation};

/// Re-exported so callers name the same sea-orm version as this crate.
pub use sea_orm;
