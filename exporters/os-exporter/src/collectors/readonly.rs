//! `os_filesystem_readonly`: whether a block-device filesystem is mounted read-only (the
//! document's `mount | grep -E "^/dev.*\(ro"`), read from mountinfo without touching the mounts,
//! so a hung mount cannot stall it.

use common::{Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext};

use crate::OsExporter;
use crate::partitions::Partitions;

const MOUNT_READONLY: Desc = Desc::gauge(
    "os_filesystem_mount_readonly",
    "1",
    "1 when this partition is mounted read-only, else 0.",
);
const READONLY: Desc = Desc::gauge(
    "os_filesystem_readonly",
    "1",
    "1 when any block-device partition is mounted read-only, else 0.",
);

/// Reads the host's mount table (`/proc/1/mountinfo`, see [`Partitions::all`]).
pub(crate) struct ReadonlyCollector {
    partitions: Partitions,
}

impl ReadonlyCollector {
    /// A collector over `partitions`.
    pub(crate) fn new(partitions: Partitions) -> Self {
        Self { partitions }
    }
}

impl Collector for ReadonlyCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mounts = self.partitions.selected(Some(ctx))?;
        let mut set = MetricSet::new();
        let fam = set.of(&MOUNT_READONLY);
        let mut any = 0.0;
        for m in &mounts {
            let ro = if m.readonly { 1.0 } else { 0.0 };
            any = f64::max(any, ro);
            fam.push(
                &[
                    ("device", &m.source),
                    ("mountpoint", &m.mount_point),
                    ("fstype", &m.fs_type),
                ],
                ro,
            );
        }
        set.add(&READONLY, &[], any);
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="readonly"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "readonly",
    enabled_by_default: true,
    file: file!(),
    metrics: &[MOUNT_READONLY, READONLY],
    build: Build::Inline(|e| Ok(Some(Box::new(ReadonlyCollector::new(e.partitions.clone()))))),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{ctx, fixture, partitions};

    #[test]
    fn a_readonly_block_mount_sets_the_flag() {
        let set = ReadonlyCollector::new(partitions(fixture("ugly"), &[]))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_filesystem_readonly", &[]), Some(1.0));
        assert_eq!(
            set.value(
                "os_filesystem_mount_readonly",
                &[("mountpoint", "/var/log/my logs")]
            ),
            Some(1.0)
        );
        assert_eq!(
            set.value("os_filesystem_mount_readonly", &[("mountpoint", "/")]),
            Some(0.0)
        );
        // The read-only tmpfs of the fixture is not a block device.
        assert_eq!(
            set.value(
                "os_filesystem_mount_readonly",
                &[("mountpoint", "/mnt/ro tmp")]
            ),
            None
        );
    }

    #[test]
    fn no_readonly_mounts_is_zero() {
        let set = ReadonlyCollector::new(partitions(fixture("swap"), &[]))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_filesystem_readonly", &[]), Some(0.0));
    }
}
