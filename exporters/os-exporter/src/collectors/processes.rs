//! `os_process_number` and `os_has_uninterruptible_procs`: processes of `/proc` and those in
//! uninterruptible sleep (state `D`).

use std::sync::Arc;

use common::{Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext};

use crate::OsExporter;
use crate::process_table::ProcessTable;

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

/// Counts the processes of the scrape's process table by their state letter.
pub(crate) struct ProcessesCollector {
    table: Arc<ProcessTable>,
}

impl ProcessesCollector {
    /// A collector reading `table`.
    pub(crate) fn new(table: Arc<ProcessTable>) -> Self {
        Self { table }
    }
}

impl Collector for ProcessesCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let table = self.table.get(Some(ctx))?;
        let (mut total, mut blocked) = (0.0, 0.0);
        for p in &table.processes {
            total += 1.0;
            if p.state == 'D' {
                blocked += 1.0;
            }
        }
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
    build: Build::Inline(|e| {
        Ok(Some(Box::new(ProcessesCollector::new(Arc::clone(
            &e.process_table,
        )))))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn counts_processes_and_d_state() {
        let set = ProcessesCollector::new(Arc::new(ProcessTable::new(fixture("ugly"))))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_process_number", &[]), Some(3.0));
        assert_eq!(set.value("os_uninterruptible_processes", &[]), Some(1.0));
        assert_eq!(set.value("os_has_uninterruptible_procs", &[]), Some(1.0));
    }

    #[test]
    fn no_d_state_is_zero() {
        let set = ProcessesCollector::new(Arc::new(ProcessTable::new(fixture("swap"))))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_process_number", &[]), Some(1.0));
        assert_eq!(set.value("os_has_uninterruptible_procs", &[]), Some(0.0));
    }
}
