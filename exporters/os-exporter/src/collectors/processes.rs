//! `os_process_number` and `os_has_uninterruptible_procs`: processes of `/proc` and those in
//! uninterruptible sleep (state `D`).

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

/// Visits the stat of every process; processes that exit mid-walk are skipped. One reused
/// buffer and a single read per process: procfs produces the whole line at the first read.
pub(crate) fn for_each_process(
    paths: &SysPaths,
    mut f: impl FnMut(u32, pid_stat::PidStat),
) -> Result<(), CollectError> {
    use std::io::Read as _;
    let dir = paths.proc("");
    let entries = std::fs::read_dir(&dir).map_err(|e| CollectError::io(&dir, e))?;
    let mut buf = [0u8; 4096];
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(mut file) = std::fs::File::open(e.path().join("stat")) else {
            continue;
        };
        let Ok(n) = file.read(&mut buf) else { continue };
        if let Some(s) = pid_stat::parse(&buf[..n]) {
            f(pid, s);
        }
    }
    Ok(())
}

impl Collector for ProcessesCollector {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let (mut total, mut blocked) = (0.0, 0.0);
        for_each_process(&self.paths, |_, s| {
            total += 1.0;
            if s.state == 'D' {
                blocked += 1.0;
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
