//! The audit journal ("采集审计" in the documents): when a documented audit condition holds, the
//! exporter appends the raw evidence as one JSON line to a size-bounded, rotated file with mode
//! 0600, and counts the records it wrote.
//!
//! A record is written whole or not at all: a write cut short (a full disk) is truncated back to
//! the file's length before it, and a torn last line left by a crash is cut off when the file
//! is opened, so the next record always starts a line.
//!
//! A journal that cannot be written never stops the exporter: the failure is counted in
//! `<prefix>_audit_write_errors_total` and returned; [`AuditJournal::failing`] says why until a
//! record is written again. The writer reports it (os-exporter's `audit` job fails with that
//! message, which `common::job` logs once when it starts and once when it ends).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::lock::MutexExt as _;
use crate::metrics::MetricSet;

/// Where and how big the journal may grow; embed it in an exporter's config as `[audit]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Whether records are written at all.
    pub enabled: bool,
    /// The journal file (rotated copies get `.1`, `.2`... appended); `None` = the exporter's default.
    pub path: Option<PathBuf>,
    /// Size at which the file is rotated, in bytes.
    pub max_file_bytes: u64,
    /// Rotated copies kept besides the live file.
    pub max_files: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
            max_file_bytes: 10 << 20,
            max_files: 3,
        }
    }
}

/// One audit record: what was checked, against what, what was seen and the raw evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// The check, e.g. `disk_usage` or `filesystem_readonly`.
    pub check: String,
    /// The threshold, as text with its unit (e.g. `80%`, `10ms`).
    pub threshold: String,
    /// The observed value that crossed it.
    pub observed: f64,
    /// The raw evidence: mount lines, interface counters, socket or process lists.
    pub evidence: serde_json::Value,
}

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Creating, opening, rotating or writing the journal failed.
    #[error("audit journal {path}: {action}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

struct State {
    file: Option<File>,
    size: u64,
    written: BTreeMap<String, u64>,
    write_errors: u64,
    /// Why the last write failed; cleared by a successful one.
    failing: Option<String>,
}

/// An append-only JSON-lines journal with size-bounded rotation.
pub struct AuditJournal {
    config: AuditConfig,
    path: PathBuf,
    state: Mutex<State>,
}

impl std::fmt::Debug for AuditJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditJournal")
            .field("path", &self.path)
            .field("config", &self.config)
            .finish()
    }
}

/// Formats a time as RFC 3339 UTC with milliseconds (the log's format, shared).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::logging::rfc3339(d.as_secs(), d.subsec_millis())
}

