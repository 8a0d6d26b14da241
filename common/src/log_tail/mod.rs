//! Reading logs: the incremental tail of a growing file ([`LogTail`]), the last N lines of a
//! file ([`tail_lines`]), a file together with its logrotate rotations, gzipped or not
//! ([`LogFamily`], [`FamilyTail`]), and the systemd journal through `journalctl`
//! ([`JournalTail`]).
//!
//! Every reader is bounded: bytes read per call, decompressed bytes per gzip file, output bytes
//! and run time of `journalctl`, and line length ([`MAX_LINE`]: a longer line is cut there and
//! the rest of it skipped). Lines are handed to a callback one at a time as they are read
//! through a fixed buffer, never collected, so a binary "log" costs no more memory than a text
//! one. Text is decoded lossily, so invalid UTF-8 becomes U+FFFD rather than an error. Only
//! regular files are read: a log path that is (or leads to) a device, a FIFO or a directory is
//! refused with an error saying what it is, without reading or waiting on it.

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

/// Makes a FIFO at `path` (what a log path swapped for a named pipe looks like).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
fn make_fifo(path: &std::path::Path) {
    use rustix::fs::{CWD, FileType, Mode, mknodat};
    mknodat(CWD, path, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
}

/// Runs `f` on its own thread and returns its result, failing the test when it has not returned
/// within 10 s (a reader blocked in `open` on one of `fifos` is then released by a writer that
/// opens and closes the FIFO, so no thread stays stuck).
#[cfg(test)]
#[allow(clippy::panic)]
fn within_10s<T: Send + 'static>(
    fifos: &[&std::path::Path],
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    use std::os::unix::fs::OpenOptionsExt as _;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(10)) {
        Ok(v) => v,
        Err(_) => {
            for fifo in fifos {
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(fifo);
            }
            panic!("the reader was still blocked after 10 s");
        }
    }
}

pub use error::LogError;
pub use family_tail::FamilyTail;
pub use file::{DEFAULT_MAX_READ, LogTail, MAX_LINE, StartAt};
pub use journal::{
    JournalEntry, JournalLocation, JournalMatch, JournalTail, last_entries, parse_json_entry,
};
pub use rotated::{
    DEFAULT_MAX_FILE_BYTES, LogFamily, Rotation, RotationName, ScanReport, list_rotations,
    rotation_name,
};
pub use tail_lines::{DEFAULT_TAIL_MAX_BYTES, Tail, last_lines, tail_lines, tail_lines_of};
