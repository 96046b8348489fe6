//! The storage error type and the backend-neutral checks on database errors.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed the operation (including lost connections and timeouts).
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// `database.url` names a scheme other than `sqlite:` or `postgres:`/`postgresql:`.
    /// The URL is shown without its password.
    #[error("unsupported database url: {0}")]
    UnsupportedUrl(String),
    /// A `sqlite:` URL that cannot be parsed (e.g. an unknown `mode`).
    #[error("invalid SQLite database url {url}: {reason}")]
    InvalidSqliteUrl {
        /// The URL as configured.
        url: String,
        /// What the SQLite driver objected to.
        reason: String,
    },
    /// A unique key refused the row (a taken slug, e-mail or invite code).
    #[error("a row with the same unique key exists")]
    Duplicate,
    /// The vote writer's queue is full: votes arrive faster than the database commits them.
    /// Nothing was written; retry shortly (HTTP 503 with `Retry-After`).
    #[error("too many votes are waiting to be written")]
    Overloaded,
    /// The idea stopped taking votes (hidden, removed or merged) after the request checked it; the
    /// vote was not written (HTTP 409).
    #[error("the idea no longer takes votes")]
    IdeaClosed,
    /// The vote writer has stopped (the node is shutting down). Nothing was written.
    #[error("the vote writer has stopped")]
    WriterStopped,
    /// A SQLite writer waited longer than the busy timeout for its turn at the write lock (see
    /// `write`); nothing was written (HTTP 503 with `Retry-After`).
    #[error("waited too long for the database's write turn")]
    WriteTurnTimeout,
    /// The folder that should hold the SQLite file could not be created.
    #[error("cannot create the database folder {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: std::path::PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

/// True when `err` is a violated unique key or primary key, on SQLite and PostgreSQL alike
/// (e.g. a second vote for the same idea by the same participant, or a taken slug).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// True when `err` is a violated foreign key, on SQLite and PostgreSQL alike.
pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}

/// True when the database refused an operation only because others held it up: a retry later
/// may succeed. SQLite result codes are compared on their primary code (the low byte), so extended
/// codes such as `SQLITE_BUSY_SNAPSHOT` (517) and `SQLITE_BUSY_TIMEOUT` (773) count too.
pub fn is_contention(err: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    match &**e {
        sea_orm::sqlx::Error::PoolTimedOut => true,
        sea_orm::sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // 5 SQLITE_BUSY, 6 SQLITE_LOCKED.
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
            } else {
                // serialization_failure, deadlock_detected, lock_not_available,
                // too_many_connections, cannot_connect_now.
                matches!(&*code, "40001" | "40P01" | "55P03" | "53300" | "57P03")
            }
        }
        _ => false,
    }
}

impl StoreError {
    /// Maps an insert's error: a unique violation becomes `Duplicate`.
    pub fn from_insert(err: DbErr) -> Self {
        if is_unique_violation(&err) {
            StoreError::Duplicate
        } else {
            StoreError::Db(err)
        }
    }

    /// True when the database could not be reached (pool timeout, lost connection), as opposed to
    /// a refused operation: the caller should retry later (HTTP 503).
    /// So do a full vote queue and a stopped vote writer.
    /// Contention the database gave up on counts too: SQLite's write lock still taken after the
    /// busy timeout (`SQLITE_BUSY`/`SQLITE_LOCKED`), PostgreSQL's serialization failures, deadlocks,
    /// lock timeouts and "too many connections" (see [`is_contention`]).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => true,
            StoreError::Db(err) => is_contention(err),
            StoreError::Overloaded | StoreError::WriterStopped | StoreError::WriteTurnTimeout => true,
            _ => false,
        }
    }

    /// True when this is a database error for a violated unique key (see [`is_unique_violation`]).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(err) if is_unique_violation(err))
    }
}
