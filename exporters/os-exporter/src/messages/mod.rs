//! The messages-file rows (document 001 §2.1 os_message_warn, os_message_error,
//! os_message_log_time): the last 1,000 lines of `/var/log/messages` (or Debian's
//! `/var/log/syslog`), read backwards from the end of the file so a pass costs those lines, not
//! the file. os_message_log_time is the time they cover (the document: under 10 minutes, the
//! host logs too fast; 0, nothing is logged); warn and error are the lines among them whose text
//! says so (a messages file carries no severity).

use std::path::{Path, PathBuf};

use common::SysPaths;
use common::log_tail::{JournalEntry, JournalLocation, last_entries, tail_lines};
use regex::Regex;

use crate::config::MessagesConfig;
use crate::parsers::syslog_line::{self, Stamp};

/// Most bytes read back from the end of the file for the window (1,000 lines of up to 4 KiB).
const MAX_TAIL_BYTES: u64 = 4 << 20;
/// Bound of one `journalctl` run.
const JOURNAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Most bytes of `journalctl` output read (1,000 entries of up to 16 KiB as JSON).
const JOURNAL_MAX_OUTPUT: usize = 16 << 20;

/// What one pass found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Window {
    /// The file read (as configured, without the root).
    pub(crate) file: String,
    /// Lines in the window (at most `[messages] lines`).
    pub(crate) lines: usize,
    /// Lines whose timestamp could not be read (left out of the time span).
    pub(crate) unparsed: usize,
    /// Seconds from the first to the last timestamped line; 0 with fewer than two.
    pub(crate) log_time: f64,
    /// Warning lines in the window.
    pub(crate) warn: usize,
    /// Error lines in the window.
    pub(crate) error: usize,
}

/// Why a pass has no window.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MessagesError {
    /// None of the configured files exists.
    #[error("none of the messages files {0:?} exists under the root")]
    NoFile(Vec<PathBuf>),
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] common::log_tail::LogError),
    /// No file, and the journal could not be read either.
    #[error(
        "none of the messages files {files:?} exists, and the journal could not be read: {source}"
    )]
    Journal {
        /// The files looked for.
        files: Vec<PathBuf>,
        /// journalctl's failure.
        source: common::log_tail::LogError,
    },
    /// Lines, but not one with a syslog timestamp: not a syslog file.
    #[error(
        "{file}: none of the last {lines} lines starts with a syslog timestamp (Mmm dd HH:MM:SS or RFC 3339): not a syslog file"
    )]
    NotSyslog {
        /// The file.
        file: String,
        /// Lines looked at.
        lines: usize,
    },
}

/// Classifies lines by their text.
#[derive(Debug, Clone)]
pub(crate) struct Classifier {
    error: Regex,
    warn: Regex,
}

impl Classifier {
    /// From the configured patterns (validated with the config).
    pub(crate) fn new(cfg: &MessagesConfig) -> Result<Self, String> {
        let re =
            |what: &str, p: &str| Regex::new(p).map_err(|e| format!("messages.{what}: {p:?}: {e}"));
        Ok(Self {
            error: re("error_pattern", &cfg.error_pattern)?,
            warn: re("warn_pattern", &cfg.warn_pattern)?,
        })
    }

    /// `(error, warn)`: an error line is not also counted as a warning.
    pub(crate) fn classify(&self, message: &str) -> (bool, bool) {
        if self.error.is_match(message) {
            (true, false)
        } else {
            (false, self.warn.is_match(message))
        }
    }
}

/// The window of `lines` (oldest first).
pub(crate) fn window(
    file: &str,
    lines: &[String],
    classifier: &Classifier,
) -> Result<Window, MessagesError> {
    let mut w = Window {
        file: file.to_owned(),
        lines: lines.len(),
        ..Window::default()
    };
    let mut first: Option<Stamp> = None;
    let mut last: Option<Stamp> = None;
    for line in lines {
        let Some(parsed) = syslog_line::parse(line) else {
            w.unparsed += 1;
            continue;
        };
        first.get_or_insert(parsed.stamp);
        last = Some(parsed.stamp);
        let (error, warn) = classifier.classify(parsed.message);
        w.error += usize::from(error);
        w.warn += usize::from(warn);
    }
    if !lines.is_empty() && first.is_none() {
        return Err(MessagesError::NotSyslog {
            file: file.to_owned(),
            lines: lines.len(),
        });
    }
    if let (Some(a), Some(b)) = (first, last) {
        w.log_time = syslog_line::span(a, b).unwrap_or(0.0);
    }
    Ok(w)
}

/// The first of `files` that exists under the root (a log, a messages file): as configured, and
/// its path under the root. Anything but a regular file is left to the reader to refuse.
pub(crate) fn first_existing(paths: &SysPaths, files: &[PathBuf]) -> Option<(String, PathBuf)> {
    files.iter().find_map(|f| {
        let shown = f.display().to_string();
        let p = paths.root(shown.trim_start_matches('/'));
        p.exists().then_some((shown, p))
    })
}

