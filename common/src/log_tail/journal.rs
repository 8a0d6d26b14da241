//! The systemd journal as a log source: the entries of one unit (or syslog identifier), read
//! incrementally with a cursor, by running `journalctl -o json` through [`crate::command`].
//!
//! Why `journalctl` rather than a Rust reader of `*.journal` files: it is installed wherever
//! journald writes journals, it always understands the host's journal format (compact mode,
//! zstd/lz4/xz compression, files still being written, rotation and vacuuming), and its cursor
//! and `--unit` matching are the reference ones. The pure-Rust readers (`sdjournal`,
//! `systemd-journal-sdk`) are young 0.x crates. It also works without systemd as PID 1:
//! `--directory=`/`--file=` read journal files directly (a host's `/var/log/journal`, a copy,
//! or files written by `systemd-journal-remote`).
//!
//! Guarantees: each call returns the entries after the last one returned, oldest first, each
//! once, as long as the cursor is accepted. The first call with [`StartAt::End`] only notes the
//! newest entry. Output is capped ([`JournalTail::with_max_output`]): when the cap cuts the
//! output, the complete entries before the cut are returned and the next call continues after
//! them. A cursor `journalctl` rejects (journal vacuumed, wrong machine) makes that call fail;
//! the next call resumes from just after the last entry's timestamp, so entries sharing that
//! microsecond could be delivered twice but none are skipped.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::error::LogError;
use super::file::StartAt;
use crate::command;

/// Default time `journalctl` may run.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on `journalctl`'s output per call.
const DEFAULT_MAX_OUTPUT: usize = 16 * 1024 * 1024;
/// Bytes of `journalctl`'s standard error kept in an error.
const STDERR_KEPT: usize = 512;

/// Which journal files to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalLocation {
    /// The host's journals (`journalctl` without `--directory`/`--file`).
    System,
    /// Every journal file in a directory (`--directory=`).
    Directory(PathBuf),
    /// One journal file (`--file=`).
    File(PathBuf),
}

/// Whose entries to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalMatch {
    /// A systemd unit (`--unit=`: the unit's own messages and systemd's about it).
    Unit(String),
    /// A syslog identifier (`--identifier=`, the program name in syslog lines).
    Identifier(String),
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Its cursor: resume after it with [`JournalTail::with_cursor`].
    pub cursor: String,
    /// Wall-clock time it was logged, microseconds since the epoch.
    pub realtime_us: Option<u64>,
    /// `MESSAGE`, lossily decoded (binary messages come as byte arrays); empty if absent.
    pub message: String,
    /// `_SYSTEMD_UNIT`.
    pub unit: Option<String>,
    /// `SYSLOG_IDENTIFIER`.
    pub identifier: Option<String>,
    /// `PRIORITY` (0 emerg .. 7 debug).
    pub priority: Option<u8>,
    /// `_PID`.
    pub pid: Option<u32>,
}

/// An incremental reader of one unit's (or identifier's) journal entries.
#[derive(Debug, Clone)]
pub struct JournalTail {
    program: PathBuf,
    location: JournalLocation,
    filter: JournalMatch,
    start: StartAt,
    cursor: Option<String>,
    /// After a rejected cursor: resume after this time (µs since the epoch).
    resume_after_us: Option<u64>,
    last_realtime_us: Option<u64>,
    attempted: bool,
    timeout: Duration,
    max_output: usize,
}

impl JournalTail {
    /// A reader of `filter`'s entries in `location`; nothing runs until the first read.
    pub fn new(location: JournalLocation, filter: JournalMatch, start: StartAt) -> Self {
        Self {
            program: PathBuf::from("journalctl"),
            location,
            filter,
            start,
            cursor: None,
            resume_after_us: None,
            last_realtime_us: None,
            attempted: false,
            timeout: DEFAULT_TIMEOUT,
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }

    /// Runs this program instead of `journalctl` from `PATH`.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// Kills `journalctl` after `timeout` (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Caps `journalctl`'s output per call (default 16 MiB).
    pub fn with_max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes.max(1);
        self
    }

