//! Swap traffic of `/proc/vmstat` in bytes; recording rules turn it into `os_swap_pswpin` and
//! `os_swap_pswpout`.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::parsers::vmstat;

const SWAP_IN: Desc = Desc::counter(
    "os_swap_in_bytes_total",
    "bytes",
    "Bytes swapped in since boot (pswpin x page size).",
);
const SWAP_OUT: Desc = Desc::counter(
    "os_swap_out_bytes_total",
    "bytes",
    "Bytes swapped out since boot (pswpout x page size).",
);

/// Reads `/proc/vmstat`.
pub(crate) struct VmstatCollector {
    paths: SysPaths,
    page_size: f64,
}

impl VmstatCollector {
    /// A collector reading under `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self {
            paths,
            page_size: common::sysconf::page_size_bytes(),
        }
    }
}

impl Collector for VmstatCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = self.paths.read_proc("vmstat")?;
        let v = vmstat::parse(&bytes)
            .ok_or_else(|| CollectError::parse(self.paths.proc("vmstat"), "no pswpin/pswpout"))?;
        let mut set = MetricSet::new();
        // An unreadable counter is left out: exporting 0 would look like a counter reset.
        if let Some(pages) = v.pswpin {
            set.add(&SWAP_IN, &[], pages * self.page_size);
        }
        if let Some(pages) = v.pswpout {
            set.add(&SWAP_OUT, &[], pages * self.page_size);
        }
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="vmstat"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "vmstat",
    enabled_by_default: true,
    file: file!(),
    metrics: &[SWAP_IN, SWAP_OUT],
    build: Build::Inline(|e| Ok(Some(Box::new(VmstatCollector::new(e.paths.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};

    #[test]
    fn pages_become_bytes() {
        let mut c = VmstatCollector::new(fixture("swap"));
        c.page_size = 4096.0;
        let set = c.collect(&ctx()).unwrap();
        assert_eq!(
            set.value("os_swap_in_bytes_total", &[]),
            Some(10.0 * 4096.0)
        );
        assert_eq!(
            set.value("os_swap_out_bytes_total", &[]),
            Some(20.0 * 4096.0)
        );
    }

    #[test]
    fn a_non_numeric_counter_is_left_out_not_exported_as_zero() {
        let dir = std::env::temp_dir().join(format!("os-vmstat-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        std::fs::write(dir.join("proc/vmstat"), "pswpin 12ab\npswpout 20\n").unwrap();
        let mut c = VmstatCollector::new(common::SysPaths::fixture(&dir));
        c.page_size = 4096.0;
        let set = c.collect(&ctx()).unwrap();
        assert!(!set.has("os_swap_in_bytes_total"));
        assert_eq!(
            set.value("os_swap_out_bytes_total", &[]),
            Some(20.0 * 4096.0)
        );
        std::fs::write(dir.join("proc/vmstat"), "pswpin x\npswpout y\n").unwrap();
        assert!(c.collect(&ctx()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
