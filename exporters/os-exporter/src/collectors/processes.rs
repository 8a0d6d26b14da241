//! `os_process_number` and `os_has_uninterruptible_procs`: processes of `/proc` and those in
//! uninterruptible sleep (state `D`).

use common::{Build, CollectorDef};

use crate::OsExporter;

use common::{CollectError, Collector, MetricSet, ScrapeContext, SysPaths};

use crate::parsers::pid_stat;

/// Walks `/proc/<pid>/stat`.
pub(crate) struct ProcessesCollector {
    paths: SysPaths,
}

impl ProcessesCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

/// Visits the raw `stat` line of every process; processes that exit mid-walk are skipped. One
/// reused buffer and path, and a single read per process: procfs produces the whole line at the
/// first read.
pub(crate) fn for_each_stat(
    paths: &SysPaths,
    mut f: impl FnMut(u32, &[u8]),
) -> Result<(), CollectError> {
    use std::io::Read as _;
    let dir = paths.proc("");
    let entries = std::fs::read_dir(&dir).map_err(|e| CollectError::io(&dir, e))?;
    let mut buf = [0u8; 4096];
    let mut path = dir.clone();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        path.push(&name);
        path.push("stat");
        let read = std::fs::File::open(&path).and_then(|mut file| file.read(&mut buf));
        path.pop();
        path.pop();
        if let Ok(n) = read {
            f(pid, &buf[..n]);
        }
    }
    Ok(())
}

/// Visits the parsed stat of every process.
pub(crate) fn for_each_process(
    paths: &SysPaths,
    mut f: impl FnMut(u32, pid_stat::PidStat),
) -> Result<(), CollectError> {
    for_each_stat(paths, |pid, bytes| {
        if let Some(s) = pid_stat::parse(bytes) {
            f(pid, s);
        }
    })
}

impl Collector for ProcessesCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let (mut total, mut blocked) = (0.0, 0.0);
        for_each_stat(&self.paths, |_, bytes| {
            if let Some(state) = pid_stat::state(bytes) {
                total += 1.0;
                if state == 'D' {
                    blocked += 1.0;
                }
            }
        })?;
        let mut set = MetricSet::new();
        set.gauge(
            "os_process_number",
            "Processes (thread group leaders) on the host, a count.",
            total,
        );
        set.gauge(
            "os_uninterruptible_processes",
            "Processes in uninterruptible sleep (state D), a count.",
            blocked,
        );
        set.gauge(
            "os_has_uninterruptible_procs",
            "1 when at least one process is in uninterruptible sleep (state D), else 0.",
            if blocked > 0.0 { 1.0 } else { 0.0 },
        );
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="processes"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "processes",
    enabled_by_default: true,
    file: file!(),
    metrics: &[],
    build: Build::Inline(|e| Ok(Some(Box::new(ProcessesCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn counts_processes_and_d_state() {
        let set = ProcessesCollector::new(fixture("ugly"))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_process_number", &[]), Some(3.0));
        assert_eq!(set.value("os_uninterruptible_processes", &[]), Some(1.0));
        assert_eq!(set.value("os_has_uninterruptible_procs", &[]), Some(1.0));
    }

    #[test]
    fn no_d_state_is_zero() {
        let set = ProcessesCollector::new(fixture("swap"))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_process_number", &[]), Some(1.0));
        assert_eq!(set.value("os_has_uninterruptible_procs", &[]), Some(0.0));
    }
}
