//! `os_uptime`, `os_boot_time_seconds` and `os_has_rebooted`: how long the host has been up.

use std::time::Duration;

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::uptime;

const UPTIME: Desc = Desc::gauge(
    "os_uptime",
    "seconds",
    "Time since the host booted, in seconds (document 001: os_uptime).",
);
const HAS_REBOOTED: Desc = Desc::gauge(
    "os_has_rebooted",
    "1",
    "1 while the uptime is below the configured reboot window (default 5 minutes), else 0.",
);
const BOOT_TIME: Desc = Desc::gauge(
    "os_boot_time_seconds",
    "seconds",
    "Host boot time since the Unix epoch, in seconds.",
);

/// Reads `/proc/uptime` and the `btime` line of `/proc/stat`.
pub(crate) struct UptimeCollector {
    paths: SysPaths,
    reboot_window: Duration,
}

impl UptimeCollector {
    /// A collector reading under `paths`; uptimes below `reboot_window` count as a recent reboot.
    pub(crate) fn new(paths: SysPaths, reboot_window: Duration) -> Self {
        Self {
            paths,
            reboot_window,
        }
    }
}

impl Collector for UptimeCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = self.paths.read_proc("uptime")?;
        let up = uptime::parse_uptime(&bytes).ok_or_else(|| {
            CollectError::parse(self.paths.proc("uptime"), "expected seconds since boot")
        })?;
        let mut set = MetricSet::new();
        set.add(&UPTIME, &[], up);
        set.add(
            &HAS_REBOOTED,
            &[],
            if up < self.reboot_window.as_secs_f64() {
                1.0
            } else {
                0.0
            },
        );
        // Boot time is a separate, optional read: its absence does not void the uptime.
        if let Some(btime) = self
            .paths
            .read_proc("stat")
            .ok()
            .as_deref()
            .and_then(common::proc_table::boot_time)
        {
            set.add(&BOOT_TIME, &[], btime);
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="uptime"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "uptime",
    enabled_by_default: true,
    file: file!(),
    metrics: &[UPTIME, HAS_REBOOTED, BOOT_TIME],
    build: Build::Inline(|e| {
        Ok(Some(Box::new(UptimeCollector::new(
            e.paths.clone(),
            e.config.uptime.reboot_window,
        ))))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn exports_uptime_and_boot_time() {
        let set = UptimeCollector::new(fixture("swap"), Duration::from_secs(300))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_uptime", &[]), Some(350_735.47));
        assert_eq!(
            set.value("os_boot_time_seconds", &[]),
            Some(1_795_289_921.0)
        );
        assert_eq!(set.value("os_has_rebooted", &[]), Some(0.0));
    }

    #[test]
    fn a_fresh_boot_counts_as_rebooted() {
        let set = UptimeCollector::new(fixture("ugly"), Duration::from_secs(300))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_uptime", &[]), Some(120.5));
        assert_eq!(set.value("os_has_rebooted", &[]), Some(1.0));
    }
}
