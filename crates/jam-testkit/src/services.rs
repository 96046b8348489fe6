//! The rule for tests that need a service (PostgreSQL, Redis) that is not configured, and a
//! brand-new empty PostgreSQL database per test.
//!
//! The rule: with `JAM_TEST_DATABASE_URL` (or `JAM_TEST_REDIS_URL`) unset, those tests print a loud
//! `SKIPPED: …` line to stderr and pass, so `cargo test` works on a laptop without services; with
//! `JAM_TEST_REQUIRE_SERVICES=1` (CI) they fail instead, so nothing is skipped silently.
//!
//! `JAM_TEST_DATABASE_URL` names any database the test user may connect to and that user must be
//! allowed to `CREATE DATABASE` (e.g. `postgres://postgres@127.0.0.1:5432/test`). Each test gets
//! its own database `jam_test_<random>`, so test binaries running at the same time never see each
//! other's rows. Call [`drop_database`] at the end; databases of crashed runs can be removed with
//! `DROP DATABASE` by name (they all start with `jam_test_`).
//!
//! The skip line is written straight to the process's stderr, not through `eprintln!` (which the
//! test harness captures and shows only for failing tests), once per distinct line and process.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// The variable naming the PostgreSQL server used by tests.
pub const DATABASE_URL_VAR: &str = "JAM_TEST_DATABASE_URL";

/// Set to `1` to make tests fail, rather than skip, when a service is not configured.
pub const REQUIRE_SERVICES_VAR: &str = "JAM_TEST_REQUIRE_SERVICES";

/// Prefix of every database created by [`fresh_postgres_url`].
pub const DATABASE_PREFIX: &str = "jam_test_";

/// True when `JAM_TEST_REQUIRE_SERVICES=1`.
pub fn services_required() -> bool {
    std::env::var(REQUIRE_SERVICES_VAR).is_ok_and(|value| value.trim() == "1")
}

/// Reports that `what` (e.g. "PostgreSQL schema tests") cannot run because `variable` is unset:
/// prints `SKIPPED: {what} (set {variable})` to stderr, or panics with that text when
/// services are required.
pub fn skip_or_fail(what: &str, variable: &str) {
    let line = format!("SKIPPED: {what} (set {variable})");
    if services_required() {
        panic!("{line}, but {REQUIRE_SERVICES_VAR}=1 requires it");
    }
    static SHOWN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut shown = SHOWN.lock().unwrap_or_else(PoisonError::into_inner);
    if shown.get_or_insert_default().insert(line.clone()) {
        // Best effort: a closed stderr is no reason to fail a test.
        let _ = writeln!(std::io::stderr(), "\n*** {line} ***\n");
    }
}

/// A URL to a brand-new, empty PostgreSQL database, or `None` when `JAM_TEST_DATABASE_URL` is
/// unset (after printing `SKIPPED: PostgreSQL tests (set JAM_TEST_DATABASE_URL)`, or panicking
/// when services are required).
///
/// Panics when the variable is set but the database cannot be created: a configured service
/// that does not work is a failure, not a skip.
pub async fn fresh_postgres_url() -> Option<String> {
    fresh_postgres_url_for("PostgreSQL tests").await
}

/// [`fresh_postgres_url`], naming the skipped tests as `what` in the skip line.
pub async fn fresh_postgres_url_for(what: &str) -> Option<String> {
    let Some(server_url) = configured_url() else {
        skip_or_fail(what, DATABASE_URL_VAR);
        return None;
    };
    let name = format!("{DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let Some(url) = with_database(&server_url, &name) else {
        panic!("{DATABASE_URL_VAR} is not a postgres:// URL with a database: {server_url}");
    };
    let created = async {
        let admin = admin_connection(&server_url).await?;
        let result = admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await;
        admin.close().await?;
        result
    }
    .await;
    if let Err(err) = created {
        panic!("cannot create test database {name} via {DATABASE_URL_VAR}: {err}");
    }
    Some(url)
}

/// Drops the database that `url` names, closing any connections still open to it.
/// Best effort: problems are printed to stderr, never raised, so cleanup cannot fail a test.
/// Only databases created by [`fresh_postgres_url`] (`jam_test_…`) are dropped.
pub async fn drop_database(url: &str) {
    let Some(name) = database_name(url) else {
        eprintln!("drop_database: no database name in the URL; nothing dropped");
        return;
    };
    if !name.starts_with(DATABASE_PREFIX) || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        eprintln!("drop_database: {name} was not created by jam_testkit; not dropped");
        return;
    }
    // Connect to the configured database (never the one being dropped).
    let server_url = configured_url().or_else(|| with_database(url, "postgres"));
    let Some(server_url) = server_url else {
        return;
    };
    let dropped = async {
        let admin = admin_connection(&server_url).await?;
        let result = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        admin.close().await?;
        result
    }
    .await;
    if let Err(err) = dropped {
        eprintln!("drop_database: could not drop {name}: {err}");
    }
}

/// `JAM_TEST_DATABASE_URL`, when set and not blank.
fn configured_url() -> Option<String> {
    std::env::var(DATABASE_URL_VAR)
        .ok()
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
}

/// One connection for `CREATE`/`DROP DATABASE`, which cannot run inside a transaction.
async fn admin_connection(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// The database name in the path of a `postgres://…/NAME?…` URL.
fn database_name(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let rest = rest.split(['?', '#']).next()?;
    let (_, name) = rest.split_once('/')?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// `url` with its database (the path) replaced by `name`, keeping the query string.
fn with_database(url: &str, name: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "postgres" | "postgresql") {
        return None;
    }
    let (before_query, query) = match rest.find(['?', '#']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let authority = before_query.split('/').next()?;
    if authority.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{authority}/{name}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_swapped_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "jam_test_1").as_deref(),
            Some("postgres://postgres@127.0.0.1:5432/jam_test_1")
        );
        assert_eq!(
            with_database("postgresql://u:p@h/test?sslmode=disable", "x").as_deref(),
            Some("postgresql://u:p@h/x?sslmode=disable")
        );
        assert_eq!(
            with_database("postgres://h", "x").as_deref(),
            Some("postgres://h/x")
        );
        assert_eq!(with_database("sqlite://data/x.db", "x"), None);
    }

    #[test]
    fn the_database_name_is_read_from_the_path() {
        assert_eq!(
            database_name("postgres://h:1/jam_test_ab?x=1"),
            Some("jam_test_ab")
        );
        assert_eq!(database_name("postgres://h:1/"), None);
        assert_eq!(database_name("postgres://h:1"), None);
    }
}
