//! Kernel health from its log (document 001 §2.1 os_msg_has_kernel_error 内核是否存在错误日志,
//! os_msg_memory_abnormal "bad pmd"): the `kernel_log` job.
//!
//! A pass reads the records `/dev/kmsg` gained since the last pass (by sequence number, so a
//! record is never counted twice, also after a reopen) and the lines the messages file gained.
//! Records already in the buffer at the first pass are history, not a current error: hosts
//! often carry a few from boot (`[kernel_log] count_existing` counts them instead). A kernel
//! record (facility 0; user space cannot write it) at level err or worse counts as a kernel
//! error; the document's 0/1 is "one seen within `[kernel_log] window`". The memory-error lines
//! (`bad pmd` and its companions) are looked for in both sources. Each pass that finds some
//! writes an audit record with the records themselves (capped), and for memory errors the
//! transparent-huge-page and NUMA-balancing settings, since the document's remedy is to turn
//! THP off.

pub(crate) mod source;

use std::collections::VecDeque;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use common::audit::{AuditJournal, AuditRecord};
use common::log_tail::{FamilyTail, StartAt};
use common::{Latest, SysPaths};
use serde_json::json;

use crate::config::KernelLogConfig;
use crate::parsers::kmsg::{self, KmsgRecord};
use crate::parsers::memory_errors::{self, MemoryError};
use source::{KmsgSource, Step};

/// The audit check written when kernel error records appear.
pub(crate) const AUDIT_KERNEL_ERROR: &str = "kernel_error";
/// The audit check written when memory-error lines appear.
pub(crate) const AUDIT_MEMORY_ERROR: &str = "memory_error";

/// Most records (or lines) quoted in one audit record; the rest are counted.
const AUDIT_QUOTED: usize = 20;
/// Longest text quoted in an audit record, in characters.
const AUDIT_TEXT: usize = 512;
/// Most records read in one pass; the rest wait for the next pass (a flood of records must
/// not make a pass endless).
const MAX_RECORDS_PER_PASS: usize = 200_000;
/// Bytes sampled at the end of the messages file to tell a binary file from a log.
const BINARY_SAMPLE: u64 = 4096;

/// Where a memory-error line was seen, the `source` label.
pub(crate) const SOURCES: [&str; 2] = ["kmsg", "messages"];

/// What the job has found so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Report {
    /// Why `/dev/kmsg` could not be read this pass; the row is then unknown, never "no error".
    pub(crate) kmsg_error: Option<String>,
    /// Why the messages file could not be read (or is not a text log) this pass.
    pub(crate) messages_error: Option<String>,
    /// Kernel records since start by level 0 (emerg) to 4 (warning).
    pub(crate) records_by_level: [u64; 5],
    /// Records overwritten before we read them, since start.
    pub(crate) lost_records: u64,
    /// Kernel error records seen within the window.
    pub(crate) errors_in_window: u64,
    /// Memory-error lines since start, by source (`SOURCES` order) and kind (`MemoryError::ALL`).
    pub(crate) memory_lines: [[u64; 3]; 2],
    /// Memory-error lines seen within the window.
    pub(crate) memory_in_window: u64,
}

/// Counts seen per pass, kept for the window.
struct Seen {
    at: Instant,
    errors: u64,
    memory: u64,
}

/// One memory-error line and where it came from, for the audit.
struct MemoryLine {
    source: &'static str,
    kind: MemoryError,
    text: String,
}

/// The job's state between passes.
pub(crate) struct KernelLog {
    paths: SysPaths,
    cfg: KernelLogConfig,
    journal: Arc<AuditJournal>,
    latest: Latest<Report>,
    kmsg: Option<KmsgSource>,
    /// The last sequence number read: records at or below it are skipped (a reopen starts
    /// again at the oldest record).
    last_seq: Option<u64>,
    /// Whether the buffer's existing records have been read (as history, or counted).
    started: bool,
    /// Kernel error records found in the buffer at start, for the log line.
    history_errors: u64,
    messages: Option<FamilyTail>,
    report: Report,
    window: VecDeque<Seen>,
}

