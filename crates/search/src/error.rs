//! The one error type of the crate, with a stable code per kind.

use std::fmt;

use tantivy::TantivyError;

/// What went wrong, as a caller reacts to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user typed something the search box cannot run (the caller answers 422); the
    /// message says what, in words meant for the user.
    InvalidQuery,
    /// Reading or writing the index failed (I/O, a lock held by another process, …).
    IndexFailed,
    /// The index on disk cannot be read; `SearchIndex::recreate` starts it again empty.
    IndexCorrupt,
}

impl ErrorKind {
    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidQuery => "invalid_query",
            ErrorKind::IndexFailed => "index_failed",
            ErrorKind::IndexCorrupt => "index_corrupt",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error of the search index. `code()` is stable; the message of an `invalid_query` may be
/// shown to the user, the others are for logs.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct SearchError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl SearchError {
    pub(crate) fn invalid_query(message: impl Into<String>) -> Self {
        SearchError {
            kind: ErrorKind::InvalidQuery,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn failed(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        SearchError {
            kind: ErrorKind::IndexFailed,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn corrupt(message: impl Into<String>) -> Self {
        SearchError {
            kind: ErrorKind::IndexCorrupt,
            message: message.into(),
            source: None,
        }
    }

    /// Classifies an error of tantivy met while `doing` something.
    pub(crate) fn tantivy(doing: &str, error: TantivyError) -> Self {
        let kind = match &error {
            TantivyError::DataCorruption(_)
            | TantivyError::IncompatibleIndex(_)
            | TantivyError::SchemaError(_)
            | TantivyError::DeserializeError(_)
            | TantivyError::OpenReadError(_) => ErrorKind::IndexCorrupt,
            _ => ErrorKind::IndexFailed,
        };
        let message = match &error {
            TantivyError::LockFailure(..) => {
                format!("{doing}: the index is locked by another process")
            }
            _ => format!("{doing}: {error}"),
        };
        SearchError {
            kind,
            message,
            source: Some(Box::new(error)),
        }
    }

    /// The stable code: `invalid_query`, `index_failed` or `index_corrupt`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the code (for an `invalid_query`, meant for the user).
    pub fn message(&self) -> &str {
        &self.message
    }
}
