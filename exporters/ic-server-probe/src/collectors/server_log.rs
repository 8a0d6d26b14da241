//! Error lines in the IC-Server's `server.log` (the document's `grep "error" server.log`),
//! counted incrementally: each scrape reads only the bytes appended since the last one.

use std::path::PathBuf;
use std::sync::Mutex;

use common::log_tail::{LogTail, StartAt};
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, MutexExt as _, ScrapeContext,
};

use crate::IcServerProbe;

/// Whether the log exists.
const FILE_PRESENT: Desc = Desc::gauge(
    "ic_server_log_file_present",
    "1",
    "Whether the configured IC-Server server.log exists (1) or not (0).",
);
/// Lines read.
const LINES: Desc = Desc::counter(
    "ic_server_log_lines_total",
    "1",
    "Lines read from the IC-Server server.log since start.",
);
/// Error lines among them.
const ERROR_LINES: Desc = Desc::counter(
    "ic_server_log_error_lines_total",
    "1",
    "Lines of the IC-Server server.log containing an error keyword, since start.",
);

/// Decides which log lines are error lines.
#[derive(Debug, Clone)]
pub struct ErrorMatcher {
    keywords: Vec<String>,
    case_insensitive: bool,
}

impl ErrorMatcher {
    /// A matcher for any of `keywords`.
    pub fn new(keywords: &[String], case_insensitive: bool) -> Self {
        let keywords = keywords
            .iter()
            .map(|k| {
                if case_insensitive {
                    k.to_lowercase()
                } else {
                    k.clone()
                }
            })
            .collect();
        Self {
            keywords,
            case_insensitive,
        }
    }

    /// Whether `line` contains one of the keywords.
    pub fn is_error(&self, line: &str) -> bool {
        if self.case_insensitive {
            let lower = line.to_lowercase();
            self.keywords.iter().any(|k| lower.contains(k.as_str()))
        } else {
            self.keywords.iter().any(|k| line.contains(k.as_str()))
        }
    }
}

#[derive(Debug)]
struct State {
    tail: LogTail,
    lines: u64,
    errors: u64,
}

/// The `server.log` collector; counters start at 0 when the exporter starts.
#[derive(Debug)]
pub(crate) struct ServerLogCollector {
    path: PathBuf,
    matcher: ErrorMatcher,
    state: Mutex<State>,
}

impl ServerLogCollector {
    /// Follows `path` (already rooted) from its current end.
    pub(crate) fn new(path: PathBuf, matcher: ErrorMatcher, start: StartAt) -> Self {
        let tail = LogTail::new(path.clone(), start);
        Self {
            path,
            matcher,
            state: Mutex::new(State {
                tail,
                lines: 0,
                errors: 0,
            }),
        }
    }
}

impl Collector for ServerLogCollector {
    fn collect(&self, _ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut st = self.state.lock_or_recover();
        // One line at a time (bounded memory); lines read before an error still count.
        let State {
            tail,
            lines,
            errors,
        } = &mut *st;
        tail.read_lines(|line| {
            *lines += 1;
            if self.matcher.is_error(line) {
                *errors += 1;
            }
        })?;
        let mut out = MetricSet::new();
        out.add(
            &FILE_PRESENT,
            &[],
            if self.path.exists() { 1.0 } else { 0.0 },
        );
        #[allow(clippy::cast_precision_loss)]
        out.add(&LINES, &[], st.lines as f64);
        #[allow(clippy::cast_precision_loss)]
        out.add(&ERROR_LINES, &[], st.errors as f64);
        Ok(out)
    }
}

/// Counts error lines of `local.log_file` when the local checks are on and a log is set.
fn build(e: &IcServerProbe) -> common::registry::Built<Box<dyn common::Collector>> {
    if !e.cfg.local.enabled {
        return Ok(None);
    }
    let Some(p) = &e.cfg.local.log_file else {
        log::info!("local.log_file is not set: server.log error lines are not counted");
        return Ok(None);
    };
    let matcher = ErrorMatcher::new(&e.cfg.local.error_keywords, e.cfg.local.case_insensitive);
    let rooted = e.paths.root(&p.to_string_lossy());
    Ok(Some(Box::new(ServerLogCollector::new(
        rooted,
        matcher,
        StartAt::End,
    ))))
}

/// Registry entry: `ic_server_scrape_collector_success{collector="server_log"}`.
pub(crate) const DEF: CollectorDef<IcServerProbe> = CollectorDef {
    name: "server_log",
    enabled_by_default: true,
    file: file!(),
    metrics: &[FILE_PRESENT, LINES, ERROR_LINES],
    build: Build::Blocking(build),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::time::Duration;

    // Lines in the shape of IC-Server's logback output (level, thread, logger, message);
    // the keyword list is the document's single word "error".
    const FIXTURE_BYTES: &[u8] = include_bytes!("../../tests/fixtures/server.log");

    fn fixture() -> String {
        String::from_utf8_lossy(FIXTURE_BYTES).into_owned()
    }

    #[test]
    fn error_lines_match_the_keyword_in_any_case_by_default() {
        let m = ErrorMatcher::new(&["error".to_owned()], true);
        let text = fixture();
        let errors: Vec<_> = text.lines().filter(|l| m.is_error(l)).collect();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        let strict = ErrorMatcher::new(&["error".to_owned()], false);
        assert_eq!(text.lines().filter(|l| strict.is_error(l)).count(), 1);
    }

    #[test]
    fn counts_only_new_lines_at_each_scrape() {
        let dir = std::env::temp_dir().join(format!("ic_server_log_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("server.log");
        std::fs::write(&path, FIXTURE_BYTES).unwrap();
        let c = ServerLogCollector::new(
            path.clone(),
            ErrorMatcher::new(&["error".to_owned()], true),
            StartAt::Beginning,
        );
        let ctx = ScrapeContext::with_timeout(Duration::from_secs(1));
        let s = c.collect(&ctx).unwrap();
        assert_eq!(s.value("ic_server_log_error_lines_total", &[]), Some(3.0));
        assert_eq!(s.value("ic_server_log_file_present", &[]), Some(1.0));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(
            f,
            "2026-11-21 20:01:00.000 ERROR [main] c.o.ic.Server - tunnel to 10.2.0.2 closed"
        )
        .unwrap();
        writeln!(f, "2026-11-21 20:01:01.000 INFO  [main] c.o.ic.Server - ok").unwrap();
        let s = c.collect(&ctx).unwrap();
        assert_eq!(s.value("ic_server_log_error_lines_total", &[]), Some(4.0));
        assert_eq!(
            s.value("ic_server_log_lines_total", &[]),
            Some((FIXTURE_BYTES.iter().filter(|b| **b == b'\n').count() + 2) as f64)
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let s = c.collect(&ctx).unwrap();
        assert_eq!(s.value("ic_server_log_file_present", &[]), Some(0.0));
        assert_eq!(s.value("ic_server_log_error_lines_total", &[]), Some(4.0));
    }
}
