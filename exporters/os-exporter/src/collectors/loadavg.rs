//! `os_loadavg`: the load averages of `/proc/loadavg`.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::loadavg;

const LOADAVG: Desc = Desc::gauge(
    "os_loadavg",
    "1",
    "System load average over the interval (runnable and uninterruptible tasks).",
);

/// Reads `/proc/loadavg`.
pub(crate) struct LoadavgCollector {
    paths: SysPaths,
}

impl LoadavgCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

impl Collector for LoadavgCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = self.paths.read_proc("loadavg")?;
        let l = loadavg::parse(&bytes).ok_or_else(|| {
            CollectError::parse(self.paths.proc("loadavg"), "expected three load averages")
        })?;
        let mut set = MetricSet::new();
        for (interval, v) in [("1m", l.one), ("5m", l.five), ("15m", l.fifteen)] {
            set.add(&LOADAVG, &[("interval", interval)], v);
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="loadavg"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "loadavg",
    enabled_by_default: true,
    file: file!(),
    metrics: &[LOADAVG],
    build: Build::Inline(|e| Ok(Some(Box::new(LoadavgCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::fixture;

    #[test]
    fn exports_each_interval() {
        let set = LoadavgCollector::new(fixture("swap"))
            .collect(&crate::collectors::test_support::ctx())
            .unwrap();
        assert_eq!(set.value("os_loadavg", &[("interval", "1m")]), Some(1.5));
        assert_eq!(set.value("os_loadavg", &[("interval", "15m")]), Some(0.25));
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let err = LoadavgCollector::new(fixture("does-not-exist"))
            .collect(&crate::collectors::test_support::ctx())
            .unwrap_err();
        assert!(err.to_string().contains("loadavg"), "{err}");
    }
}
