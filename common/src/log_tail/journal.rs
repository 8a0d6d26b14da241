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
//! newest entry. Each call reads at most [`JournalTail::with_max_entries`] entries (`--lines`
//! counts forward from a cursor or `--since`, so `journalctl` stops there) and at most
//! [`JournalTail::with_max_output`] bytes: when a cap cuts the output, the complete entries
//! before the cut are returned and the next call continues after them. Needs `journalctl` from
//! systemd 236 or later (`--output-fields`). A cursor `journalctl` rejects (journal vacuumed, wrong machine) makes that call fail;
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
/// Default cap on the entries read per call.
const DEFAULT_MAX_ENTRIES: usize = 10_000;
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

impl std::fmt::Display for JournalMatch {
    /// As journalctl's option: `--unit=etcd.service`, `--identifier=Keepalived_vrrp`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalMatch::Unit(u) => write!(f, "--unit={u}"),
            JournalMatch::Identifier(i) => write!(f, "--identifier={i}"),
        }
    }
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
    max_entries: usize,
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
            max_entries: DEFAULT_MAX_ENTRIES,
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

    /// Caps the entries read per call (default 10 000); the rest come with the next calls.
    pub fn with_max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries.max(1);
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
        let forward = format!("--lines={}", self.max_entries);
        if let Some(c) = &self.cursor {
            args.push(format!("--after-cursor={c}"));
            args.push(forward);
        } else if let Some(us) = self.resume_after_us {
            let next = us.saturating_add(1);
            args.push(format!(
                "--since=@{}.{:06}",
                next / 1_000_000,
                next % 1_000_000
            ));
            args.push(forward);
        } else if !self.attempted && self.start == StartAt::End {
            // Without a cursor or --since, --lines counts back from the end: the newest entry
            // tells where "now" is.
            args.push("--lines=1".to_owned());
        } else {
            // From the first entry; --since makes --lines count forward from there.
            args.push("--since=@0".to_owned());
            args.push(forward);
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
                // A refused cursor would fail every call from now on: resume by time instead.
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
            match parse_json_entry(line) {
                Ok(entry) => entries.push(entry),
                // One odd line must not stop the entries after it (nor stall the cursor).
                Err(e) => log::warn!("journal ({}): skipping an entry: {e}", self.filter),
            }
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

    /// The messages of [`JournalTail::read_entries`] (a message may hold several lines).
    pub fn read_lines(&mut self) -> Result<Vec<String>, LogError> {
        Ok(self
            .read_entries()?
            .into_iter()
            .map(|e| e.message)
            .collect())
    }
}

