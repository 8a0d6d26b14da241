//! Which mounts are "real partitions" (document: `mount | grep "^/dev"`), shared by the
//! filesystem collectors and the audit sampler, and the statfs seam that tests replace.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::statfs::{FsStats, Statfs, StatfsError};
use common::{CollectError, PerScrape, ScrapeContext, SysPaths};

use crate::config::FilesystemConfig;
use crate::parsers::mountinfo::{self, Mount};

/// Reads and filters the mount table.
#[derive(Debug, Clone)]
pub(crate) struct Partitions {
    paths: SysPaths,
    config: FilesystemConfig,
    /// The table of the current scrape, read once for the filesystem and read-only collectors.
    table: Arc<PerScrape<Vec<Mount>>>,
}

impl Partitions {
    /// Mounts under `paths` selected by `config`.
    pub(crate) fn new(paths: SysPaths, config: FilesystemConfig) -> Self {
        Self {
            paths,
            config,
            table: Arc::new(PerScrape::new()),
        }
    }

    /// All mounts of the host's mount table, `/proc/1/mountinfo` (as node_exporter reads it),
    /// else of our own, `/proc/self/mountinfo`. Ours is not the host's under systemd's
    /// sandboxing: ProtectSystem=strict remounts every mount read-only (every partition would
    /// read as remounted `ro`) and ReadWritePaths= and PrivateTmp= add bind mounts.
    fn read(&self) -> Result<Vec<Mount>, CollectError> {
        let table = match self.paths.read_proc("1/mountinfo") {
            Ok(t) => t,
            Err(_) => self.paths.read_proc("self/mountinfo")?,
        };
        Ok(mountinfo::parse(&table))
    }

    /// The mount table of `scrape` (read once for all its collectors), or a fresh read.
    fn all(&self, scrape: Option<&ScrapeContext>) -> Result<Arc<Vec<Mount>>, CollectError> {
        match scrape {
            Some(ctx) => self.table.get_or_try_init(ctx, || self.read()),
            None => self.read().map(Arc::new),
        }
    }

    /// Whether `m` counts: a `/dev` block device or an included type, not an excluded path.
    pub(crate) fn counts(&self, m: &Mount) -> bool {
        (m.is_block_device() || self.config.include_fs_types.contains(&m.fs_type))
            && !self.config.exclude_mount_points.contains(&m.mount_point)
    }

    /// The counted mounts, one per mount point (the last mount on a path hides earlier ones),
    /// from `scrape`'s mount table when there is one.
    pub(crate) fn selected(
        &self,
        scrape: Option<&ScrapeContext>,
    ) -> Result<Vec<Mount>, CollectError> {
        let mut out: Vec<Mount> = Vec::new();
        for m in self.all(scrape)?.iter().filter(|m| self.counts(m)) {
            out.retain(|o| o.mount_point != m.mount_point);
            out.push(m.clone());
        }
        Ok(out)
    }

    /// Where `m`'s mount point is under `--path.rootfs`.
    pub(crate) fn host_path(&self, m: &Mount) -> std::path::PathBuf {
        self.paths.root(&m.mount_point)
    }

    /// The statfs timeout.
    pub(crate) fn statfs_timeout(&self) -> Duration {
        self.config.statfs_timeout
    }
}

/// Something that answers `statfs`: the hang-safe real one, or a table in tests.
pub(crate) trait FsStatter: Send + Sync + 'static {
    /// Statistics of the filesystem mounted at `path`.
    fn stat(&self, path: &Path, timeout: Duration) -> Result<FsStats, StatfsError>;
}

impl FsStatter for Statfs {
    fn stat(&self, path: &Path, timeout: Duration) -> Result<FsStats, StatfsError> {
        Statfs::stat(self, path, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FilesystemConfig;

    /// A fixture root whose `proc/1/mountinfo` (the host's table) and `proc/self/mountinfo`
    /// (a systemd sandbox: ProtectSystem=strict remounts every mount read-only, ReadWritePaths
    /// adds bind mounts) differ.
    fn sandboxed_tree(tag: &str, with_host_table: bool) -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!("os-partitions-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("proc/self")).unwrap();
        std::fs::write(
            root.join("proc/self/mountinfo"),
            "27 1 254:0 / / ro,relatime shared:1 - ext4 /dev/vda rw,discard\n\
             90 27 254:0 /var/lib/os-exporter /var/lib/os-exporter rw,relatime - ext4 /dev/vda rw\n",
        )
        .unwrap();
        if with_host_table {
            std::fs::create_dir_all(root.join("proc/1")).unwrap();
            std::fs::write(
                root.join("proc/1/mountinfo"),
                "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n",
            )
            .unwrap();
        }
        root
    }

    #[test]
    fn the_host_mount_table_is_read_not_the_service_sandbox() {
        let root = sandboxed_tree("host", true);
        let p = Partitions::new(SysPaths::fixture(&root), FilesystemConfig::default());
        let mounts = p.selected(None).unwrap();
        let _ = std::fs::remove_dir_all(&root);
        let points: Vec<(&str, bool)> = mounts
            .iter()
            .map(|m| (m.mount_point.as_str(), m.readonly))
            .collect();
        assert_eq!(
            points,
            [("/", false)],
            "the sandbox's read-only view is not the host's"
        );
    }

    #[test]
    fn without_a_readable_host_table_our_own_is_read() {
        let root = sandboxed_tree("self", false);
        let p = Partitions::new(SysPaths::fixture(&root), FilesystemConfig::default());
        let mounts = p.selected(None).unwrap();
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(mounts.len(), 2);
    }
}
