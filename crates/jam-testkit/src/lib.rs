//! OpenJam test fixtures, shared by the tests, benches and examples of every crate.
//!
//! Only ever a dev-dependency: nothing here ships in `jamd` (`cargo tree -p jam-server -e normal`
//! does not list it). Helpers panic with a message instead of returning errors a test would only
//! unwrap, except the writes, which return sea-orm's `DbErr` so tests can check failures.
//!
//! Layout:
//! - `services`: the skip-or-fail rule for PostgreSQL and Redis (`JAM_TEST_DATABASE_URL`,
//!   `JAM_TEST_REQUIRE_SERVICES`) and a brand-new PostgreSQL database per test.
//! - `db`: [`TestDb`], a database for one test (a temporary SQLite file or a fresh PostgreSQL
//!   database), connected with the store's own pool and cleaned up by `finish`.
//! - `rows`: one builder per table, each a complete row with fresh v7 ids, times of now, zero
//!   counters, visible posts and the Wilson method. Builders of rows that production also creates
//!   call the entity's own constructor (`ideas::Model::posted`, …), so a new column is added in the
//!   entity, its migration and, for the other tables, its builder here, and nowhere else. Callers
//!   change fields with [`With::with`] or plain assignment, never a whole struct literal.
//! - `seed`: writing rows ([`insert`], and [`insert_all`] in multi-row statements), and [`Seed`]: a
//!   jam with an audience, an open session, participants and ideas, written fast enough for big
//!   benchmarks.

pub mod services;

pub mod db;
pub mod rows;
pub mod seed;

pub use db::TestDb;
pub use rows::With;
pub use seed::{Seed, insert, insert_all};
