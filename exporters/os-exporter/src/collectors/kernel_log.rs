//! `os_msg_has_kernel_error` and `os_msg_memory_abnormal` (document 001 §2.1), with the counters
//! behind them, served from the last pass of the `kernel_log` background job
//! (`crate::kernel_log`); a scrape never reads the kernel log. The kernel's own oops and
//! WARN() counters are read at scrape time (two small sysfs files).

use std::sync::Arc;

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Job, Latest, MetricSet, ScrapeContext,
    SysPaths,
};

use crate::OsExporter;
use crate::kernel_log::{KernelLog, Report, SOURCES};
use crate::parsers::kmsg::LEVEL_NAMES;
use crate::parsers::memory_errors::MemoryError;

const HAS_ERROR: Desc = Desc::gauge(
    "os_msg_has_kernel_error",
    "1",
    "1 when a kernel record (facility kern) at level err or worse appeared in /dev/kmsg within [kernel_log] window, else 0. Records already in the buffer when the exporter started are history and do not count.",
);
const RECORDS: Desc = Desc::counter(
    "os_kernel_log_records_total",
    "1",
    "Kernel records (facility kern) read from /dev/kmsg since the exporter started, by level (emerg, alert, crit, err, warning), a count; each sequence number is counted once.",
);
const LOST: Desc = Desc::counter(
    "os_kernel_log_lost_records_total",
    "1",
    "/dev/kmsg records overwritten in the ring buffer before the exporter read them (sequence-number gaps), a count.",
);
const OOPS: Desc = Desc::counter(
    "os_kernel_oops_total",
    "1",
    "Kernel oopses since boot, a count (/sys/kernel/oops_count, Linux 6.2 and stable backports; absent without it).",
);
const WARN: Desc = Desc::counter(
    "os_kernel_warn_total",
    "1",
    "Kernel WARN()s since boot, a count (/sys/kernel/warn_count, Linux 6.2 and stable backports; absent without it).",
);
const MEMORY_ABNORMAL: Desc = Desc::gauge(
    "os_msg_memory_abnormal",
    "1",
    "1 when a page-table corruption line (bad pmd, BUG: Bad rss-counter state, BUG: non-zero nr_ptes/pgtables_bytes on freeing mm) appeared in /dev/kmsg or the messages file within [kernel_log] window, else 0.",
);
const MEMORY_LINES: Desc = Desc::counter(
    "os_msg_memory_error_lines_total",
    "1",
    "Page-table corruption lines seen since the exporter started, by source (kmsg, messages) and kind (bad_pmd, bad_rss_counter, nonzero_pgtables), a count. A line syslog copied from the kernel is counted in both sources.",
);

/// Serves the latest report, and the kernel's own counters.
struct KernelLogServe {
    latest: Latest<Report>,
    paths: SysPaths,
}

impl Collector for KernelLogServe {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        // Before the first pass there is nothing to report yet.
        let Some(r) = self.latest.get() else {
            return Ok(set);
        };
        // An unreadable /dev/kmsg is an error, never "no kernel error". An unreadable messages
        // file is not: the kernel's own lines (bad pmd among them) reach /dev/kmsg first-hand,
        // the file holds syslog's copy, so both rows stay whole without it; only its own line
        // counters are left out, and the job's failure (os_kernel_log_last_run_success 0,
        // ExporterBackgroundJobFailing) names the file.
        if let Some(e) = &r.kmsg_error {
            return Err(CollectError::Other(e.clone()));
        }
        set.add(&HAS_ERROR, &[], flag(r.errors_in_window > 0));
        for (level, n) in r.records_by_level.iter().enumerate() {
            set.add(&RECORDS, &[("level", LEVEL_NAMES[level])], *n as f64);
        }
        set.add(&LOST, &[], r.lost_records as f64);
        for (desc, file) in [(&OOPS, "kernel/oops_count"), (&WARN, "kernel/warn_count")] {
            // Older kernels lack the file; the family is then absent rather than 0.
            if let Ok(b) = self.paths.read_sys(file)
                && let Some(n) = std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
            {
                set.add(desc, &[], n as f64);
            }
        }
        set.add(&MEMORY_ABNORMAL, &[], flag(r.memory_in_window > 0));
        for (s, source) in SOURCES.iter().enumerate() {
            if *source == "messages" && r.messages_error.is_some() {
                continue;
            }
            for (k, kind) in MemoryError::ALL.iter().enumerate() {
                set.add(
                    &MEMORY_LINES,
                    &[("source", *source), ("kind", kind.label())],
                    r.memory_lines[s][k] as f64,
                );
            }
        }
        Ok(set)
    }
}

