//! Rooted access to `/proc`, `/sys` and the root filesystem, so collectors run on fixture trees.

use std::path::{Path, PathBuf};

use crate::collector::CollectError;

/// The three roots every file read goes through (`--path.procfs`, `--path.sysfs`, `--path.rootfs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysPaths {
    /// Where procfs is mounted (default `/proc`).
    pub procfs: PathBuf,
    /// Where sysfs is mounted (default `/sys`).
    pub sysfs: PathBuf,
    /// The host's root filesystem (default `/`), for files such as `/etc` or `/var/log`.
    pub rootfs: PathBuf,
}

impl Default for SysPaths {
    fn default() -> Self {
        Self {
            procfs: "/proc".into(),
            sysfs: "/sys".into(),
            rootfs: "/".into(),
        }
    }
}

fn join(root: &Path, rel: &str) -> PathBuf {
    root.join(rel.trim_start_matches('/'))
}

impl SysPaths {
    /// All three roots under one fixture directory: `<dir>/proc`, `<dir>/sys`, `<dir>`.
    pub fn fixture(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            procfs: dir.join("proc"),
            sysfs: dir.join("sys"),
            rootfs: dir.to_path_buf(),
        }
    }

    /// A path under procfs, e.g. `proc("meminfo")`.
    pub fn proc(&self, rel: &str) -> PathBuf {
        join(&self.procfs, rel)
    }

    /// A path under sysfs, e.g. `sys("class/net")`.
    pub fn sys(&self, rel: &str) -> PathBuf {
        join(&self.sysfs, rel)
    }

    /// A path under the root filesystem, e.g. `root("/etc/keepalived/keepalived.conf")`.
    pub fn root(&self, rel: &str) -> PathBuf {
        join(&self.rootfs, rel)
    }

    /// Reads a whole procfs file.
    pub fn read_proc(&self, rel: &str) -> Result<Vec<u8>, CollectError> {
        read(&self.proc(rel))
    }

    /// Reads a whole sysfs file.
    pub fn read_sys(&self, rel: &str) -> Result<Vec<u8>, CollectError> {
        read(&self.sys(rel))
    }

    /// Reads a whole file under the root filesystem.
    pub fn read_root(&self, rel: &str) -> Result<Vec<u8>, CollectError> {
        read(&self.root(rel))
    }
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, CollectError> {
    std::fs::read(path).map_err(|e| CollectError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_joined_under_their_roots() {
        let p = SysPaths::fixture("/fx");
        assert_eq!(p.proc("/stat"), PathBuf::from("/fx/proc/stat"));
        assert_eq!(p.sys("class/net"), PathBuf::from("/fx/sys/class/net"));
        assert_eq!(p.root("/etc/x"), PathBuf::from("/fx/etc/x"));
        assert_eq!(
            SysPaths::default().proc("meminfo"),
            PathBuf::from("/proc/meminfo")
        );
    }
}
