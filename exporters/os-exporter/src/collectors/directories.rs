//! `os_directory_file_changed` (document 001 §2.1): the change counters, existence and sizes of
//! the watched directories, served from the last pass of the `directories` background job
//! (`crate::directories`); a scrape never reads a directory. The document's name is a
//! recording rule over `os_directory_last_change_timestamp_seconds` (alerting-rules/os.yml).

use std::sync::Arc;

use common::registry::Background;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Job, Latest, MetricSet, ScrapeContext,
};

use crate::OsExporter;
use crate::directories::{Report, Watcher};

const CHANGES: Desc = Desc::counter(
    "os_directory_changes_total",
    "1",
    "Entries of a watched directory found added, removed or modified (label kind) against the persisted baseline, a count kept across restarts in the state file.",
);
const LAST_CHANGE: Desc = Desc::gauge(
    "os_directory_last_change_timestamp_seconds",
    "seconds",
    "When a pass last found a watched directory changed, seconds since the epoch; 0 when never since its baseline was recorded.",
);
const EXISTS: Desc = Desc::gauge(
    "os_directory_exists",
    "1",
    "1 when the watched directory exists, 0 when it does not (its appearance counts its entries as added).",
);
const ENTRIES: Desc = Desc::gauge(
    "os_directory_entries",
    "1",
    "Entries of the watched directory in its manifest (direct entries, at most [directories] max_entries), a count.",
);
const OVER_LIMIT: Desc = Desc::gauge(
    "os_directory_entries_over_limit",
    "1",
    "Entries of the watched directory beyond [directories] max_entries, not watched, a count.",
);

/// Serves the latest report.
struct DirectoriesServe(Latest<Report>);

impl Collector for DirectoriesServe {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        // Before the first pass there is nothing to report yet.
        let Some(r) = self.0.get() else {
            return Ok(set);
        };
        // An unreadable directory or state file is an error, never "no change".
        if !r.errors.is_empty() {
            return Err(CollectError::Other(r.errors.join("; ")));
        }
        for d in &r.directories {
            let dir = d.directory.as_str();
            for (kind, n) in [
                ("added", d.changes.added),
                ("removed", d.changes.removed),
                ("modified", d.changes.modified),
            ] {
                set.add(&CHANGES, &[("directory", dir), ("kind", kind)], n as f64);
            }
            set.add(&LAST_CHANGE, &[("directory", dir)], d.last_change);
            set.add(
                &EXISTS,
                &[("directory", dir)],
                f64::from(u8::from(d.exists)),
            );
            set.add(&ENTRIES, &[("directory", dir)], d.entries as f64);
            set.add(&OVER_LIMIT, &[("directory", dir)], d.over_limit as f64);
        }
        Ok(set)
    }
}

fn build(e: &OsExporter) -> common::registry::Built<Background> {
    if e.config.directories.paths.is_empty() {
        return Ok(None);
    }
    let latest = Latest::new();
    let mut watcher = Watcher::new(
        e.paths.clone(),
        e.config.directories.clone(),
        Arc::clone(&e.journal),
        latest.clone(),
    );
    if !e.persist {
        watcher = watcher.read_only();
    }
    Ok(Some(Background {
        job: Job::new("directories", e.config.directories.interval, move || {
            Ok(watcher.run_once()?)
        }),
        serve: Box::new(DirectoriesServe(latest)),
    }))
}

/// Registry entry: `os_scrape_collector_success{collector="directories"}` and the
/// `directories` job.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "directories",
    enabled_by_default: true,
    file: file!(),
    metrics: &[CHANGES, LAST_CHANGE, EXISTS, ENTRIES, OVER_LIMIT],
    build: Build::Background(build),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::ctx;
    use crate::directories::DirReport;
    use crate::directories::baseline::Counts;

    #[test]
    fn nothing_before_a_pass_an_error_after_a_failed_one() {
        let latest = Latest::new();
        let serve = DirectoriesServe(latest.clone());
        assert!(serve.collect(&ctx()).unwrap().families().is_empty());
        latest.publish(Report {
            directories: Vec::new(),
            errors: vec!["directory /etc/x: opening it: Permission denied".into()],
        });
        let e = serve.collect(&ctx()).unwrap_err().to_string();
        assert!(
            e.contains("/etc/x") && e.contains("Permission denied"),
            "{e}"
        );
    }

    #[test]
    fn each_directory_has_its_counters_and_state() {
        let latest = Latest::new();
        latest.publish(Report {
            directories: vec![DirReport {
                directory: "/etc/ssh".into(),
                exists: true,
                entries: 12,
                over_limit: 0,
                changes: Counts {
                    added: 1,
                    removed: 0,
                    modified: 3,
                },
                last_change: 1_700_000_000.0,
            }],
            errors: Vec::new(),
        });
        let set = DirectoriesServe(latest).collect(&ctx()).unwrap();
        let d = [("directory", "/etc/ssh")];
        assert_eq!(
            set.value(
                "os_directory_changes_total",
                &[("directory", "/etc/ssh"), ("kind", "modified")]
            ),
            Some(3.0)
        );
        assert_eq!(set.value("os_directory_exists", &d), Some(1.0));
        assert_eq!(set.value("os_directory_entries", &d), Some(12.0));
        assert_eq!(
            set.value("os_directory_last_change_timestamp_seconds", &d),
            Some(1_700_000_000.0)
        );
    }
}
