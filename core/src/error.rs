//! The crate-wide error type. Every variant prints as one line that names the problem, so the
//! command line and the app can show it as-is.

use std::path::{Path, PathBuf};

/// An error from Praxis's core. Bad input never panics; it comes back as one of these.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller asked for something that does not exist or does not fit (unknown preset,
    /// head, backend, malformed config, ...).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A checkpoint is missing, truncated, corrupted or does not fit the requested model.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint directory.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The requested compute backend is not compiled in or has no usable device.
    #[error("{0}")]
    Device(String),
    /// Numerics went wrong (NaN or infinite loss or gradient).
    #[error("{0}")]
    Numerics(String),
}

/// A simulator error (an unknown task, suite or variation, an action of the wrong size) is
/// bad input, reported with the simulator's own one-line message.
impl From<crate::sim::SimError> for Error {
    fn from(e: crate::sim::SimError) -> Self {
        Error::Invalid(e.to_string())
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    /// Shorthand for [`Error::Checkpoint`].
    pub fn checkpoint(path: &Path, message: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