/// The window of the journal's last entries: PRIORITY 3 or less is an error, 4 a warning.
pub(crate) fn journal_window(entries: &[JournalEntry]) -> Window {
    let mut w = Window {
        file: "journal".to_owned(),
        lines: entries.len(),
        ..Window::default()
    };
    let stamps: Vec<u64> = entries.iter().filter_map(|e| e.realtime_us).collect();
    w.unparsed = entries.len() - stamps.len();
    if let (Some(a), Some(b)) = (stamps.first(), stamps.last()) {
        #[allow(clippy::cast_precision_loss)]
        {
            w.log_time = b.saturating_sub(*a) as f64 / 1e6;
        }
    }
    for e in entries {
        match e.priority {
            Some(p) if p <= 3 => w.error += 1,
            Some(4) => w.warn += 1,
            _ => {}
        }
    }
    w
}

/// Where the journal is read when no messages file exists.
fn journal_location(paths: &SysPaths, cfg: &MessagesConfig) -> JournalLocation {
    if !cfg.journal_directory.is_empty() {
        JournalLocation::Directory(PathBuf::from(&cfg.journal_directory))
    } else if paths.rootfs == Path::new("/") {
        JournalLocation::System
    } else {
        JournalLocation::Directory(paths.root("var/log/journal"))
    }
}

/// One pass: the window of the first existing messages file, else of the journal.
pub(crate) fn pass(
    paths: &SysPaths,
    cfg: &MessagesConfig,
    classifier: &Classifier,
) -> Result<Window, MessagesError> {
    let Some((shown, path)) = first_existing(paths, &cfg.files) else {
        if !cfg.journal {
            return Err(MessagesError::NoFile(cfg.files.clone()));
        }
        let entries = last_entries(
            Path::new("journalctl"),
            &journal_location(paths, cfg),
            cfg.lines,
            JOURNAL_TIMEOUT,
            JOURNAL_MAX_OUTPUT,
        )
        .map_err(|e| MessagesError::Journal {
            files: cfg.files.clone(),
            source: e,
        })?;
        return Ok(journal_window(&entries));
    };
    let tail = tail_lines(Path::new(&path), cfg.lines, MAX_TAIL_BYTES)?;
    window(&shown, &tail.lines, classifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> Classifier {
        Classifier::new(&MessagesConfig::default()).unwrap()
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_window_counts_levels_and_spans_its_timestamped_lines() {
        let w = window(
            "/var/log/messages",
            &lines(&[
                "Dec  1 10:00:00 h systemd[1]: Started Session 4 of user root.",
                "garbage without a stamp",
                "Dec  1 10:00:05 h kernel: EXT4-fs error (device sdb1): ext4_find_entry:1463: inode #2: comm ls: reading directory lblock 0",
                "Dec  1 10:01:40 h chronyd[812]: Warning: System clock is unsynchronised",
                "Dec  1 10:02:00 h sshd[99]: error: kex_exchange_identification: Connection closed by remote host",
            ]),
            &c(),
        )
        .unwrap();
        assert_eq!((w.lines, w.unparsed, w.error, w.warn), (5, 1, 2, 1));
        assert!((w.log_time - 120.0).abs() < 1e-9);
    }

    #[test]
    fn journal_entries_count_by_priority_over_their_time_span() {
        let e = |us: Option<u64>, p: Option<u8>| JournalEntry {
            cursor: String::new(),
            realtime_us: us,
            message: String::new(),
            unit: None,
            identifier: None,
            priority: p,
            pid: None,
        };
        let w = journal_window(&[
            e(Some(1_000_000), Some(6)),
            e(Some(2_000_000), Some(3)),
            e(None, Some(4)),
            e(Some(4_500_000), Some(0)),
        ]);
        assert_eq!((w.lines, w.unparsed, w.error, w.warn), (4, 1, 2, 1));
        assert!((w.log_time - 3.5).abs() < 1e-9);
    }

    #[test]
    fn an_empty_file_is_nothing_logged_and_a_binary_one_an_error() {
        let w = window("m", &[], &c()).unwrap();
        assert_eq!((w.lines, w.log_time), (0, 0.0));
        let e = window("m", &lines(&["\u{0}\u{7f}ELF", "\u{fffd}\u{fffd}"]), &c()).unwrap_err();
        assert!(e.to_string().contains("not a syslog file"), "{e}");
        // One line: no span to measure.
        let w = window("m", &lines(&["Dec  1 10:00:00 h p: x"]), &c()).unwrap();
        assert_eq!((w.lines, w.log_time), (1, 0.0));
    }
}
