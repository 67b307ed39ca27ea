//! Typed errors of the dataset code; each message is one line naming the file at fault.

use thiserror::Error;

use crate::sim::SimError;

/// Why a dataset could not be written or read.
#[derive(Debug, Error)]
pub enum DataError {
    /// The dataset directory does not exist.
    #[error("dataset directory {0} does not exist")]
    NotFound(String),
    /// The output directory exists already; datasets are never overwritten in place.
    #[error("{0} already exists; choose another output directory or remove it")]
    AlreadyExists(String),
    /// A file the format requires is missing.
    #[error("dataset file {0} is missing")]
    MissingFile(String),
    /// The dataset was written by another format version.
    #[error(
        "{path}: format_version {found} is not supported (this build reads versions 1 to {supported})"
    )]
    UnsupportedVersion {
        path: String,
        found: String,
        supported: u32,
    },
    /// A LeRobot dataset of a codebase version other than v3.0.
    #[error("{path}: LeRobot dataset {found} is not supported (Praxis reads v3.0){hint}")]
    LeRobotVersion {
        path: String,
        found: String,
        /// How to convert it, when LeRobot can.
        hint: String,
    },
    /// A file is truncated, corrupt or inconsistent with `meta.json`.
    #[error("{path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
    /// An operating-system error on a file.
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// An episode does not match the dataset's shapes.
    #[error("episode does not fit the dataset: {0}")]
    Shape(String),
    /// A sample index past the end.
    #[error("sample index {index} is out of range (dataset has {len} samples)")]
    IndexOutOfRange { index: usize, len: usize },
    /// The simulator refused a request while recording.
    #[error(transparent)]
    Sim(#[from] SimError),
}

impl DataError {
    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> DataError {
        DataError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }

    pub(crate) fn corrupt(path: &std::path::Path, reason: impl Into<String>) -> DataError {
        DataError::Corrupt {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }
}
