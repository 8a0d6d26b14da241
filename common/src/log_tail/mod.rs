//! Reading logs: the incremental tail of a growing file ([`LogTail`]), the last N lines of a
//! file ([`tail_lines`]), a file together with its logrotate rotations, gzipped or not
//! ([`LogFamily`], [`FamilyTail`]), and the systemd journal through `journalctl`
//! ([`JournalTail`]).
//!
//! Every reader is bounded: bytes read per call, decompressed bytes per gzip file, output bytes
//! and run time of `journalctl`, and line length ([`MAX_LINE`]). Text is decoded lossily, so
//! invalid UTF-8 becomes U+FFFD rather than an error.

mod error;
mod family_tail;
mod file;
mod journal;
mod lines;
mod rotated;
mod tail_lines;

/// A fresh, empty temporary directory for one test, named after `tag` and this process.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
fn test_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("log-tail-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub use error::LogError;
pub use family_tail::FamilyTail;
pub use file::{DEFAULT_MAX_READ, LogTail, MAX_LINE, StartAt};
pub use journal::{JournalEntry, JournalLocation, JournalMatch, JournalTail, parse_json_entry};
pub use rotated::{
    DEFAULT_MAX_FILE_BYTES, LogFamily, Rotation, RotationName, ScanReport, list_rotations,
};
pub use tail_lines::{DEFAULT_TAIL_MAX_BYTES, Tail, last_lines, tail_lines, tail_lines_of};
