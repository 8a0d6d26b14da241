//! Pieces of the flink-sync tests' two-node set-up: files written into a node's tree, the trees
//! synchronised with real `rsync` as the HA sync would, a tmpfs LocalBackup unmounted on drop.

use std::path::{Path, PathBuf};

/// A filesystem mounted by a test (a small LocalBackup), lazily unmounted on drop.
pub struct Mount(pub PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes `body` to `path`, creating its directories.
pub fn write(path: &Path, body: &str) {
    let parent = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    std::fs::write(path, body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// `rsync -a --delete [extra] from/ to/`: the trees made equal as the HA sync would.
pub fn rsync(from: &Path, to: &Path, extra: &[&str]) {
    let (from, to) = (format!("{}/", from.display()), format!("{}/", to.display()));
    let mut args = vec!["rsync", "-a", "--delete"];
    args.extend_from_slice(extra);
    args.extend([from.as_str(), to.as_str()]);
    crate::process::run_ok(&args);
}