fn flag(on: bool) -> f64 {
    if on { 1.0 } else { 0.0 }
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    let latest = Latest::new();
    let mut job = KernelLog::new(
        e.paths.clone(),
        e.config.kernel_log.clone(),
        Arc::clone(&e.journal),
        latest.clone(),
    );
    Ok(Some(Background {
        job: Job::new("kernel_log", e.config.kernel_log.interval, move || {
            Ok(job.run_once()?)
        }),
        serve: Box::new(KernelLogServe {
            latest,
            paths: e.paths.clone(),
        }),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="kernel_log"}` and the `kernel_log`
/// job.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "kernel_log",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        HAS_ERROR,
        RECORDS,
        LOST,
        OOPS,
        WARN,
        MEMORY_ABNORMAL,
        MEMORY_LINES,
    ],
    build: Build::Background(build),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn nothing_before_a_pass_and_an_unreadable_kmsg_is_an_error_not_zero() {
        let latest = Latest::new();
        let serve = KernelLogServe {
            latest: latest.clone(),
            paths: fixture("ugly"),
        };
        assert!(serve.collect(&ctx()).unwrap().families().is_empty());
        latest.publish(Report {
            kmsg_error: Some("opening /dev/kmsg: Operation not permitted".into()),
            ..Report::default()
        });
        let e = serve.collect(&ctx()).unwrap_err().to_string();
        assert!(e.contains("/dev/kmsg"), "{e}");
    }

    #[test]
    fn a_messages_file_that_cannot_be_read_costs_only_its_own_line_counters() {
        let latest = Latest::new();
        latest.publish(Report {
            errors_in_window: 1,
            memory_lines: [[1, 0, 0], [0, 0, 0]],
            memory_in_window: 1,
            messages_error: Some("/var/log/messages: not a text log".into()),
            ..Report::default()
        });
        let set = KernelLogServe {
            latest,
            paths: fixture("ugly"),
        }
        .collect(&ctx())
        .unwrap();
        assert_eq!(set.value("os_msg_has_kernel_error", &[]), Some(1.0));
        assert_eq!(set.value("os_msg_memory_abnormal", &[]), Some(1.0));
        let lines = |source| {
            set.value(
                "os_msg_memory_error_lines_total",
                &[("source", source), ("kind", "bad_pmd")],
            )
        };
        assert_eq!((lines("kmsg"), lines("messages")), (Some(1.0), None));
    }

    #[test]
    fn rows_counters_and_the_kernels_own_counts() {
        let latest = Latest::new();
        latest.publish(Report {
            records_by_level: [0, 1, 0, 2, 2],
            errors_in_window: 3,
            memory_lines: [[1, 1, 0], [1, 1, 1]],
            memory_in_window: 5,
            ..Report::default()
        });
        let set = KernelLogServe {
            latest,
            paths: fixture("ugly"),
        }
        .collect(&ctx())
        .unwrap();
        assert_eq!(set.value("os_msg_has_kernel_error", &[]), Some(1.0));
        assert_eq!(
            set.value("os_kernel_log_records_total", &[("level", "err")]),
            Some(2.0)
        );
        assert_eq!(set.value("os_kernel_oops_total", &[]), Some(2.0));
        assert_eq!(set.value("os_kernel_warn_total", &[]), Some(5.0));
        assert_eq!(set.value("os_msg_memory_abnormal", &[]), Some(1.0));
        assert_eq!(
            set.value(
                "os_msg_memory_error_lines_total",
                &[("source", "messages"), ("kind", "nonzero_pgtables")]
            ),
            Some(1.0)
        );
    }
}
