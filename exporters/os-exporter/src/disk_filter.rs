//! Which block devices the disk I/O metrics leave out: partitions (their I/O is already counted
//! on the whole disk; `/sys/class/block/<dev>/partition` says which), name patterns, a config
//! list, and the document's `/tmp/os_disk_io_ignore_devices` file (one device per line).

use std::collections::HashSet;
use std::path::PathBuf;

use common::SysPaths;

use crate::config::DiskstatsConfig;

/// The ignore rules; the file is re-read on every check so edits apply without a restart.
#[derive(Debug, Clone)]
pub(crate) struct DiskFilter {
    patterns: Vec<String>,
    listed: Vec<String>,
    file: PathBuf,
    partitions: Option<PathBuf>,
}

impl DiskFilter {
    /// Builds the filter from `config`, resolving its files under `paths`.
    pub(crate) fn new(paths: &SysPaths, config: &DiskstatsConfig) -> Self {
        Self {
            patterns: config.ignore_patterns.clone(),
            listed: config.ignore_devices.clone(),
            file: paths.root(&config.ignore_devices_file.to_string_lossy()),
            partitions: config.ignore_partitions.then(|| paths.sys("class/block")),
        }
    }

    /// The set of ignored names for one pass (config list plus the file, when present).
    pub(crate) fn snapshot(&self) -> IgnoreSet<'_> {
        let mut names: HashSet<String> = self.listed.iter().cloned().collect();
        if let Ok(text) = std::fs::read_to_string(&self.file) {
            names.extend(parse_ignore_file(&text));
        }
        IgnoreSet {
            filter: self,
            names,
        }
    }
}

/// Names of an ignore file: one per line, optional `/dev/` prefix, blank lines and `#` comments skipped.
pub fn parse_ignore_file(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .flat_map(|l| l.split(|c: char| c == ',' || c.is_whitespace()))
        .map(|l| l.trim_start_matches("/dev/"))
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

/// The ignore rules resolved for one pass.
#[derive(Debug)]
pub(crate) struct IgnoreSet<'a> {
    filter: &'a DiskFilter,
    names: HashSet<String>,
}

impl IgnoreSet<'_> {
    /// Whether `device` is left out.
    pub(crate) fn ignored(&self, device: &str) -> bool {
        self.names.contains(device)
            || self
                .filter
                .patterns
                .iter()
                .any(|p| common::glob::matches(p, device))
            || self
                .filter
                .partitions
                .as_ref()
                .is_some_and(|dir| dir.join(device).join("partition").exists())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_file_accepts_dev_prefixes_comments_and_commas() {
        let names: Vec<String> =
            parse_ignore_file("# fast disks\n/dev/sdb\nsdc, nvme1n1\n\n").collect();
        assert_eq!(names, vec!["sdb", "sdc", "nvme1n1"]);
    }

    #[test]
    fn a_bare_dev_prefix_names_no_device() {
        // Found by the fuzz target os_disk_ignore_file: `/dev/` alone gave an empty name.
        let names: Vec<String> = parse_ignore_file("/dev/\n/dev/ sdd\n/dev/,/dev/sde\n").collect();
        assert_eq!(names, vec!["sdd", "sde"]);
    }

    #[test]
    fn default_patterns_and_sysfs_partitions() {
        let f = DiskFilter::new(
            &crate::collectors::test_support::fixture("ugly"),
            &DiskstatsConfig::default(),
        );
        let s = f.snapshot();
        for d in ["loop0", "ram1", "zram0", "sr0", "sda1", "sdb"] {
            assert!(s.ignored(d), "{d}");
        }
        for d in ["sda", "vda", "nvme0n1", "dm-0", "md0"] {
            assert!(!s.ignored(d), "{d}");
        }
    }
}
