//! Counts classified lines of the configured logs per cause. The logs are read in the
//! background (the `log_poll` job, every `log_poll_interval`) and again at each scrape, so a
//! file rotated or truncated several times between scrapes still has every line counted.
//! Each log is followed with its rotations (`common::log_tail::FamilyTail`): lines written
//! just before a `copytruncate` are read from the copy.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::log_tail::{FamilyTail, StartAt};
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
    tail: FamilyTail,
    lines: u64,
    counts: BTreeMap<Detail, u64>,
}

impl Followed {
    /// Reads and classifies the lines written since the last read; those read before an error
    /// count too.
    fn poll(&mut self) -> Result<(), CollectError> {
        let Followed {
            tail,
            lines,
            counts,
            ..
        } = self;
        let read = tail.read_lines(|line| {
            *lines += 1;
            if let Some(d) = log_classifier::classify_line(line) {
                *counts.entry(d).or_insert(0) += 1;
            }
        });
        for problem in tail.take_problems() {
            // A damaged rotation costs only its unreadable lines.
            log::debug!("log {}: {problem}", self.name);
        }
        read
    }
}

/// The configured logs and what they said so far, shared by the `log_causes` collector and the
/// `log_poll` job.
#[derive(Clone)]
pub struct LogCauses {
    logs: Arc<Mutex<Vec<Followed>>>,
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
                tail: FamilyTail::new(
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
            logs: Arc::new(Mutex::new(logs)),
        }
    }

    /// Reads every log; one unreadable log does not keep the others from being read. Returns
    /// the first error.
    pub fn poll(&self) -> Result<(), CollectError> {
        let mut first_error = None;
        for log in self.logs.lock_or_recover().iter_mut() {
            if let Err(e) = log.poll() {
                log::debug!("log {}: {e}", log.name);
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Collector for LogCauses {
    fn collect(&self, _ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let polled = self.poll();
        let logs = self.logs.lock_or_recover();
        let mut m = MetricSet::new();
        for log in logs.iter() {
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
        // With several logs, one unreadable log must not hide the others' counts (the job's
        // success says it); with one, the collector fails.
        match polled {
            Err(e) if logs.len() == 1 => Err(e),
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
        Ok(e.logs
            .clone()
            .map(|l| -> Box<dyn common::Collector> { Box::new(l) }))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn overloaded(from: usize, n: usize) -> String {
        (from..from + n)
            .map(|i| {
                format!(
                    "2026-11-30 10:{:02}:{:02}.000000 W | etcdserver: server is likely overloaded\n",
                    i / 60,
                    i % 60
                )
            })
            .collect()
    }

    #[test]
    fn a_log_truncated_and_regrown_past_the_offset_between_reads_loses_no_line() {
        let dir = std::env::temp_dir().join(format!("etcd-probe-regrow-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("etcd.log");
        std::fs::write(&path, "").unwrap();
        let cfg = vec![LogConfig {
            name: "etcd".into(),
            path: path.clone(),
            from_beginning: false,
        }];
        let c = LogCauses::new(&cfg, &SysPaths::default());
        let ctx = ScrapeContext::with_timeout(std::time::Duration::from_secs(1));
        c.collect(&ctx).unwrap();
        std::fs::write(&path, overloaded(0, 50)).unwrap();
        let m = c.collect(&ctx).unwrap();
        assert_eq!(
            m.value("etcd_log_lines_total", &[("log", "etcd")]),
            Some(50.0)
        );
        // copytruncate, then 150 lines (more bytes than were read) before the next read.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(overloaded(100, 150).as_bytes())
            .unwrap();
        let m = c.collect(&ctx).unwrap();
        assert_eq!(
            m.value("etcd_log_lines_total", &[("log", "etcd")]),
            Some(200.0)
        );
        assert_eq!(
            m.value(
                "etcd_log_cause_total",
                &[("cause", "overload"), ("detail", "server_overloaded")]
            ),
            Some(200.0)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

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
