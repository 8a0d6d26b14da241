//! `os_uptime` and `os_boot_time_seconds`: how long the host has been up.

use common::{CollectError, Collector, MetricSet, ScrapeContext, SysPaths};

use crate::parsers::uptime;

/// Reads `/proc/uptime` and the `btime` line of `/proc/stat`.
pub(crate) struct UptimeCollector {
    paths: SysPaths,
}

impl UptimeCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self { paths }
    }
}

impl Collector for UptimeCollector {
    fn name(&self) -> &'static str {
        "uptime"
    }

    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = self.paths.read_proc("uptime")?;
        let up = uptime::parse_uptime(&bytes).ok_or_else(|| CollectError::parse(self.paths.proc("uptime"), "expected seconds since boot"))?;
        let mut set = MetricSet::new();
        set.gauge("os_uptime", "Time since the host booted, in seconds (document 001: os_uptime).", up);
        // Boot time is a separate, optional read: its absence does not void the uptime.
        if let Some(btime) = self.paths.read_proc("stat").ok().as_deref().and_then(uptime::parse_btime) {
            set.gauge("os_boot_time_seconds", "Host boot time since the Unix epoch, in seconds.", btime);
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::fixture;

    #[test]
    fn exports_uptime_and_boot_time() {
        let set = UptimeCollector::new(fixture("swap")).collect(&ScrapeContext::with_timeout(std::time::Duration::from_secs(1))).unwrap();
        assert_eq!(set.value("os_uptime", &[]), Some(350_735.47));
        assert_eq!(set.value("os_boot_time_seconds", &[]), Some(1_795_289_921.0));
    }
}
