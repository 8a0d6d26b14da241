//! Per-CPU mode counters of `/proc/stat`, from which recording rules derive `os_cpu_usage`,
//! `os_cpu_max_core_usage`, `os_cpu_max_core_st_usage`, `os_cpu_max_core_irq` and
//! `os_cpu_max_core_soft`.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::stat;

const SECONDS: Desc = Desc::counter(
    "os_cpu_seconds_total",
    "seconds",
    "Time each online CPU spent in each mode since boot, in seconds (guest modes are also counted in user/nice).",
);
const ONLINE: Desc = Desc::gauge(
    "os_cpu_online",
    "1",
    "Number of online CPUs (cpuN lines of /proc/stat).",
);
const PROCS_RUNNING: Desc = Desc::gauge(
    "os_procs_running",
    "1",
    "Tasks runnable right now (procs_running of /proc/stat).",
);
const PROCS_BLOCKED: Desc = Desc::gauge(
    "os_procs_blocked",
    "1",
    "Tasks blocked waiting for I/O (procs_blocked of /proc/stat).",
);

/// Reads `/proc/stat`.
pub(crate) struct CpuCollector {
    paths: SysPaths,
    ticks_per_second: f64,
}

impl CpuCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self {
            paths,
            ticks_per_second: common::sysconf::clock_ticks_per_second(),
        }
    }
}

impl Collector for CpuCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = self.paths.read_proc("stat")?;
        let s = stat::parse(&bytes);
        if s.cpus.is_empty() {
            return Err(CollectError::parse(
                self.paths.proc("stat"),
                "no cpuN lines",
            ));
        }
        let mut set = MetricSet::new();
        let fam = set.of(&SECONDS);
        for cpu in &s.cpus {
            let id = cpu.cpu.to_string();
            for (mode, ticks) in stat::MODES.iter().zip(&cpu.ticks) {
                fam.push(
                    &[("cpu", &id), ("mode", mode)],
                    *ticks as f64 / self.ticks_per_second,
                );
            }
        }
        set.add(&ONLINE, &[], s.cpus.len() as f64);
        if let Some(r) = s.procs_running {
            set.add(&PROCS_RUNNING, &[], r as f64);
        }
        if let Some(b) = s.procs_blocked {
            set.add(&PROCS_BLOCKED, &[], b as f64);
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="cpu"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "cpu",
    enabled_by_default: true,
    file: file!(),
    metrics: &[SECONDS, ONLINE, PROCS_RUNNING, PROCS_BLOCKED],
    build: Build::Inline(|e| Ok(Some(Box::new(CpuCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn offline_cpus_keep_their_numbers_and_unknown_columns_are_ignored() {
        let mut c = CpuCollector::new(fixture("ugly"));
        c.ticks_per_second = 100.0;
        let set = c.collect(&ctx()).unwrap();
        assert_eq!(set.value("os_cpu_online", &[]), Some(2.0));
        assert_eq!(
            set.value("os_cpu_seconds_total", &[("cpu", "3"), ("mode", "steal")]),
            Some(40.0)
        );
        assert_eq!(
            set.value("os_cpu_seconds_total", &[("cpu", "0"), ("mode", "user")]),
            Some(100.0)
        );
        assert_eq!(
            set.value("os_cpu_seconds_total", &[("cpu", "1"), ("mode", "user")]),
            None
        );
        assert_eq!(set.value("os_procs_blocked", &[]), Some(2.0));
    }
}
