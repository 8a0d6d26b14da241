//! Which block devices the disk I/O metrics leave out: a pattern, a config list, and the
//! document's `/tmp/os_disk_io_ignore_devices` file (one device per line, `#` comments).

use std::collections::HashSet;

use common::SysPaths;
use regex::Regex;

use crate::config::DiskstatsConfig;

/// The ignore rules; the file is re-read on every check so edits apply without a restart.
#[derive(Debug, Clone)]
pub(crate) struct DiskFilter {
    pattern: Regex,
    listed: Vec<String>,
    file: std::path::PathBuf,
}

impl DiskFilter {
    /// Builds the filter; `config.ignore_pattern` was validated at start-up.
    pub(crate) fn new(paths: &SysPaths, config: &DiskstatsConfig) -> Result<Self, String> {
        let pattern = Regex::new(&config.ignore_pattern)
            .map_err(|e| format!("diskstats.ignore_pattern: {e}"))?;
        let file = paths.root(&config.ignore_devices_file.to_string_lossy());
        Ok(Self {
            pattern,
            listed: config.ignore_devices.clone(),
            file,
        })
    }

    /// The set of ignored names for one pass (config list plus the file, when present).
    pub(crate) fn snapshot(&self) -> IgnoreSet<'_> {
        let mut names: HashSet<String> = self.listed.iter().cloned().collect();
        if let Ok(text) = std::fs::read_to_string(&self.file) {
            names.extend(parse_ignore_file(&text));
        }
        IgnoreSet {
            pattern: &self.pattern,
            names,
        }
    }
}

/// Names of an ignore file: one per line, optional `/dev/` prefix, blank lines and `#` comments skipped.
pub(crate) fn parse_ignore_file(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .flat_map(|l| l.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_start_matches("/dev/").to_owned())
}

/// The ignore rules resolved for one pass.
#[derive(Debug)]
pub(crate) struct IgnoreSet<'a> {
    pattern: &'a Regex,
    names: HashSet<String>,
}

impl IgnoreSet<'_> {
    /// Whether `device` is left out.
    pub(crate) fn ignored(&self, device: &str) -> bool {
        self.names.contains(device) || self.pattern.is_match(device)
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
    fn default_pattern_skips_partitions_loops_and_ram() {
        let f = DiskFilter::new(
            &SysPaths::fixture("/nonexistent"),
            &DiskstatsConfig::default(),
        )
        .unwrap();
        let s = f.snapshot();
        for d in ["loop0", "ram1", "sda1", "vda2", "nvme0n1p1", "sr0", "zram0"] {
            assert!(s.ignored(d), "{d}");
        }
        for d in ["sda", "vda", "nvme0n1", "dm-0", "md0", "xvdb"] {
            assert!(!s.ignored(d), "{d}");
        }
    }
}
