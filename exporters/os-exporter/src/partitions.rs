//! Which mounts are "real partitions" (document: `mount | grep "^/dev"`), shared by the
//! filesystem collectors and the audit sampler, and the statfs seam that tests replace.

use std::path::Path;
use std::time::Duration;

use common::statfs::{FsStats, Statfs, StatfsError};
use common::{CollectError, SysPaths};

use crate::config::FilesystemConfig;
use crate::parsers::mountinfo::{self, Mount};

/// Reads and filters the mount table.
#[derive(Debug, Clone)]
pub(crate) struct Partitions {
    paths: SysPaths,
    config: FilesystemConfig,
}

impl Partitions {
    /// Mounts under `paths` selected by `config`.
    pub(crate) fn new(paths: SysPaths, config: FilesystemConfig) -> Self {
        Self { paths, config }
    }

    /// All mounts of `/proc/self/mountinfo`.
    pub(crate) fn all(&self) -> Result<Vec<Mount>, CollectError> {
        Ok(mountinfo::parse(&self.paths.read_proc("self/mountinfo")?))
    }

    /// Whether `m` counts: a `/dev` block device or an included type, not an excluded path.
    pub(crate) fn counts(&self, m: &Mount) -> bool {
        (m.is_block_device() || self.config.include_fs_types.contains(&m.fs_type))
            && !self.config.exclude_mount_points.contains(&m.mount_point)
    }

    /// The counted mounts, one per mount point (the last mount on a path hides earlier ones).
    pub(crate) fn selected(&self) -> Result<Vec<Mount>, CollectError> {
        let mut out: Vec<Mount> = Vec::new();
        for m in self.all()?.into_iter().filter(|m| self.counts(m)) {
            out.retain(|o| o.mount_point != m.mount_point);
            out.push(m);
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
