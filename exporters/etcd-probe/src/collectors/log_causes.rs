//! Reads the configured logs incrementally at each scrape and counts classified lines per cause.

use std::collections::BTreeMap;
use std::sync::Mutex;

use common::log_tail::{LogTail, StartAt};
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, MutexExt as _, ScrapeContext,
    SysPaths,
};

use crate::EtcdProbe;
use crate::config::LogConfig;
use crate::log_classifier::{self, Detail};

/// `etcd_log_lines_total{log}`.
const LOG_LINES: Desc = Desc::counter(
    "etcd_log_lines_total",
    "1",
    "Lines read from a classified log.",
);
/// `etcd_log_cause_total{log,cause,detail}`.
const LOG_CAUSE: Desc = Desc::counter(
    "etcd_log_cause_total",
    "1",
    "Log lines that point at a cause of an etcd alarm (document 002), by cause and evidence.",
);

struct Followed {
    name: String,
    tail: LogTail,
    lines: u64,
    counts: BTreeMap<Detail, u64>,
}

/// The collector of `etcd_log_cause_total`.
pub struct LogCauses {
    logs: Mutex<Vec<Followed>>,
}

impl std::fmt::Debug for LogCauses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCauses").finish_non_exhaustive()
    }
}

impl LogCauses {
    /// Follows every configured log (paths rooted under `--path.rootfs`).
    pub fn new(logs: &[LogConfig], paths: &SysPaths) -> Self {
        let logs = logs
            .iter()
            .map(|l| Followed {
                name: l.name.clone(),
                tail: LogTail::new(
                    paths.root(&l.path.to_string_lossy()),
                    if l.from_beginning {
                        StartAt::Beginning
                    } else {
                        StartAt::End
                    },
                ),
                lines: 0,
                counts: BTreeMap::new(),
            })
            .collect();
        Self {
            logs: Mutex::new(logs),
        }
    }
}

impl Collector for LogCauses {
    fn collect(&self, _ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut logs = self.logs.lock_or_recover();
        let mut m = MetricSet::new();
        let mut first_error = None;
        for log in logs.iter_mut() {
            match log.tail.read_lines() {
                Ok(lines) => {
                    log.lines += lines.len() as u64;
                    for line in &lines {
                        if let Some(d) = log_classifier::classify_line(line) {
                            *log.counts.entry(d).or_insert(0) += 1;
                        }
                    }
                }
                // One unreadable log must not hide the others; the error fails the collector below.
                Err(e) => {
                    log::debug!("log {}: {e}", log.name);
                    first_error.get_or_insert(e);
                }
            }
            #[allow(clippy::cast_precision_loss)]
            m.add(&LOG_LINES, &[("log", &log.name)], log.lines as f64);
            for d in Detail::ALL {
                #[allow(clippy::cast_precision_loss)]
                let v = log.counts.get(&d).copied().unwrap_or(0) as f64;
                m.add(
                    &LOG_CAUSE,
                    &[
                        ("log", &log.name),
                        ("cause", d.cause().as_str()),
                        ("detail", d.as_str()),
                    ],
                    v,
                );
            }
        }
        match first_error {
            Some(e) if logs.len() == 1 => Err(e),
            _ => Ok(m),
        }
    }
}

/// Registry entry: `etcd_scrape_collector_success{collector="log_causes"}`.
pub(crate) const DEF: CollectorDef<EtcdProbe> = CollectorDef {
    name: "log_causes",
    enabled_by_default: true,
    file: file!(),
    metrics: &[LOG_LINES, LOG_CAUSE],
    build: Build::Blocking(|e| {
        Ok(
            (!e.cfg.logs.is_empty()).then(|| -> Box<dyn common::Collector> {
                Box::new(LogCauses::new(&e.cfg.logs, &e.paths))
            }),
        )
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn counts_new_lines_per_cause_and_survives_garbage() {
        let dir = std::env::temp_dir().join(format!("etcd-probe-logs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("etcd.log");
        std::fs::write(
            &path,
            "2021-04-09 10:57:40.112999 W | etcdserver: server is likely overloaded\n",
        )
        .unwrap();
        let cfg = vec![LogConfig {
            name: "etcd".into(),
            path: path.clone(),
            from_beginning: false,
        }];
        let c = LogCauses::new(&cfg, &SysPaths::default());
        let ctx = ScrapeContext::with_timeout(std::time::Duration::from_secs(1));
        let m = c.collect(&ctx).unwrap();
        // Started at the end: the old line is not counted.
        assert_eq!(
            m.value("etcd_log_cause_total", &[("detail", "server_overloaded")]),
            Some(0.0)
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(f, "2026-11-21 19:46:52.980388 W | rafthttp: health check for peer 5e could not connect: dial tcp 127.0.0.1:1: connect: connection refused").unwrap();
        writeln!(f, "\u{1}\u{2}garbage {{\"level\":").unwrap();
        writeln!(
            f,
            "{{\"level\":\"warn\",\"msg\":\"slow fdatasync\",\"took\":\"1.5s\"}}"
        )
        .unwrap();
        let m = c.collect(&ctx).unwrap();
        assert_eq!(
            m.value(
                "etcd_log_cause_total",
                &[("cause", "network"), ("detail", "connection_refused")]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value(
                "etcd_log_cause_total",
                &[("cause", "overload"), ("detail", "wal_sync_slow")]
            ),
            Some(1.0)
        );
        assert_eq!(
            m.value("etcd_log_lines_total", &[("log", "etcd")]),
            Some(3.0)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