    /// Resumes after `cursor` (one saved from [`JournalTail::cursor`]), whatever `StartAt` says.
    pub fn with_cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self.attempted = true;
        self
    }

    /// The cursor of the last entry returned (or noted at start): save it to resume later.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The `journalctl` arguments of the next read (without the program).
    pub(super) fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--no-pager".to_owned(),
            "--quiet".to_owned(),
            "--all".to_owned(),
            "--output=json".to_owned(),
            "--output-fields=MESSAGE,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,PRIORITY,_PID".to_owned(),
        ];
        match &self.location {
            JournalLocation::System => {}
            JournalLocation::Directory(d) => args.push(format!("--directory={}", d.display())),
            JournalLocation::File(f) => args.push(format!("--file={}", f.display())),
        }
        match &self.filter {
            JournalMatch::Unit(u) => args.push(format!("--unit={u}")),
            JournalMatch::Identifier(i) => args.push(format!("--identifier={i}")),
        }
        if let Some(c) = &self.cursor {
            args.push(format!("--after-cursor={c}"));
        } else if let Some(us) = self.resume_after_us {
            let next = us.saturating_add(1);
            args.push(format!(
                "--since=@{}.{:06}",
                next / 1_000_000,
                next % 1_000_000
            ));
        } else if !self.attempted && self.start == StartAt::End {
            // Only the newest entry, to learn where "now" is.
            args.push("--lines=1".to_owned());
        }
        args
    }

    /// Entries logged since the last call, oldest first.
    pub fn read_entries(&mut self) -> Result<Vec<JournalEntry>, LogError> {
        let noting_end = !self.attempted && self.start == StartAt::End && self.cursor.is_none();
        let args = self.args();
        let program = self.program.to_string_lossy().into_owned();
        let mut argv: Vec<&str> = vec![&program];
        argv.extend(args.iter().map(String::as_str));
        let out = command::run(&argv, self.timeout, self.max_output)?;
        self.attempted = true;
        if !out.success() {
            let stderr = String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(STDERR_KEPT)])
                .trim()
                .to_owned();
            if self.cursor.is_some() && stderr.contains("cursor") {
                // Stay stuck on a cursor journalctl refuses? No: fall back to the time.
                self.cursor = None;
                self.resume_after_us = self.last_realtime_us;
            }
            return Err(LogError::JournalExit {
                code: out.code,
                stderr,
            });
        }
        // Only whole lines: when the output cap cut the last one, it is read next time.
        let complete = match out.stdout.iter().rposition(|b| *b == b'\n') {
            Some(last) => &out.stdout[..=last],
            None if out.stdout.is_empty() => &[][..],
            None if out.truncated => {
                return Err(LogError::JournalParse(format!(
                    "one entry exceeds the output cap of {} bytes",
                    self.max_output
                )));
            }
            None => &out.stdout[..],
        };
        let mut entries = Vec::new();
        for line in complete.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            entries.push(parse_json_entry(line)?);
        }
        if let Some(last) = entries.last() {
            self.cursor = Some(last.cursor.clone());
            self.resume_after_us = None;
            if last.realtime_us.is_some() {
                self.last_realtime_us = last.realtime_us;
            }
        }
        if noting_end {
            entries.clear();
        }
        Ok(entries)
    }

    /// The messages of [`JournalTail::read_entries`].
    pub fn read_lines(&mut self) -> Result<Vec<String>, LogError> {
        Ok(self
            .read_entries()?
            .into_iter()
            .map(|e| e.message)
            .collect())
    }
}

/// A field's value as text: a string, a byte array (binary or non-UTF-8 data), or, for a field
/// present several times, the first of them.
fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if items.iter().all(Value::is_u64) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Array(items) => items.first().and_then(field_text),
        _ => None,
    }
}

/// One line of `journalctl -o json` output.
pub(super) fn parse_json_entry(line: &[u8]) -> Result<JournalEntry, LogError> {
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| LogError::JournalParse(format!("{e} in {}", String::from_utf8_lossy(line))))?;
    let Value::Object(map) = value else {
        return Err(LogError::JournalParse(
            "an entry is not a JSON object".into(),
        ));
    };
    let text = |k: &str| map.get(k).and_then(field_text);
    let cursor = text("__CURSOR")
        .ok_or_else(|| LogError::JournalParse("an entry without __CURSOR".into()))?;
    Ok(JournalEntry {
        cursor,
        realtime_us: text("__REALTIME_TIMESTAMP").and_then(|t| t.parse().ok()),
        message: text("MESSAGE").unwrap_or_default(),
        unit: text("_SYSTEMD_UNIT"),
        identifier: text("SYSLOG_IDENTIFIER"),
        priority: text("PRIORITY").and_then(|p| p.parse().ok()),
        pid: text("_PID").and_then(|p| p.parse().ok()),
    })
}
