//! Per-partition size, free space and inodes, and the document's `os_disk_usage` /
//! `os_disk_inode_usage` (the maximum over real partitions, in percent).
//!
//! `statfs` runs under a timeout on its own thread: a hung NFS or FUSE mount makes this collector
//! fail (`os_scrape_collector_success{collector="filesystem"} 0`) while the rest of the scrape is
//! served, and it is skipped until its stuck call returns. A mount whose `statfs` fails at once
//! (gone, no permission) is reported on that mount alone (`os_filesystem_device_error 1`, as
//! node_exporter's `node_filesystem_device_error`) and the other mounts keep their series.

use std::sync::Arc;

use common::statfs::StatfsError;
use common::{Build, CollectError, Collector, CollectorDef, Desc, MetricSet, ScrapeContext};

use crate::OsExporter;
use crate::partitions::{FsStatter, Partitions};

const DEVICE_ERROR: Desc = Desc::gauge(
    "os_filesystem_device_error",
    "1",
    "1 when statfs on the mount failed with an ordinary error (gone, no permission), else 0.",
);
const SIZE: Desc = Desc::gauge(
    "os_filesystem_size_bytes",
    "bytes",
    "Filesystem size, in bytes.",
);
const FREE: Desc = Desc::gauge(
    "os_filesystem_free_bytes",
    "bytes",
    "Free space including the root reserve, in bytes.",
);
const AVAIL: Desc = Desc::gauge(
    "os_filesystem_avail_bytes",
    "bytes",
    "Space available to unprivileged users, in bytes.",
);
const FILES: Desc = Desc::gauge(
    "os_filesystem_files",
    "1",
    "Inodes of the filesystem, a count.",
);
const FILES_FREE: Desc = Desc::gauge("os_filesystem_files_free", "1", "Free inodes, a count.");
const USAGE: Desc = Desc::gauge(
    "os_filesystem_usage",
    "percent",
    "Used space as df's Use%, in percent.",
);
const INODE_USAGE: Desc = Desc::gauge(
    "os_filesystem_inode_usage",
    "percent",
    "Used inodes as df -i's IUse%, in percent.",
);
const DISK_USAGE: Desc = Desc::gauge(
    "os_disk_usage",
    "percent",
    "Highest used-space share over all real partitions, in percent.",
);
const DISK_INODE_USAGE: Desc = Desc::gauge(
    "os_disk_inode_usage",
    "percent",
    "Highest used-inode share over all real partitions, in percent.",
);
const PARTITIONS: Desc = Desc::gauge(
    "os_filesystem_partitions",
    "1",
    "Real partitions (block-device or included mounts) measured.",
);

/// Runs statfs on every real partition.
pub(crate) struct FilesystemCollector {
    partitions: Partitions,
    statter: Arc<dyn FsStatter>,
}

impl FilesystemCollector {
    /// A collector over `partitions`, asking `statter`.
    pub(crate) fn new(partitions: Partitions, statter: Arc<dyn FsStatter>) -> Self {
        Self {
            partitions,
            statter,
        }
    }
}

