//! os_cron_has_failed: cron's own failure lines, read incrementally from the cron log (`/var/log/cron`
//! on RHEL/EulerOS, syslog on Debian) by the `cron` job; rotation is followed by the tail. The
//! lines of a pass that found failures go to the audit journal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use common::audit::{AuditJournal, AuditRecord};
use common::log_tail::{LogTail, StartAt};
use common::{Latest, SysPaths};
use serde_json::json;

use crate::config::CronConfig;
use crate::parsers::cron_log::{self, Reason};
use crate::parsers::syslog_line;

/// The audit check the cron job writes.
pub(crate) const AUDIT_CHECK: &str = "cron_failed";

/// Failure lines one audit record lists at most.
const MAX_AUDITED: usize = 50;

/// What the cron job has seen since the exporter started.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Report {
    /// The log read (as configured).
    pub(crate) file: String,
    /// Failure lines by reason.
    pub(crate) failures: BTreeMap<Reason, u64>,
    /// When a pass last found a failure line (seconds since the epoch).
    pub(crate) last_failure: Option<f64>,
}

/// The cron job's state between passes.
pub(crate) struct CronWatch {
    paths: SysPaths,
    cfg: CronConfig,
    journal: Arc<AuditJournal>,
    latest: Latest<Report>,
    tail: Option<(String, LogTail)>,
    report: Report,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl CronWatch {
    /// A job publishing to `latest` and auditing to `journal`.
    pub(crate) fn new(
        paths: SysPaths,
        cfg: CronConfig,
        journal: Arc<AuditJournal>,
        latest: Latest<Report>,
    ) -> Self {
        Self {
            paths,
            cfg,
            journal,
            latest,
            tail: None,
            report: Report::default(),
        }
    }

    /// One pass: the lines appended since the last one. Fails when no log exists or it cannot
    /// be read, or the audit record cannot be written.
    pub(crate) fn run_once(&mut self) -> Result<(), String> {
        let (shown, path) = crate::messages::first_existing(&self.paths, &self.cfg.files)
            .ok_or_else(|| {
                format!(
                    "none of the cron logs {:?} exists under the root",
                    self.cfg.files
                )
            })?;
        if self.tail.as_ref().is_none_or(|(s, _)| *s != shown) {
            // Only what is logged from now on: failures already in the file are history.
            self.tail = Some((shown.clone(), LogTail::new(path, StartAt::End)));
        }
        let mut found: Vec<(Reason, String)> = Vec::new();
        if let Some((_, tail)) = self.tail.as_mut() {
            tail.read_lines(|line| {
                let Some(l) = syslog_line::parse(line) else {
                    return;
                };
                if let Some(r) = cron_log::reason(l.program, l.message) {
                    found.push((r, line.to_owned()));
                }
            })
            .map_err(|e| e.to_string())?;
        }
        self.report.file = shown.clone();
        for (r, _) in &found {
            *self.report.failures.entry(*r).or_default() += 1;
        }
        if !found.is_empty() {
            self.report.last_failure = Some(now());
        }
        self.latest.publish(self.report.clone());
        if found.is_empty() {
            return Ok(());
        }
        let total = found.len();
        let record = AuditRecord {
            check: AUDIT_CHECK.to_owned(),
            threshold: "no cron failure line".to_owned(),
            #[allow(clippy::cast_precision_loss)]
            observed: total as f64,
            evidence: json!({
                "file": shown,
                "failures": total,
                "lines": found.iter().take(MAX_AUDITED).map(|(r, l)| json!({"reason": r.as_str(), "line": l})).collect::<Vec<_>>(),
            }),
        };
        self.journal.write(&record).map_err(|e| e.to_string())
    }
}
