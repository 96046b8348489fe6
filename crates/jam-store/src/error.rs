//! The storage error type and the backend-neutral checks on database errors.

use sea_orm::{DbErr, SqlErr};

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
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)))
    }

    /// True when this is a database error for a violated unique key (see [`is_unique_violation`]).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(err) if is_unique_violation(err))
    }
}
