//! What can go wrong reading a log source, and where.

use std::path::PathBuf;

use crate::collector::CollectError;
use crate::command::CommandError;

/// Why a log source gave no (or not all of its) lines.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A log file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A gzip file is damaged (truncated, bad checksum, not gzip at all); lines decoded before
    /// the damage were delivered.
    #[error("decompressing {path}: {source}")]
    Gzip {
        /// The `.gz` file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// A file held more bytes (after decompression) than the limit; the rest was not read.
    #[error("{path} exceeds the limit of {limit} bytes (decompressed); the rest is skipped")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// `journalctl` could not be run, hung, or was killed.
    #[error("running journalctl: {0}")]
    Command(#[from] CommandError),
    /// `journalctl` ran but failed.
    #[error("journalctl exited with {code:?}: {stderr}")]
    JournalExit {
        /// Its exit code (`None`: killed by a signal).
        code: Option<i32>,
        /// The start of its standard error.
        stderr: String,
    },
    /// A line of `journalctl -o json` output made no sense.
    #[error("parsing journalctl output: {0}")]
    JournalParse(String),
}

impl LogError {
    pub(super) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LogError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<LogError> for CollectError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Io { path, source } => CollectError::Io { path, source },
            LogError::Gzip { path, source } => CollectError::parse(path, source.to_string()),
            LogError::TooLarge { ref path, .. } => CollectError::parse(path.clone(), e.to_string()),
            LogError::JournalParse(msg) => CollectError::parse("journalctl", msg),
            other => CollectError::Other(other.to_string()),
        }
    }
}
