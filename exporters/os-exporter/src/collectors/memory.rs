//! Memory and swap of `/proc/meminfo`: `os_memory_usage`, `os_memory_available`,
//! `os_swap_usage`, `os_swap_used` (-1 when no swap is configured, as document 001 asks so that
//! hosts without swap are told apart from hosts with unused swap).

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::meminfo;

const MEMORY_TOTAL: Desc = Desc::gauge(
    "os_memory_total_bytes",
    "bytes",
    "Total usable memory (MemTotal), in bytes.",
);
const MEMORY_AVAILABLE: Desc = Desc::gauge(
    "os_memory_available",
    "bytes",
    "Memory available for new work without swapping (MemAvailable), in bytes.",
);
const MEMORY_USAGE: Desc = Desc::gauge(
    "os_memory_usage",
    "percent",
    "Memory in use, (MemTotal - MemAvailable) / MemTotal, in percent.",
);
const SWAP_TOTAL: Desc = Desc::gauge(
    "os_swap_total_bytes",
    "bytes",
    "Configured swap (SwapTotal), in bytes.",
);
const SWAP_USED: Desc = Desc::gauge(
    "os_swap_used",
    "bytes",
    "Swap in use, in bytes; -1 when no swap is configured.",
);
const SWAP_USAGE: Desc = Desc::gauge(
    "os_swap_usage",
    "percent",
    "Swap in use as a share of SwapTotal, in percent; 0 without swap.",
);

/// Reads `/proc/meminfo`.
pub(crate) struct MemoryCollector {
    paths: SysPaths,
}

impl MemoryCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

/// Percentage of `part` in `whole`, 0 when `whole` is 0.
fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole * 100.0
    } else {
        0.0
    }
}

impl Collector for MemoryCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = self.paths.read_proc("meminfo")?;
        let m = meminfo::parse(&bytes)
            .ok_or_else(|| CollectError::parse(self.paths.proc("meminfo"), "no MemTotal line"))?;
        let mut set = MetricSet::new();
        set.add(&MEMORY_TOTAL, &[], m.mem_total);
        set.add(&MEMORY_AVAILABLE, &[], m.mem_available);
        set.add(
            &MEMORY_USAGE,
            &[],
            percent(m.mem_total - m.mem_available, m.mem_total),
        );
        let swap_used = m.swap_total - m.swap_free;
        set.add(&SWAP_TOTAL, &[], m.swap_total);
        set.add(
            &SWAP_USED,
            &[],
            if m.swap_total > 0.0 { swap_used } else { -1.0 },
        );
        set.add(&SWAP_USAGE, &[], percent(swap_used, m.swap_total));
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="memory"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "memory",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        MEMORY_TOTAL,
        MEMORY_AVAILABLE,
        MEMORY_USAGE,
        SWAP_TOTAL,
        SWAP_USED,
        SWAP_USAGE,
    ],
    build: Build::Inline(|e| Ok(Some(Box::new(MemoryCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::fixture;

    fn collect(name: &str) -> MetricSet {
        MemoryCollector::new(fixture(name))
            .collect(&ScrapeContext::with_timeout(
                std::time::Duration::from_secs(1),
            ))
            .unwrap()
    }

    #[test]
    fn host_with_swap_reports_usage() {
        let set = collect("swap");
        assert_eq!(
            set.value("os_memory_total_bytes", &[]),
            Some(16_000_000.0 * 1024.0)
        );
        assert_eq!(
            set.value("os_memory_available", &[]),
            Some(4_000_000.0 * 1024.0)
        );
        assert_eq!(set.value("os_memory_usage", &[]), Some(75.0));
        assert_eq!(set.value("os_swap_used", &[]), Some(1_000_000.0 * 1024.0));
        assert_eq!(set.value("os_swap_usage", &[]), Some(25.0));
    }

    #[test]
    fn host_without_swap_reports_minus_one() {
        let set = collect("noswap");
        assert_eq!(set.value("os_swap_used", &[]), Some(-1.0));
        assert_eq!(set.value("os_swap_usage", &[]), Some(0.0));
        assert_eq!(set.value("os_swap_total_bytes", &[]), Some(0.0));
    }
}
