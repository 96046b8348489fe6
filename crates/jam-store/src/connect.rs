//! Connection setup: the one place where the configured URL picks SQLite or PostgreSQL.

use std::{fmt, path::Path, str::FromStr, time::Duration};

use jam_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};

use crate::error::StoreError;

/// Where the database is and how its connection pool behaves (the `[database]` settings).
#[derive(Clone)]
pub struct DbSettings {
    /// `sqlite://PATH` (file and folder created if missing) or `postgres://user:pass@host:port/db`.
    pub url: String,
    /// Most connections the pool opens (at least 1 is used).
    pub max_connections: u32,
    /// Connections the pool keeps open even when idle (capped at `max_connections`).
    pub min_connections: u32,
    /// How long to wait for a new connection, or for a free one from the pool.
    pub connect_timeout: Duration,
    /// How long a SQLite statement waits for another connection's write lock before failing
    /// with "database is locked". Ignored for PostgreSQL.
    pub sqlite_busy_timeout: Duration,
}

/// The URL is printed without its password, so settings can be logged.
impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("sqlite_busy_timeout", &self.sqlite_busy_timeout)
            .finish()
    }
}

/// The database kinds OpenJam runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL's scheme.
    fn of(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(Backend::Sqlite),
            Some("postgres" | "postgresql") => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedUrl(redact_url(url))),
        }
    }
}

/// Opens a connection pool to the configured database.
///
/// For SQLite, the file and its folder are created if missing, and every pooled connection is
/// opened with `journal_mode=WAL`, `foreign_keys=ON`, `synchronous=NORMAL` and the configured
/// `busy_timeout`. These are per-connection settings (except WAL, which sticks to the file), so
/// they are part of the driver's connect options rather than a `PRAGMA` run once, which would
/// reach only one connection of the pool.
pub async fn connect(settings: &DbSettings) -> Result<DatabaseConnection, StoreError> {
    let url = settings.url.trim();
    let backend = Backend::of(url)?;

    let max_connections = settings.max_connections.max(1);
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(settings.min_connections.min(max_connections))
        .connect_timeout(settings.connect_timeout)
        .acquire_timeout(settings.connect_timeout)
        // Statement logging through `log` would print every vote; our own spans cover it.
        .sqlx_logging(false)
        // Ping only connections that sat idle long enough for a server, proxy or firewall to have
        // dropped them, instead of adding a round trip to every checkout.
        .test_before_acquire_if_idle_for(Duration::from_secs(30));

    match backend {
        Backend::Sqlite => {
            create_sqlite_folder(url)?;
            let busy_timeout = settings.sqlite_busy_timeout;
            options.map_sqlx_sqlite_opts(move |sqlite| {
                sqlite
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy_timeout)
            });
        }
        Backend::Postgres => {}
    }

    let db = Database::connect(options).await?;
    crate::write::register(&db, settings.sqlite_busy_timeout);
    Ok(db)
}

/// Applies every pending migration of `jam-migrations`.
///
/// Safe to call from several processes at once (cluster nodes starting together): the whole run
/// holds the database's migration lock, so one process migrates and the others then find
/// nothing pending. On PostgreSQL that lock is a transaction-scoped advisory lock; on SQLite it is
/// the write lock taken by `BEGIN IMMEDIATE` (waiting up to the busy timeout).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), StoreError> {
    let txn = match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin().await?;
            // Raw SQL because advisory locks are PostgreSQL's own; the key is "openjam!" as an i64.
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(8030029660507172129)")
                .await?;
            txn
        }
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?
        }
        _ => db.begin().await?,
    };
    // Each migration runs in a savepoint inside this transaction.
    Migrator::up(&txn, None).await?;
    txn.commit().await?;
    Ok(())
}

/// Creates the folder of a SQLite database file (not the file: the driver does that).
fn create_sqlite_folder(url: &str) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::from_str(url).map_err(|err| StoreError::InvalidSqliteUrl {
        url: url.to_owned(),
        reason: err.to_string(),
    })?;
    if sqlite_in_memory(url) {
        return Ok(());
    }
    match options.get_filename().parent() {
        Some(folder) if folder != Path::new("") => {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::CreateDir {
                path: folder.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// True for `sqlite::memory:`, `sqlite://:memory:` and URLs with `mode=memory`.
fn sqlite_in_memory(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|param| param == "mode=memory")
}

/// The URL with any password replaced by `***`, for logs and error messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(Backend::of("sqlite://data/x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::of("sqlite::memory:").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::of("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert_eq!(Backend::of("PostgreSQL://u@h/db").ok(), Some(Backend::Postgres));
    }

    #[test]
    fn an_unknown_scheme_is_an_error_without_the_password() {
        let err = Backend::of("mysql://root:hunter2@db/jam").err();
        let Some(StoreError::UnsupportedUrl(shown)) = err else {
            panic!("expected UnsupportedUrl, got {err:?}");
        };
        assert_eq!(shown, "mysql://root:***@db/jam");
        assert!(Backend::of("data/openjam.db").is_err());
    }

    #[test]
    fn passwords_are_redacted_and_everything_else_kept() {
        assert_eq!(
            redact_url("postgres://u:p@h:5432/db?x=1"),
            "postgres://u:***@h:5432/db?x=1"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("sqlite://data/a@b.db"), "sqlite://data/a@b.db");
        assert_eq!(redact_url("sqlite:data.db"), "sqlite:data.db");
    }

    #[test]
    fn in_memory_urls_are_recognised() {
        assert!(sqlite_in_memory("sqlite::memory:"));
        assert!(sqlite_in_memory("sqlite://:memory:"));
        assert!(sqlite_in_memory("sqlite://x.db?mode=memory&cache=shared"));
        assert!(!sqlite_in_memory("sqlite://data/openjam.db"));
        assert!(!sqlite_in_memory("sqlite://data/openjam.db?mode=rwc"));
    }
}
