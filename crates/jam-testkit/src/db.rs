//! A database for one test, on either backend, through the store's own connection setup.

use std::time::Duration;

use jam_store::DbSettings;
use sea_orm::{DatabaseConnection, DbBackend};

use crate::services;

/// Pool size of every [`TestDb`]: enough for the concurrency tests (two writers, held transactions).
pub const POOL: u32 = 8;

/// The pool settings tests use: the store's, with `max_connections` and generous waits (a loaded CI
/// machine must not turn a slow lock into a failure).
pub fn settings(url: &str, max_connections: u32) -> DbSettings {
    DbSettings {
        url: url.to_owned(),
        max_connections,
        min_connections: 1,
        connect_timeout: Duration::from_secs(30),
        sqlite_busy_timeout: Duration::from_secs(30),
    }
}

/// A connected database of its own. Call [`TestDb::finish`] at the end: it closes the pool and
/// drops a PostgreSQL database (the SQLite folder goes with the value).
pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: String,
    /// Keeps the SQLite file's folder alive; None for PostgreSQL.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// An empty, unmigrated SQLite database in a temporary folder (the file is created on connect).
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"));
        let url = format!("sqlite://{}", dir.path().join("jam.db").display());
        let db = connect(&url).await;
        TestDb {
            db,
            url,
            _dir: Some(dir),
        }
    }

    /// An empty, unmigrated PostgreSQL database of its own, or `None` when PostgreSQL is not
    /// configured (after the skip line naming `what`; a panic when services are required).
    pub async fn postgres(what: &str) -> Option<TestDb> {
        let url = services::fresh_postgres_url_for(what).await?;
        let db = connect(&url).await;
        Some(TestDb { db, url, _dir: None })
    }

    /// [`TestDb::sqlite`] with the schema applied.
    pub async fn sqlite_migrated() -> TestDb {
        Self::sqlite().await.migrated().await
    }

    /// [`TestDb::postgres`] with the schema applied.
    pub async fn postgres_migrated(what: &str) -> Option<TestDb> {
        Some(Self::postgres(what).await?.migrated().await)
    }

    /// Applies the schema, as `jamd` does at start-up.
    pub async fn migrated(self) -> TestDb {
        if let Err(e) = jam_store::migrate(&self.db).await {
            panic!("cannot migrate the test database: {e}");
        }
        self
    }

    /// Another pool on the same database: what a second node has.
    pub async fn second_pool(&self) -> DatabaseConnection {
        connect(&self.url).await
    }

    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }

    /// Closes the pool and drops a PostgreSQL database (best effort, see `drop_database`).
    pub async fn finish(self) {
        let is_postgres = self.is_postgres();
        if let Err(e) = self.db.close().await {
            eprintln!("closing the test database: {e}");
        }
        if is_postgres {
            services::drop_database(&self.url).await;
        }
    }
}

async fn connect(url: &str) -> DatabaseConnection {
    jam_store::connect(&settings(url, POOL))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"))
}