/// The last `n` entries of every unit in `location` (`journalctl --lines=n`), oldest first, for
/// windows over the whole journal (document 001's last 1,000 lines of the messages file on a
/// host that has only the journal). Bounded by `timeout` and `max_output` bytes; an entry that
/// cannot be parsed is skipped (logged).
pub fn last_entries(
    program: &std::path::Path,
    location: &JournalLocation,
    n: usize,
    timeout: Duration,
    max_output: usize,
) -> Result<Vec<JournalEntry>, LogError> {
    let program = program.to_string_lossy().into_owned();
    let mut args = vec![
        program,
        "--no-pager".to_owned(),
        "--quiet".to_owned(),
        "--output=json".to_owned(),
        "--output-fields=MESSAGE,PRIORITY,SYSLOG_IDENTIFIER".to_owned(),
        format!("--lines={n}"),
    ];
    match location {
        JournalLocation::System => {}
        JournalLocation::Directory(d) => args.push(format!("--directory={}", d.display())),
        JournalLocation::File(f) => args.push(format!("--file={}", f.display())),
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = command::run(&argv, timeout, max_output)?;
    if !out.success() {
        return Err(LogError::JournalExit {
            code: out.code,
            stderr: String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(STDERR_KEPT)])
                .trim()
                .to_owned(),
        });
    }
    let mut entries = Vec::new();
    // A cut last line (the output cap) is left out rather than misread.
    let complete = match out.stdout.iter().rposition(|b| *b == b'\n') {
        Some(last) => &out.stdout[..=last],
        None => &[][..],
    };
    for line in complete.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match parse_json_entry(line) {
            Ok(e) => entries.push(e),
            Err(e) => log::warn!("journal (last {n} entries): skipping an entry: {e}"),
        }
    }
    Ok(entries)
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
pub fn parse_json_entry(line: &[u8]) -> Result<JournalEntry, LogError> {
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        let start = &line[..line.len().min(200)];
        LogError::JournalParse(format!("{e} in {}", String::from_utf8_lossy(start)))
    })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_filter_reads_as_the_journalctl_option_in_log_lines() {
        assert_eq!(
            JournalMatch::Unit("etcd.service".into()).to_string(),
            "--unit=etcd.service"
        );
        assert_eq!(
            JournalMatch::Identifier("Keepalived_vrrp".into()).to_string(),
            "--identifier=Keepalived_vrrp"
        );
    }

    /// Lines as `journalctl -o json --output-fields=...` printed them (systemd 252), one with a
    /// non-UTF-8 MESSAGE (a byte array) and one with a field logged twice.
    const CAPTURE: &str = r#"{"__REALTIME_TIMESTAMP":"1764590000000000","__CURSOR":"s=89900ce91fa842efad9844251cf8bc63;i=1;b=0123456789abcdef0123456789abcdef;m=3e8;t=644e2a01fcc00;x=22788438fe0e9932","_SYSTEMD_UNIT":"flink.service","SYSLOG_IDENTIFIER":"flink","PRIORITY":"6","_PID":"4242","MESSAGE":"hello one","__MONOTONIC_TIMESTAMP":"1000"}
{"_BOOT_ID":"0123456789abcdef0123456789abcdef","__MONOTONIC_TIMESTAMP":"4000","__CURSOR":"s=89900ce91fa842efad9844251cf8bc63;i=4;b=0123456789abcdef0123456789abcdef;m=fa0;t=644e2a04d92c0;x=f61b6aa29062858a","MESSAGE":[98,97,100,32,255,254,32,98,121,116,101,115],"__REALTIME_TIMESTAMP":"1764590003000000"}
{"__CURSOR":"c3","SYSLOG_IDENTIFIER":["flink","flink-ha"],"MESSAGE":null}"#;

    #[test]
    fn json_entries_of_every_shape_are_parsed() {
        let entries: Vec<JournalEntry> = CAPTURE
            .lines()
            .map(|l| parse_json_entry(l.as_bytes()).unwrap())
            .collect();
        assert_eq!(
            entries[0],
            JournalEntry {
                cursor: "s=89900ce91fa842efad9844251cf8bc63;i=1;b=0123456789abcdef0123456789abcdef;m=3e8;t=644e2a01fcc00;x=22788438fe0e9932".into(),
                realtime_us: Some(1_764_590_000_000_000),
                message: "hello one".into(),
                unit: Some("flink.service".into()),
                identifier: Some("flink".into()),
                priority: Some(6),
                pid: Some(4242),
            }
        );
        assert_eq!(entries[1].message, "bad \u{fffd}\u{fffd} bytes");
        assert_eq!(entries[2].identifier.as_deref(), Some("flink"));
        assert_eq!(entries[2].message, "");
    }

    #[test]
    fn garbage_and_entries_without_a_cursor_are_errors() {
        assert!(matches!(
            parse_json_entry(b"{\"MESSAGE\":\"x\"}"),
            Err(LogError::JournalParse(_))
        ));
        assert!(matches!(
            parse_json_entry(b"\xff\x00not json"),
            Err(LogError::JournalParse(_))
        ));
        assert!(matches!(
            parse_json_entry(b"[1,2]"),
            Err(LogError::JournalParse(_))
        ));
    }

    #[test]
    fn arguments_are_one_vector_without_a_shell() {
        let t = JournalTail::new(
            JournalLocation::Directory("/var/log/journal".into()),
            JournalMatch::Unit("flink server.service; rm -rf /".into()),
            StartAt::End,
        );
        let args = t.args();
        assert!(args.contains(&"--directory=/var/log/journal".to_owned()));
        assert!(args.contains(&"--unit=flink server.service; rm -rf /".to_owned()));
        assert!(args.contains(&"--lines=1".to_owned()));
        let t = t.with_cursor("s=abc;i=1");
        let args = t.args();
        assert!(args.contains(&"--after-cursor=s=abc;i=1".to_owned()));
        assert!(args.contains(&"--lines=10000".to_owned()));
        let mut t = JournalTail::new(
            JournalLocation::System,
            JournalMatch::Identifier("keepalived".into()),
            StartAt::Beginning,
        );
        assert!(t.args().contains(&"--identifier=keepalived".to_owned()));
        assert!(t.args().contains(&"--since=@0".to_owned()));
        t.resume_after_us = Some(1_764_590_003_999_999);
        assert!(t.args().contains(&"--since=@1764590004.000000".to_owned()));
    }

    #[test]
    fn a_missing_journalctl_is_a_clear_error() {
        let mut t = JournalTail::new(
            JournalLocation::System,
            JournalMatch::Unit("x.service".into()),
            StartAt::Beginning,
        )
        .with_program("/nonexistent/journalctl");
        let err = t.read_entries().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/journalctl"), "{err}");
    }

    // Against real journal files: `systemd-journal-remote` (Debian package of that name) turns
    // export-format input into a journal file, which `journalctl --file=` reads without a
    // running journald.

    const JOURNAL_REMOTE: [&str; 2] = [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ];

    fn journal_remote() -> &'static str {
        JOURNAL_REMOTE
            .iter()
            .copied()
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| {
                panic!(
                    "systemd-journal-remote not found at {JOURNAL_REMOTE:?}: these tests need a \
                     real journal file (apt-get install systemd-journal-remote)"
                )
            })
    }

    fn require_journalctl() {
        let ok = command::run(&["journalctl", "--version"], Duration::from_secs(5), 4096)
            .is_ok_and(|o| o.success());
        assert!(
            ok,
            "journalctl not runnable: these tests need it (apt-get install systemd)"
        );
    }

    /// One entry in the journal export format; `message` is written in the binary form so it
    /// may hold newlines and invalid UTF-8.
    fn export_entry(out: &mut Vec<u8>, seq: u64, unit: &str, ident: &str, message: &[u8]) {
        let text = format!(
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n\
             _BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT={unit}\n\
             SYSLOG_IDENTIFIER={ident}\nPRIORITY=6\n_PID=4242\n_HOSTNAME=fs-node-1\nMESSAGE\n",
            1_764_590_000_000_000 + seq * 1_000_000,
            1000 + seq,
        );
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(&(message.len() as u64).to_le_bytes());
        out.extend_from_slice(message);
        out.extend_from_slice(b"\n\n");
    }

    /// Appends entries to `journal` (created on first use).
    fn write_journal(journal: &Path, entries: &[(u64, &str, &str, &[u8])]) {
        let mut export = Vec::new();
        for (seq, unit, ident, msg) in entries {
            export_entry(&mut export, *seq, unit, ident, msg);
        }
        let input = journal.with_extension("export");
        std::fs::write(&input, export).unwrap();
        let output = format!("--output={}", journal.display());
        let input = input.display().to_string();
        let out = command::run(
            &[journal_remote(), "--split-mode=none", &output, &input],
            Duration::from_secs(20),
            64 * 1024,
        )
        .unwrap();
        assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    fn journal_dir(tag: &str) -> PathBuf {
        require_journalctl();
        super::super::test_dir(&format!("journal-{tag}"))
    }

    fn flink(location: JournalLocation, start: StartAt) -> JournalTail {
        JournalTail::new(location, JournalMatch::Unit("flink.service".into()), start)
    }

    #[test]
    fn a_real_journal_file_is_read_incrementally_with_a_cursor() {
        let d = journal_dir("incr");
        let file = d.join("remote.journal");
        write_journal(
            &file,
            &[
                (1, "flink.service", "flink", b"Leadership granted, term 42"),
                (2, "other.service", "other", b"not ours"),
                (3, "flink.service", "flink", b"Heartbeat ok"),
            ],
        );
        let mut t = flink(JournalLocation::File(file.clone()), StartAt::Beginning);
        assert_eq!(
            t.read_lines().unwrap(),
            vec!["Leadership granted, term 42", "Heartbeat ok"]
        );
        assert!(t.read_lines().unwrap().is_empty());
        let saved = t.cursor().unwrap().to_owned();

        write_journal(
            &file,
            &[
                (4, "flink.service", "flink", b"bad \xff byte\nsecond line"),
                (5, "flink.service", "flink", b"Leadership revoked, term 42"),
            ],
        );
        let entries = t.read_entries().unwrap();
        assert_eq!(
            entries
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>(),
            vec![
                "bad \u{fffd} byte\nsecond line",
                "Leadership revoked, term 42"
            ]
        );
        assert_eq!(entries[1].realtime_us, Some(1_764_590_005_000_000));
        assert_eq!(entries[1].pid, Some(4242));
        assert_eq!(entries[1].unit.as_deref(), Some("flink.service"));

        // A reader resumed from a saved cursor sees only what came after it.
        let mut resumed = flink(JournalLocation::File(file), StartAt::End).with_cursor(saved);
        assert_eq!(resumed.read_lines().unwrap().len(), 2);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_last_entries_of_every_unit_carry_their_priority_and_time() {
        let d = journal_dir("last");
        let file = d.join("remote.journal");
        let mut export = Vec::new();
        for (seq, prio) in [(1u64, 6u8), (2, 3), (3, 4), (4, 6)] {
            export.extend_from_slice(
                format!(
                    "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={seq}\n\
                     _BOOT_ID=0123456789abcdef0123456789abcdef\nSYSLOG_IDENTIFIER=app{seq}\n\
                     PRIORITY={prio}\nMESSAGE=entry {seq}\n\n",
                    1_764_590_000_000_000 + seq * 1_000_000
                )
                .as_bytes(),
            );
        }
        let input = d.join("in.export");
        std::fs::write(&input, export).unwrap();
        let out = command::run(
            &[
                journal_remote(),
                "--split-mode=none",
                &format!("--output={}", file.display()),
                &input.display().to_string(),
            ],
            Duration::from_secs(20),
            64 * 1024,
        )
        .unwrap();
        assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let e = last_entries(
            Path::new("journalctl"),
            &JournalLocation::File(file),
            3,
            Duration::from_secs(10),
            1 << 20,
        )
        .unwrap();
        let got: Vec<(Option<u8>, &str)> =
            e.iter().map(|e| (e.priority, e.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some(3), "entry 2"),
                (Some(4), "entry 3"),
                (Some(6), "entry 4")
            ]
        );
        assert_eq!(e[2].realtime_us, Some(1_764_590_004_000_000));
        let missing = last_entries(
            Path::new("/nonexistent/journalctl"),
            &JournalLocation::System,
            3,
            Duration::from_secs(5),
            1024,
        );
        assert!(missing.is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn start_at_end_skips_what_is_already_in_the_journal_directory() {
        let d = journal_dir("end");
        let file = d.join("remote.journal");
        write_journal(&file, &[(1, "flink.service", "flink", b"old")]);
        let mut t = flink(JournalLocation::Directory(d.clone()), StartAt::End);
        assert!(t.read_lines().unwrap().is_empty());
        assert!(t.cursor().is_some());
        write_journal(&file, &[(2, "flink.service", "flink", b"new")]);
        assert_eq!(t.read_lines().unwrap(), vec!["new"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn entries_can_be_chosen_by_syslog_identifier() {
        let d = journal_dir("ident");
        let file = d.join("remote.journal");
        write_journal(
            &file,
            &[
                (
                    1,
                    "keepalived.service",
                    "Keepalived_vrrp",
                    b"Entering MASTER STATE",
                ),
                (2, "keepalived.service", "Keepalived", b"Starting"),
            ],
        );
        let mut t = JournalTail::new(
            JournalLocation::File(file),
            JournalMatch::Identifier("Keepalived_vrrp".into()),
            StartAt::Beginning,
        );
        assert_eq!(t.read_lines().unwrap(), vec!["Entering MASTER STATE"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn output_over_the_cap_is_read_over_several_calls_without_loss() {
        let d = journal_dir("cap");
        let file = d.join("remote.journal");
        let msgs: Vec<String> = (0..6)
            .map(|i| format!("line {i} {}", "x".repeat(200)))
            .collect();
        let entries: Vec<(u64, &str, &str, &[u8])> = msgs
            .iter()
            .zip(1u64..)
            .map(|(m, i)| (i, "flink.service", "flink", m.as_bytes()))
            .collect();
        write_journal(&file, &entries);
        // About two entries of JSON per call.
        let mut t = flink(JournalLocation::File(file), StartAt::Beginning).with_max_output(1200);
        let mut got = Vec::new();
        let mut calls = 0;
        while got.len() < msgs.len() && calls < 20 {
            got.extend(t.read_lines().unwrap());
            calls += 1;
        }
        assert_eq!(got, msgs);
        assert!(calls >= 3, "{calls} calls");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_backlog_is_read_a_bounded_number_of_entries_per_call() {
        let d = journal_dir("entries");
        let file = d.join("remote.journal");
        let msgs: Vec<String> = (0..5).map(|i| format!("entry {i}")).collect();
        let entries: Vec<(u64, &str, &str, &[u8])> = msgs
            .iter()
            .zip(1u64..)
            .map(|(m, i)| (i, "flink.service", "flink", m.as_bytes()))
            .collect();
        write_journal(&file, &entries);
        let mut t = flink(JournalLocation::File(file), StartAt::Beginning).with_max_entries(2);
        assert_eq!(t.read_lines().unwrap(), vec!["entry 0", "entry 1"]);
        assert_eq!(t.read_lines().unwrap(), vec!["entry 2", "entry 3"]);
        assert_eq!(t.read_lines().unwrap(), vec!["entry 4"]);
        assert!(t.read_lines().unwrap().is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_rejected_cursor_fails_once_then_resumes_after_the_last_time() {
        let d = journal_dir("badcursor");
        let file = d.join("remote.journal");
        write_journal(&file, &[(1, "flink.service", "flink", b"one")]);
        let mut t = flink(JournalLocation::File(file.clone()), StartAt::Beginning);
        assert_eq!(t.read_lines().unwrap(), vec!["one"]);
        t.cursor = Some("not-a-cursor".into());
        let err = t.read_lines().unwrap_err();
        assert!(err.to_string().contains("cursor"), "{err}");
        write_journal(&file, &[(2, "flink.service", "flink", b"two")]);
        assert_eq!(t.read_lines().unwrap(), vec!["two"]);
        assert!(t.read_lines().unwrap().is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_missing_journal_directory_is_an_error_naming_it() {
        require_journalctl();
        let mut t = flink(
            JournalLocation::Directory("/nonexistent/journal".into()),
            StartAt::Beginning,
        );
        let err = t.read_lines().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/journal"), "{err}");
    }
}
