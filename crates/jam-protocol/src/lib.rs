//! Wire types of the public contract (`shared/spec/api.md`, `shared/spec/live.md`), shared by the
//! server, the load generator and the tests. Requests reject unknown fields; responses may grow.
//!
//! Layout:
//! - `polls`: quick polls (re-exported by `api`).
//! - `problem`: RFC 9457 problem details, the body of every error.
//! - `api`: HTTP request and response bodies.
//! - `search`: bodies of search, similar ideas and likely duplicates (re-exported by `api`).
//! - `inbox`: notifications, marking read, following, the `@name` picker (re-exported by `api`).
//! - `live`: live protocol frames and event payloads.
//! - `mood`: a jam's mood series, its alert and its most negative and positive ideas (re-exported by
//!   `api`).
//! - `fairness`: impressions reported by the browser (re-exported by `api`).
//! - `themes`: a jam's themes with their hot score and trend (re-exported by `api`).
//! - `people`: staff accounts, a jam's participants, voiding one (re-exported by `api`).

pub mod api;
pub mod fairness;
pub mod inbox;
pub mod invites;
pub mod live;
pub mod mood;
pub mod people;
pub mod polls;
pub mod problem;
pub mod search;
pub mod themes;

pub use problem::Problem;
