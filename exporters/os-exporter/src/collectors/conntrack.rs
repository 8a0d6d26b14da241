//! `os_conntrack_usage`: how full the netfilter connection tracking table is.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;

const ENTRIES: Desc = Desc::gauge(
    "os_conntrack_entries",
    "1",
    "Connection tracking entries in use (nf_conntrack_count).",
);
const ENTRIES_LIMIT: Desc = Desc::gauge(
    "os_conntrack_entries_limit",
    "1",
    "Connection tracking table size (nf_conntrack_max).",
);
const USAGE: Desc = Desc::gauge(
    "os_conntrack_usage",
    "percent",
    "Connection tracking entries as a share of nf_conntrack_max, in percent; 0 without conntrack.",
);

/// Reads `/proc/sys/net/netfilter/nf_conntrack_{count,max}`.
pub(crate) struct ConntrackCollector {
    paths: SysPaths,
}

impl ConntrackCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

impl Collector for ConntrackCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        let count_rel = "sys/net/netfilter/nf_conntrack_count";
        if !self.paths.proc(count_rel).exists() {
            // No conntrack module loaded: no table that could fill up.
            set.add(&USAGE, &[], 0.0);
            return Ok(set);
        }
        let read = |rel: &str| -> Result<f64, CollectError> {
            let b = self.paths.read_proc(rel)?;
            common::parse::first_number(&b)
                .ok_or_else(|| CollectError::parse(self.paths.proc(rel), "expected a number"))
        };
        let count = read(count_rel)?;
        let max = read("sys/net/netfilter/nf_conntrack_max")?;
        set.add(&ENTRIES, &[], count);
        set.add(&ENTRIES_LIMIT, &[], max);
        set.add(
            &USAGE,
            &[],
            if max > 0.0 { count / max * 100.0 } else { 0.0 },
        );
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="conntrack"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "conntrack",
    enabled_by_default: true,
    file: file!(),
    metrics: &[ENTRIES, ENTRIES_LIMIT, USAGE],
    build: Build::Inline(|e| Ok(Some(Box::new(ConntrackCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn usage_is_count_over_max() {
        let set = ConntrackCollector::new(fixture("swap"))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_conntrack_usage", &[]), Some(25.0));
        assert_eq!(set.value("os_conntrack_entries", &[]), Some(65_536.0));
    }

    #[test]
    fn without_the_module_usage_is_zero() {
        let set = ConntrackCollector::new(fixture("noswap"))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_conntrack_usage", &[]), Some(0.0));
        assert!(!set.has("os_conntrack_entries"));
    }
}