impl Collector for FilesystemCollector {
    fn collect(&self, ctx: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mounts = self.partitions.selected(Some(ctx))?;
        let mut set = MetricSet::new();
        let mut max_usage: f64 = 0.0;
        let mut max_inodes: f64 = 0.0;
        let mut hung = Vec::new();
        for m in &mounts {
            let timeout = self.partitions.statfs_timeout().min(ctx.remaining());
            let labels = [
                ("device", m.source.as_str()),
                ("mountpoint", m.mount_point.as_str()),
                ("fstype", m.fs_type.as_str()),
            ];
            let s = match self.statter.stat(&self.partitions.host_path(m), timeout) {
                Ok(s) => s,
                Err(e @ (StatfsError::Timeout { .. } | StatfsError::Stuck { .. })) => {
                    hung.push(e.to_string());
                    continue;
                }
                Err(e @ StatfsError::Io { .. }) => {
                    log::debug!("filesystem: {e}");
                    set.add(&DEVICE_ERROR, &labels, 1.0);
                    continue;
                }
            };
            set.add(&DEVICE_ERROR, &labels, 0.0);
            set.add(&SIZE, &labels, s.size_bytes as f64);
            set.add(&FREE, &labels, s.free_bytes as f64);
            set.add(&AVAIL, &labels, s.avail_bytes as f64);
            set.add(&FILES, &labels, s.files as f64);
            set.add(&FILES_FREE, &labels, s.files_free as f64);
            let (usage, inodes) = (s.df_space().percent, s.df_inodes().percent);
            set.add(&USAGE, &labels, usage);
            set.add(&INODE_USAGE, &labels, inodes);
            max_usage = max_usage.max(usage);
            max_inodes = max_inodes.max(inodes);
        }
        if !hung.is_empty() {
            // A hung mount voids this collector (success 0) rather than the scrape, and never
            // reports a maximum that silently left a partition out; a failed mount is not silent,
            // its device_error says so.
            return Err(CollectError::Other(hung.join("; ")));
        }
        set.add(&DISK_USAGE, &[], max_usage);
        set.add(&DISK_INODE_USAGE, &[], max_inodes);
        set.add(&PARTITIONS, &[], mounts.len() as f64);
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="filesystem"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "filesystem",
    enabled_by_default: true,
    file: file!(),
    metrics: &[
        DEVICE_ERROR,
        SIZE,
        FREE,
        AVAIL,
        FILES,
        FILES_FREE,
        USAGE,
        INODE_USAGE,
        DISK_USAGE,
        DISK_INODE_USAGE,
        PARTITIONS,
    ],
    build: Build::Blocking(|e| {
        Ok(Some(Box::new(FilesystemCollector::new(
            e.partitions.clone(),
            Arc::new(e.statfs.clone()),
        ))))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{FakeStatfs, ctx, fixture, partitions};
    use common::statfs::FsStats;

    fn stats(size: u64, avail: u64, files: u64, files_free: u64) -> FsStats {
        FsStats {
            size_bytes: size,
            free_bytes: avail,
            avail_bytes: avail,
            files,
            files_free,
            readonly: false,
        }
    }

    #[test]
    fn maximum_over_block_partitions_with_escaped_mount_points() {
        let fake = FakeStatfs::new(&[
            ("/", stats(1000, 500, 100, 90)),
            ("/var/log/my logs", stats(1000, 150, 100, 5)),
            ("/data", stats(1000, 900, 100, 50)),
        ]);
        let set = FilesystemCollector::new(partitions(fixture("ugly"), &[]), Arc::new(fake))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_disk_usage", &[]), Some(85.0));
        assert_eq!(set.value("os_disk_inode_usage", &[]), Some(95.0));
        assert_eq!(
            set.value(
                "os_filesystem_avail_bytes",
                &[("mountpoint", "/var/log/my logs"), ("device", "/dev/sdb1")]
            ),
            Some(150.0)
        );
        // tmpfs and proc are not partitions unless included.
        assert_eq!(set.value("os_filesystem_partitions", &[]), Some(3.0));
    }

    #[test]
    fn included_types_count() {
        let fake = FakeStatfs::new(&[
            ("/", stats(1000, 500, 100, 90)),
            ("/var/log/my logs", stats(1000, 500, 100, 90)),
            ("/data", stats(1000, 500, 100, 90)),
            ("/mnt/scratch", stats(1000, 10, 100, 90)),
            ("/mnt/ro tmp", stats(1000, 500, 100, 90)),
        ]);
        let set = FilesystemCollector::new(partitions(fixture("ugly"), &["tmpfs"]), Arc::new(fake))
            .collect(&ctx())
            .unwrap();
        assert_eq!(set.value("os_disk_usage", &[]), Some(99.0));
        assert_eq!(set.value("os_filesystem_partitions", &[]), Some(5.0));
    }

    #[test]
    fn a_mount_failing_with_an_ordinary_error_is_flagged_and_the_others_keep_their_series() {
        // "/var/log/my logs" and "/data" are not in the table: statfs answers ENOENT for them.
        let fake = FakeStatfs::new(&[("/", stats(1000, 500, 100, 90))]);
        let set = FilesystemCollector::new(partitions(fixture("ugly"), &[]), Arc::new(fake))
            .collect(&ctx())
            .unwrap();
        let data = [
            ("device", "/dev/sdc1"),
            ("mountpoint", "/data"),
            ("fstype", "xfs"),
        ];
        assert_eq!(set.value("os_filesystem_device_error", &data), Some(1.0));
        assert_eq!(set.value("os_filesystem_size_bytes", &data), None);
        assert_eq!(
            set.value("os_filesystem_device_error", &[("mountpoint", "/")]),
            Some(0.0)
        );
        assert_eq!(
            set.value("os_filesystem_size_bytes", &[("mountpoint", "/")]),
            Some(1000.0)
        );
        assert_eq!(set.value("os_disk_usage", &[]), Some(50.0));
        assert_eq!(set.value("os_filesystem_partitions", &[]), Some(3.0));
    }

    /// The fake table, with one mount point whose statfs hangs (times out).
    struct HungAt(FakeStatfs, &'static str);

    impl FsStatter for HungAt {
        fn stat(
            &self,
            path: &std::path::Path,
            timeout: std::time::Duration,
        ) -> Result<FsStats, StatfsError> {
            if path.ends_with(self.1.trim_start_matches('/')) {
                return Err(StatfsError::Timeout {
                    path: path.to_path_buf(),
                    timeout,
                });
            }
            self.0.stat(path, timeout)
        }
    }

    #[test]
    fn a_hung_mount_still_fails_the_collector_naming_it() {
        let fake = HungAt(
            FakeStatfs::new(&[("/", stats(1000, 500, 100, 90))]),
            "/data",
        );
        let err = FilesystemCollector::new(partitions(fixture("ugly"), &[]), Arc::new(fake))
            .collect(&ctx())
            .unwrap_err();
        assert!(err.to_string().contains("/data"), "{err}");
    }
}
