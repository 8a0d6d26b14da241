//! Per-device I/O counters of `/proc/diskstats`; recording rules derive `os_disk_await_max` (ms),
//! `os_disk_read_max` and `os_disk_write_max` (KB/s) from them. Ignored devices (pattern, config,
//! `/tmp/os_disk_io_ignore_devices`) are left out.

use common::{
    Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext, SysPaths,
};

use crate::OsExporter;
use crate::disk_filter::DiskFilter;
use crate::parsers::diskstats;

/// Bytes per diskstats sector, fixed by the kernel regardless of the device's sector size.
const SECTOR: f64 = 512.0;

const READS_COMPLETED: Desc = Desc::counter(
    "os_disk_reads_completed_total",
    "1",
    "Reads completed, a count.",
);
const WRITES_COMPLETED: Desc = Desc::counter(
    "os_disk_writes_completed_total",
    "1",
    "Writes completed, a count.",
);
const READ_BYTES: Desc =
    Desc::counter("os_disk_read_bytes_total", "bytes", "Bytes read, in bytes.");
const WRITTEN_BYTES: Desc = Desc::counter(
    "os_disk_written_bytes_total",
    "bytes",
    "Bytes written, in bytes.",
);
const READ_TIME: Desc = Desc::counter(
    "os_disk_read_time_seconds_total",
    "seconds",
    "Time spent on reads, in seconds.",
);
const WRITE_TIME: Desc = Desc::counter(
    "os_disk_write_time_seconds_total",
    "seconds",
    "Time spent on writes, in seconds.",
);
const IO_TIME: Desc = Desc::counter(
    "os_disk_io_time_seconds_total",
    "seconds",
    "Time the device was busy, in seconds.",
);
const IO_NOW: Desc = Desc::gauge("os_disk_io_now", "1", "I/Os in progress, a count.");
const DEVICES: Desc = Desc::gauge(
    "os_disk_devices",
    "1",
    "Block devices reported after the ignore list, a count.",
);

/// A counter family and how to read it from one device.
type Counter = (Desc, fn(&diskstats::DiskStats) -> f64);

/// The per-device counters, in output order.
const COUNTERS: [Counter; 7] = [
    (READS_COMPLETED, |d| d.reads as f64),
    (WRITES_COMPLETED, |d| d.writes as f64),
    (READ_BYTES, |d| d.read_sectors as f64 * SECTOR),
    (WRITTEN_BYTES, |d| d.write_sectors as f64 * SECTOR),
    (READ_TIME, |d| d.read_ms as f64 / 1000.0),
    (WRITE_TIME, |d| d.write_ms as f64 / 1000.0),
    (IO_TIME, |d| d.io_ms as f64 / 1000.0),
];

/// Reads `/proc/diskstats`.
pub(crate) struct DiskstatsCollector {
    paths: SysPaths,
    filter: DiskFilter,
}

impl DiskstatsCollector {
    /// A collector reading under `paths`, leaving out what `filter` ignores.
    pub(crate) fn new(paths: SysPaths, filter: DiskFilter) -> Self {
        Self { paths, filter }
    }
}

impl Collector for DiskstatsCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let bytes = self.paths.read_proc("diskstats")?;
        let ignore = self.filter.snapshot();
        let mut set = MetricSet::new();
        let mut devices = 0.0;
        for d in diskstats::parse(&bytes)
            .iter()
            .filter(|d| !ignore.ignored(&d.name))
        {
            devices += 1.0;
            for (desc, f) in &COUNTERS {
                set.add(desc, &[("device", &d.name)], f(d));
            }
            set.add(&IO_NOW, &[("device", &d.name)], d.in_progress as f64);
        }
        set.add(&DEVICES, &[], devices);
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="diskstats"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "diskstats",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        READS_COMPLETED,
        WRITES_COMPLETED,
        READ_BYTES,
        WRITTEN_BYTES,
        READ_TIME,
        WRITE_TIME,
        IO_TIME,
        IO_NOW,
        DEVICES,
    ],
    build: Build::Inline(|e| {
        Ok(Some(Box::new(DiskstatsCollector::new(
            e.paths.clone(),
            DiskFilter::new(&e.paths, &e.config.diskstats),
        ))))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture};
    use crate::config::DiskstatsConfig;

    #[test]
    fn ignore_file_config_and_pattern_leave_devices_out() {
        let paths = fixture("ugly");
        let config = DiskstatsConfig {
            ignore_devices: vec!["sdc".into()],
            ..DiskstatsConfig::default()
        };
        let set = DiskstatsCollector::new(paths.clone(), DiskFilter::new(&paths, &config))
            .collect(&ctx())
            .unwrap();
        // sda stays; sdb is in tests/fixtures/ugly/tmp/os_disk_io_ignore_devices; sdc in config;
        // sda1 is a partition (sysfs), loop0 matches a pattern.
        assert_eq!(set.value("os_disk_devices", &[]), Some(1.0));
        assert_eq!(
            set.value("os_disk_read_bytes_total", &[("device", "sda")]),
            Some(2000.0 * 512.0)
        );
        assert_eq!(
            set.value("os_disk_read_time_seconds_total", &[("device", "sda")]),
            Some(0.3)
        );
        assert_eq!(
            set.value("os_disk_writes_completed_total", &[("device", "sda")]),
            Some(50.0)
        );
        assert_eq!(
            set.value("os_disk_reads_completed_total", &[("device", "sdb")]),
            None
        );
        assert_eq!(
            set.value("os_disk_reads_completed_total", &[("device", "sda1")]),
            None
        );
    }
}