impl AuditJournal {
    /// A journal writing to `config.path`, else to `default_path` (e.g.
    /// `/var/lib/os-exporter/audit.jsonl`); the file is opened on the first record.
    pub fn new(config: AuditConfig, default_path: &Path) -> Self {
        let path = config
            .path
            .clone()
            .unwrap_or_else(|| default_path.to_path_buf());
        Self {
            config,
            path,
            state: Mutex::new(State {
                file: None,
                size: 0,
                written: BTreeMap::new(),
                write_errors: 0,
                failing: None,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuditConfig {
        &self.config
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.clone(),
            action,
            source,
        }
    }

    fn open(&self) -> Result<(File, u64), AuditError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io("creating its directory", e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| self.io("opening", e))?;
        // An existing file keeps its old mode on open: tighten it, the evidence may be sensitive.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| self.io("setting mode 0600", e))?;
        let size = file
            .metadata()
            .map_err(|e| self.io("reading its size", e))?
            .len();
        let size = cut_torn_tail(&file, size).map_err(|e| self.io("cutting a torn record", e))?;
        Ok((file, size))
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    fn rotate(&self) -> Result<(), AuditError> {
        if self.config.max_files == 0 {
            return std::fs::remove_file(&self.path)
                .or_else(ignore_missing)
                .map_err(|e| self.io("removing", e));
        }
        let _ = std::fs::remove_file(self.rotated(self.config.max_files));
        for n in (1..self.config.max_files).rev() {
            let _ = std::fs::rename(self.rotated(n), self.rotated(n + 1));
        }
        std::fs::rename(&self.path, self.rotated(1))
            .or_else(ignore_missing)
            .map_err(|e| self.io("rotating", e))
    }

    /// Appends one record (time, check, threshold, observed value, evidence) as a JSON line.
    pub fn write(&self, record: &AuditRecord) -> Result<(), AuditError> {
        if !self.config.enabled {
            return Ok(());
        }
        let line = serde_json::json!({
            "time": rfc3339(SystemTime::now()),
            "check": record.check,
            "threshold": record.threshold,
            "observed": if record.observed.is_finite() { serde_json::json!(record.observed) } else { serde_json::Value::Null },
            "evidence": record.evidence,
        });
        let mut text = line.to_string();
        text.push('\n');
        // A writer that panicked mid-append leaves at worst a torn last line; dropping every
        // later record (what a poisoned lock did before) would lose the evidence silently.
        let mut st = self.state.lock_or_recover();
        let result = self.append(&mut st, text.as_bytes());
        match &result {
            Ok(()) => {
                *st.written.entry(record.check.clone()).or_insert(0) += 1;
                st.failing = None;
            }
            Err(e) => {
                st.write_errors += 1;
                st.failing = Some(e.to_string());
            }
        }
        result
    }

    /// Why the last write failed, while writing fails (`None` again once a record is written).
    pub fn failing(&self) -> Option<String> {
        self.state.lock_or_recover().failing.clone()
    }

    fn append(&self, st: &mut State, bytes: &[u8]) -> Result<(), AuditError> {
        let len = bytes.len() as u64;
        if st.file.is_some() && st.size > 0 && st.size + len > self.config.max_file_bytes {
            st.file = None;
            self.rotate()?;
        }
        if st.file.is_none() {
            let (file, size) = self.open()?;
            st.file = Some(file);
            st.size = size;
            if size > 0 && size + len > self.config.max_file_bytes {
                st.file = None;
                self.rotate()?;
                let (file, size) = self.open()?;
                st.file = Some(file);
                st.size = size;
            }
        }
        let Some(file) = st.file.as_mut() else {
            return Ok(());
        };
        // The length right before this record (another writer may have appended meanwhile).
        let before = file
            .metadata()
            .map_err(|e| self.io("reading its size", e))?
            .len();
        if let Err(e) = file.write_all(bytes) {
            // A write cut short (ENOSPC after a partial write) must not leave half a record for
            // the next one to be glued to; if even this fails, opening cuts the torn line.
            let _ = file.set_len(before);
            // Reopen next time: the file may have been removed or the disk may have recovered.
            st.file = None;
            return Err(self.io("writing", e));
        }
        st.size = before + len;
        Ok(())
    }

    /// Declares the checks this exporter can write, so their counters start at 0 (and exist
    /// before the first record, as Prometheus counters should).
    pub fn declare_checks(&self, checks: &[&str]) {
        let mut st = self.state.lock_or_recover();
        for c in checks {
            st.written.entry((*c).to_owned()).or_insert(0);
        }
    }

    /// Records written so far, by check.
    pub fn records_written(&self) -> BTreeMap<String, u64> {
        self.state.lock_or_recover().written.clone()
    }

    /// Adds `<prefix>_audit_records_total{check}` and `<prefix>_audit_write_errors_total` to `set`.
    pub fn collect(&self, prefix: &str, set: &mut MetricSet) {
        let (written, errors) = {
            let s = self.state.lock_or_recover();
            (s.written.clone(), s.write_errors)
        };
        let name = format!("{prefix}_audit_records_total");
        let fam = set.family(
            &name,
            "Audit journal records written since start, by check.",
            crate::MetricType::Counter,
        );
        for (check, n) in &written {
            fam.push(&[("check", check)], *n as f64);
        }
        set.counter(
            &format!("{prefix}_audit_write_errors_total"),
            "Audit records that could not be written to the journal since start.",
            errors as f64,
        );
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Cuts a last line without its newline (a record torn by a crash or a failed truncation) off
/// `file` of `size` bytes; returns the size left.
fn cut_torn_tail(file: &File, size: u64) -> std::io::Result<u64> {
    const BLOCK: u64 = 4096;
    let mut end = size;
    let mut buf = vec![0u8; 4096];
    while end > 0 {
        let from = end.saturating_sub(BLOCK);
        let chunk = &mut buf[..usize::try_from(end - from).unwrap_or(0)];
        file.read_exact_at(chunk, from)?;
        if end == size && chunk.last() == Some(&b'\n') {
            return Ok(size);
        }
        if let Some(nl) = chunk.iter().rposition(|b| *b == b'\n') {
            let keep = from + nl as u64 + 1;
            file.set_len(keep)?;
            return Ok(keep);
        }
        end = from;
    }
    if size > 0 {
        file.set_len(0)?;
    }
    Ok(0)
}

fn ignore_missing(e: std::io::Error) -> Result<(), std::io::Error> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("audit-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn record(check: &str) -> AuditRecord {
        AuditRecord {
            check: check.into(),
            threshold: "80%".into(),
            observed: 91.5,
            evidence: serde_json::json!({"mount": "/dev/sdb1 /data ext4 rw"}),
        }
    }

    #[test]
    fn records_are_json_lines_with_all_fields_and_mode_0600() {
        let dir = temp_dir("fields");
        let path = dir.join("sub/audit.jsonl");
        let j = AuditJournal::new(AuditConfig::default(), &path);
        j.write(&record("disk_usage")).unwrap();
        j.write(&record("disk_usage")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["check"], "disk_usage");
        assert_eq!(lines[0]["threshold"], "80%");
        assert_eq!(lines[0]["observed"], 91.5);
        assert_eq!(lines[0]["evidence"]["mount"], "/dev/sdb1 /data ext4 rw");
        assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(j.records_written().get("disk_usage"), Some(&2));
        let mut set = MetricSet::new();
        j.collect("os", &mut set);
        assert_eq!(
            set.value("os_audit_records_total", &[("check", "disk_usage")]),
            Some(2.0)
        );
        assert_eq!(set.value("os_audit_write_errors_total", &[]), Some(0.0));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_existing_world_readable_file_is_tightened() {
        let dir = temp_dir("mode");
        let path = dir.join("audit.jsonl");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        AuditJournal::new(AuditConfig::default(), &path)
            .write(&record("x"))
            .unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn rotation_bounds_the_size_and_keeps_max_files() {
        let dir = temp_dir("rotate");
        let path = dir.join("audit.jsonl");
        let j = AuditJournal::new(
            AuditConfig {
                path: Some(path.clone()),
                max_file_bytes: 400,
                max_files: 2,
                enabled: true,
            },
            Path::new("/unused"),
        );
        for _ in 0..40 {
            j.write(&record("disk_usage")).unwrap();
        }
        for p in [
            path.clone(),
            dir.join("audit.jsonl.1"),
            dir.join("audit.jsonl.2"),
        ] {
            let len = std::fs::metadata(&p).unwrap().len();
            assert!(len > 0 && len <= 400, "{} is {len} bytes", p.display());
        }
        assert!(!dir.join("audit.jsonl.3").exists());
        assert_eq!(j.records_written().get("disk_usage"), Some(&40));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_unwritable_path_is_counted_not_fatal() {
        let j = AuditJournal::new(
            AuditConfig::default(),
            Path::new("/proc/no/such/audit.jsonl"),
        );
        assert!(j.write(&record("x")).is_err());
        let mut set = MetricSet::new();
        j.collect("os", &mut set);
        assert_eq!(set.value("os_audit_write_errors_total", &[]), Some(1.0));
    }

    /// Set in the child process that runs inside its own mount namespace on a small tmpfs.
    const TMPFS_DIR: &str = "AUDIT_TEST_TMPFS_DIR";

    /// Reruns the test `name` of this test binary in a private mount namespace with a 64 KiB
    /// tmpfs mounted on `dir` (as root, or as a mapped root in a user namespace); the mount
    /// disappears with the child. `None` when no namespace can be made here.
    fn rerun_on_small_tmpfs(name: &str, dir: &Path) -> Option<std::process::Output> {
        let exe = std::env::current_exe().unwrap();
        let script = "mount -t tmpfs -o size=64k,mode=0700 audit-test \"$1\" && exec \"$2\" --exact \"$3\" --test-threads=1 --nocapture";
        for unshare in [
            &["--mount", "--propagation", "private"][..],
            &[
                "--user",
                "--map-root-user",
                "--mount",
                "--propagation",
                "private",
            ][..],
        ] {
            let output = std::process::Command::new("unshare")
                .args(unshare)
                .args(["sh", "-c", script, "sh"])
                .arg(dir)
                .arg(&exe)
                .arg(name)
                .env(TMPFS_DIR, dir)
                .output();
            match output {
                // The test itself failed with 101; anything else is the namespace set-up.
                Ok(o) if o.status.success() || o.status.code() == Some(101) => return Some(o),
                _ => {}
            }
        }
        None
    }

    /// Whether the file is nothing but whole JSON records, one per line; returns how many.
    fn whole_records(path: &Path) -> usize {
        let text = std::fs::read(path).unwrap();
        assert!(
            text.is_empty() || text.ends_with(b"\n"),
            "the journal ends inside a record: {:?}",
            String::from_utf8_lossy(&text[text.len().saturating_sub(80)..])
        );
        let text = String::from_utf8(text).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a torn or merged record ({e}): {line:.120}"));
            assert!(v["check"].is_string());
        }
        text.lines().count()
    }

    /// A record of about 3 KB, so a 4 KiB tmpfs page holds one and a part of the next.
    fn big_record() -> AuditRecord {
        AuditRecord {
            evidence: serde_json::json!({"processes": "p".repeat(3000)}),
            ..record("cpu_top_processes")
        }
    }

    fn full_disk_scenario(dir: &Path) {
        // Ballast to free later, so the disk recovers.
        std::fs::write(dir.join("ballast"), vec![0u8; 16 * 1024]).unwrap();
        let path = dir.join("audit.jsonl");
        let j = AuditJournal::new(AuditConfig::default(), &path);
        let mut written = 0;
        let mut failed = 0;
        for _ in 0..100 {
            match j.write(&big_record()) {
                Ok(()) => written += 1,
                Err(e) => {
                    assert!(e.to_string().contains("No space left"), "{e}");
                    failed += 1;
                    if failed == 3 {
                        break;
                    }
                }
            }
            assert_eq!(whole_records(&path), written);
        }
        assert_eq!(failed, 3, "the 64 KiB tmpfs never filled up");
        assert!(written > 0);
        assert!(j.failing().is_some());
        std::fs::remove_file(dir.join("ballast")).unwrap();
        j.write(&record("disk_usage")).unwrap();
        assert_eq!(whole_records(&path), written + 1);
        assert!(j.failing().is_none());
        let mut set = MetricSet::new();
        j.collect("os", &mut set);
        assert_eq!(set.value("os_audit_write_errors_total", &[]), Some(3.0));
    }

    #[test]
    fn a_full_disk_leaves_only_whole_records_and_writing_resumes_when_space_returns() {
        const NAME: &str = "audit::tests::a_full_disk_leaves_only_whole_records_and_writing_resumes_when_space_returns";
        if let Some(dir) = std::env::var_os(TMPFS_DIR) {
            return full_disk_scenario(Path::new(&dir));
        }
        let dir = temp_dir("full-disk");
        let Some(run) = rerun_on_small_tmpfs(NAME, &dir) else {
            eprintln!(
                "skipped: no private mount namespace can be made here (needs root or user namespaces)"
            );
            return;
        };
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            run.status.success(),
            "the full-disk run failed: {}\n{}{}",
            run.status,
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }

    #[test]
    fn a_record_torn_by_a_crash_is_cut_when_the_journal_is_opened() {
        let dir = temp_dir("torn");
        let path = dir.join("audit.jsonl");
        let whole = "{\"check\":\"disk_usage\"}\n";
        std::fs::write(&path, format!("{whole}{{\"check\":\"disk_us")).unwrap();
        let j = AuditJournal::new(AuditConfig::default(), &path);
        j.write(&record("disk_usage")).unwrap();
        assert_eq!(whole_records(&path), 2);
        // A journal that is one torn line longer than a block, and one that is only a torn line.
        std::fs::write(&path, format!("{whole}{}", "x".repeat(10_000))).unwrap();
        AuditJournal::new(AuditConfig::default(), &path)
            .write(&record("disk_usage"))
            .unwrap();
        assert_eq!(whole_records(&path), 2);
        std::fs::write(&path, "x".repeat(5000)).unwrap();
        AuditJournal::new(AuditConfig::default(), &path)
            .write(&record("disk_usage"))
            .unwrap();
        assert_eq!(whole_records(&path), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn declared_checks_start_at_zero() {
        let j = AuditJournal::new(
            AuditConfig {
                enabled: false,
                ..AuditConfig::default()
            },
            Path::new("/proc/no/such"),
        );
        j.declare_checks(&["disk_usage", "tcp_queue_blocked"]);
        let mut set = MetricSet::new();
        j.collect("os", &mut set);
        assert_eq!(
            set.value("os_audit_records_total", &[("check", "tcp_queue_blocked")]),
            Some(0.0)
        );
    }

    #[test]
    fn disabled_journal_writes_nothing() {
        let j = AuditJournal::new(
            AuditConfig {
                enabled: false,
                ..AuditConfig::default()
            },
            Path::new("/proc/no/such"),
        );
        j.write(&record("x")).unwrap();
        assert!(j.records_written().is_empty());
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_795_289_921_250);
        assert_eq!(rfc3339(t), "2026-11-21T19:38:41.250Z");
    }
}
