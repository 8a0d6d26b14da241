//! `os_process_number` and `os_has_uninterruptible_procs`: processes of `/proc` and those in
//! uninterruptible sleep (state `D`).

use common::proc_table::for_each_process;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;

const PROCESS_NUMBER: Desc = Desc::gauge(
    "os_process_number",
    "1",
    "Processes (thread group leaders) on the host, a count.",
);
const UNINTERRUPTIBLE: Desc = Desc::gauge(
    "os_uninterruptible_processes",
    "1",
    "Processes in uninterruptible sleep (state D), a count.",
);
const HAS_UNINTERRUPTIBLE: Desc = Desc::gauge(
    "os_has_uninterruptible_procs",
    "1",
    "1 when at least one process is in uninterruptible sleep (state D), else 0.",
);

/// Counts the processes of `/proc` by the state letter of their `stat`.
pub(crate) struct ProcessesCollector {
    paths: SysPaths,
}

impl ProcessesCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

impl Collector for ProcessesCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let (mut total, mut blocked) = (0.0, 0.0);
        // Only the state letter: one read of `stat` per process, nothing decoded or allocated.
        for_each_process(&self.paths, |p| {
            if let Some(state) = p.state() {
                total += 1.0;
                if state == 'D' {
                    blocked += 1.0;
                }
            }
        })?;
        let mut set = MetricSet::new();
        set.add(&PROCESS_NUMBER, &[], total);
        set.add(&UNINTERRUPTIBLE, &[], blocked);
        set.add(
            &HAS_UNINTERRUPTIBLE,
            &[],
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
    metrics: &[PROCESS_NUMBER, UNINTERRUPTIBLE, HAS_UNINTERRUPTIBLE],
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
