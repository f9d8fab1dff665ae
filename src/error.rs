//! The one error type commands return, and the exit code each kind maps to:
//! 1 for anything the user can fix (bad files, bad arguments), 2 for failures
//! of the machinery (transport down, some messages failed, internal errors).

use crate::diagnostic::{Diagnostic, Diagnostics};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems in the user's files, with positions.
    #[error("{0}")]
    Files(Diagnostics),
    /// A bad argument or an impossible request.
    #[error("{0}")]
    Usage(String),
    /// Sending or another outside operation failed.
    #[error("{0}")]
    Failed(String),
    /// A bug or an environment problem (disk full, …).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Files(_) | Error::Usage(_) => 1,
            Error::Failed(_) | Error::Internal(_) => 2,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }
}

impl From<Diagnostics> for Error {
    fn from(diagnostics: Diagnostics) -> Self {
        Error::Files(diagnostics)
    }
}

impl From<Diagnostic> for Error {
    fn from(diagnostic: Diagnostic) -> Self {
        Error::Files(diagnostic.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