impl KernelLog {
    /// A job publishing to `latest` and auditing to `journal`.
    pub(crate) fn new(
        paths: SysPaths,
        cfg: KernelLogConfig,
        journal: Arc<AuditJournal>,
        latest: Latest<Report>,
    ) -> Self {
        let start = if cfg.count_existing {
            StartAt::Beginning
        } else {
            StartAt::End
        };
        let messages = (!cfg.messages_file.as_os_str().is_empty())
            .then(|| FamilyTail::new(messages_path(&paths, &cfg), start));
        Self {
            paths,
            cfg,
            journal,
            latest,
            kmsg: None,
            last_seq: None,
            started: false,
            history_errors: 0,
            messages,
            report: Report::default(),
            window: VecDeque::new(),
        }
    }

    /// One pass. Fails when `/dev/kmsg` or the messages file could not be read (the report says
    /// why; the collector reports success 0 for `/dev/kmsg` only) or an audit record could not
    /// be written.
    pub(crate) fn run_once(&mut self) -> Result<(), String> {
        let mut errors: Vec<KmsgRecord> = Vec::new();
        let mut memory: Vec<MemoryLine> = Vec::new();
        self.report.kmsg_error = self
            .read_kmsg(&mut errors, &mut memory)
            .err()
            .map(|e| e.to_string());
        self.report.messages_error = self.read_messages(&mut memory).err();
        for m in &memory {
            let s = usize::from(m.source == "messages");
            let k = MemoryError::ALL
                .iter()
                .position(|k| *k == m.kind)
                .unwrap_or(0);
            self.report.memory_lines[s][k] += 1;
        }
        let now = Instant::now();
        self.window.push_back(Seen {
            at: now,
            errors: errors.len() as u64,
            memory: memory.len() as u64,
        });
        while self
            .window
            .front()
            .is_some_and(|s| now.duration_since(s.at) > self.cfg.window)
        {
            self.window.pop_front();
        }
        self.report.errors_in_window = self.window.iter().map(|s| s.errors).sum();
        self.report.memory_in_window = self.window.iter().map(|s| s.memory).sum();
        self.latest.publish(self.report.clone());
        let mut problems: Vec<String> = [&self.report.kmsg_error, &self.report.messages_error]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if !errors.is_empty()
            && let Err(e) = self.journal.write(&kernel_error_record(&errors))
        {
            problems.push(e.to_string());
        }
        if !memory.is_empty()
            && let Err(e) = self.journal.write(&self.memory_error_record(&memory))
        {
            problems.push(e.to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Reads the records since the last pass into the counters; kernel errors and memory-error
    /// records go to `errors` and `memory` (empty on the first pass unless `count_existing`).
    fn read_kmsg(
        &mut self,
        errors: &mut Vec<KmsgRecord>,
        memory: &mut Vec<MemoryLine>,
    ) -> Result<(), source::KmsgError> {
        if self.cfg.kmsg_path.as_os_str().is_empty() {
            return Ok(());
        }
        let history = !self.started && !self.cfg.count_existing;
        let mut src = match self.kmsg.take() {
            Some(s) => s,
            None => KmsgSource::open(&self.cfg.kmsg_path)?,
        };
        let mut reached_end = false;
        for _ in 0..MAX_RECORDS_PER_PASS {
            // On an error the device is reopened at the next pass; the sequence number skips
            // what was read.
            let bytes = match src.next()? {
                Step::Record(b) => b,
                // The gap in sequence numbers counts what was overwritten.
                Step::Overwritten => continue,
                Step::End => {
                    reached_end = true;
                    break;
                }
            };
            let Some(r) = kmsg::parse(&bytes) else {
                log::debug!("kernel_log: skipping a malformed /dev/kmsg record");
                continue;
            };
            if let Some(last) = self.last_seq {
                if r.seq <= last {
                    continue;
                }
                // A gap is records overwritten in the ring buffer before we read them.
                self.report.lost_records += r.seq - last - 1;
            }
            self.last_seq = Some(r.seq);
            if r.facility != kmsg::KERNEL_FACILITY {
                continue;
            }
            if history {
                self.history_errors += u64::from(r.is_kernel_error());
                continue;
            }
            if let Some(n) = self.report.records_by_level.get_mut(usize::from(r.level)) {
                *n += 1;
            }
            if let Some(kind) = memory_errors::classify(&r.message) {
                memory.push(MemoryLine {
                    source: "kmsg",
                    kind,
                    text: r.message.clone(),
                });
            }
            if r.is_kernel_error() {
                errors.push(r);
            }
        }
        if history && reached_end {
            log::info!(
                "kernel_log: {} kernel record(s) at level err or worse were already in the buffer at start (up to sequence number {}); history, not counted",
                self.history_errors,
                self.last_seq
                    .map_or_else(|| "none".to_owned(), |s| s.to_string())
            );
        }
        // A huge buffer read only in part stays history until its end is reached.
        self.started |= reached_end || !history;
        self.kmsg = Some(src);
        Ok(())
    }

    /// Reads the lines the messages file gained; the error says why it could not be read.
    fn read_messages(&mut self, memory: &mut Vec<MemoryLine>) -> Result<(), String> {
        let Some(tail) = self.messages.as_mut() else {
            return Ok(());
        };
        let path = tail.live().path().to_path_buf();
        // A binary file in place of the log would otherwise be read as meaningless "lines".
        if let Some(n) = binary_bytes(&path) {
            return Err(format!(
                "{}: {n} NUL byte(s) in its last {BINARY_SAMPLE} bytes: not a text log",
                path.display()
            ));
        }
        let mut nul_lines = 0u64;
        tail.read_lines(|line| {
            if line.contains('\0') {
                nul_lines += 1;
            } else if let Some(kind) = memory_errors::classify(line) {
                memory.push(MemoryLine {
                    source: "messages",
                    kind,
                    text: line.to_owned(),
                });
            }
        })
        .map_err(|e| e.to_string())?;
        for p in tail.take_problems() {
            log::warn!("kernel_log: {p}");
        }
        if nul_lines > 0 {
            return Err(format!(
                "{}: {nul_lines} new line(s) hold NUL bytes: not a text log",
                path.display()
            ));
        }
        Ok(())
    }

    fn memory_error_record(&self, lines: &[MemoryLine]) -> AuditRecord {
        let read = |p: PathBuf| {
            std::fs::read_to_string(&p)
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|e| format!("unreadable: {e}"))
        };
        AuditRecord {
            check: AUDIT_MEMORY_ERROR.to_owned(),
            threshold: "no bad pmd / Bad rss-counter state line".to_owned(),
            observed: lines.len() as f64,
            evidence: json!({
                "lines": lines.iter().take(AUDIT_QUOTED).map(|l| json!({
                    "source": l.source,
                    "kind": l.kind.label(),
                    "text": cap(&l.text),
                })).collect::<Vec<_>>(),
                "omitted": lines.len().saturating_sub(AUDIT_QUOTED),
                "transparent_hugepage_enabled": read(self.paths.sys("kernel/mm/transparent_hugepage/enabled")),
                "numa_balancing": read(self.paths.proc("sys/kernel/numa_balancing")),
            }),
        }
    }
}

/// The messages file under `--path.rootfs`.
fn messages_path(paths: &SysPaths, cfg: &KernelLogConfig) -> PathBuf {
    let rel = cfg.messages_file.to_string_lossy();
    paths.root(rel.trim_start_matches('/'))
}

/// NUL bytes in the last [`BINARY_SAMPLE`] bytes of the regular file at `path`, when any.
fn binary_bytes(path: &std::path::Path) -> Option<usize> {
    let mut f = common::regular_file::open_regular(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(BINARY_SAMPLE)))
        .ok()?;
    let mut buf = Vec::new();
    f.take(BINARY_SAMPLE).read_to_end(&mut buf).ok()?;
    let n = buf.iter().filter(|&&b| b == 0).count();
    (n > 0).then_some(n)
}

fn cap(text: &str) -> String {
    text.chars().take(AUDIT_TEXT).collect()
}

fn kernel_error_record(errors: &[KmsgRecord]) -> AuditRecord {
    AuditRecord {
        check: AUDIT_KERNEL_ERROR.to_owned(),
        threshold: "no kernel record at level err or worse".to_owned(),
        observed: errors.len() as f64,
        evidence: json!({
            "records": errors.iter().take(AUDIT_QUOTED).map(|r| json!({
                "seq": r.seq,
                "ts_usec": r.ts_usec,
                "level": r.level_name(),
                "text": cap(&r.message),
            })).collect::<Vec<_>>(),
            "omitted": errors.len().saturating_sub(AUDIT_QUOTED),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use common::audit::AuditConfig;

    use super::*;
    use crate::collectors::test_support::fixture;

    fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    fn job(dir: &Path, cfg: KernelLogConfig) -> (KernelLog, Latest<Report>, PathBuf) {
        let audit = dir.join("audit.jsonl");
        let journal = Arc::new(AuditJournal::new(
            AuditConfig {
                enabled: true,
                path: Some(audit.clone()),
                ..AuditConfig::default()
            },
            &audit,
        ));
        let latest = Latest::new();
        (
            KernelLog::new(fixture("ugly"), cfg, journal, latest.clone()),
            latest,
            audit,
        )
    }

    fn cfg(count_existing: bool) -> KernelLogConfig {
        KernelLogConfig {
            kmsg_path: fixtures().join("ugly/kmsg"),
            count_existing,
            ..KernelLogConfig::default()
        }
    }

    #[test]
    fn records_in_the_buffer_at_start_are_history() {
        let dir = suite_tests::TempDir::new("kernel-log-history");
        let (mut j, latest, audit) = job(dir.path(), cfg(false));
        j.run_once().unwrap();
        let r = latest.get().unwrap();
        assert_eq!(r.errors_in_window, 0);
        assert_eq!(r.records_by_level, [0; 5]);
        assert_eq!(r.memory_in_window, 0);
        assert!(!audit.exists());
    }

    #[test]
    fn counted_records_are_kernel_errors_once_never_user_space_ones() {
        let dir = suite_tests::TempDir::new("kernel-log-count");
        let (mut j, latest, audit) = job(dir.path(), cfg(true));
        j.run_once().unwrap();
        let r = latest.get().unwrap();
        // EXT4 (340) and bad pmd (345) at err, rss-counter (346) at alert; the user-space
        // <3> line (341) and the garbage line are not counted.
        assert_eq!(r.errors_in_window, 3);
        assert_eq!(r.records_by_level, [0, 1, 0, 2, 2]);
        // Between 2 and 401 the capture skips sequence numbers, as a buffer that overwrote.
        assert_eq!(r.lost_records, 392);
        // kmsg: bad pmd, rss-counter; messages: all three kinds.
        assert_eq!(r.memory_lines, [[1, 1, 0], [1, 1, 1]]);
        assert_eq!(r.memory_in_window, 5);
        let text = std::fs::read_to_string(&audit).unwrap();
        assert!(text.contains("Can't find ext4 filesystem"), "{text}");
        assert!(text.contains("transparent_hugepage_enabled"), "{text}");
        // Reopening reads the buffer from its oldest record again: nothing counts twice.
        j.kmsg = None;
        j.run_once().unwrap();
        let r = latest.get().unwrap();
        assert_eq!(r.records_by_level, [0, 1, 0, 2, 2]);
        assert_eq!(r.errors_in_window, 3);
    }

    #[test]
    fn the_window_forgets_old_errors_but_the_counters_stay() {
        let dir = suite_tests::TempDir::new("kernel-log-window");
        let (mut j, latest, _) = job(
            dir.path(),
            KernelLogConfig {
                window: Duration::from_millis(50),
                ..cfg(true)
            },
        );
        j.run_once().unwrap();
        assert_eq!(latest.get().unwrap().errors_in_window, 3);
        std::thread::sleep(Duration::from_millis(80));
        j.run_once().unwrap();
        let r = latest.get().unwrap();
        assert_eq!(r.errors_in_window, 0);
        assert_eq!(r.memory_in_window, 0);
        assert_eq!(r.records_by_level[3], 2);
    }

    #[test]
    fn an_unreadable_kmsg_is_an_error_never_no_errors() {
        let dir = suite_tests::TempDir::new("kernel-log-unreadable");
        let (mut j, latest, _) = job(
            dir.path(),
            KernelLogConfig {
                kmsg_path: dir.path().join("no-such-kmsg"),
                ..cfg(false)
            },
        );
        let e = j.run_once().unwrap_err();
        assert!(e.contains("no-such-kmsg"), "{e}");
        assert!(latest.get().unwrap().kmsg_error.is_some());
    }

    #[test]
    fn a_binary_messages_file_is_an_error_naming_it() {
        let dir = suite_tests::TempDir::new("kernel-log-binary");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("var/log")).unwrap();
        let bin: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        std::fs::write(root.join("var/log/messages"), bin).unwrap();
        let audit = dir.path().join("audit.jsonl");
        let journal = Arc::new(AuditJournal::new(AuditConfig::default(), &audit));
        let latest = Latest::new();
        let mut j = KernelLog::new(
            SysPaths::fixture(&root),
            KernelLogConfig {
                kmsg_path: PathBuf::new(),
                ..KernelLogConfig::default()
            },
            journal,
            latest.clone(),
        );
        let e = j.run_once().unwrap_err();
        assert!(
            e.contains("var/log/messages") && e.contains("not a text log"),
            "{e}"
        );
        assert!(latest.get().unwrap().messages_error.is_some());
    }
}
