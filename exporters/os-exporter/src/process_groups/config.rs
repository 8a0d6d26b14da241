//! `[[process]]` (one table per configured process group) and `[process_cpu]` (the CPU window
//! job): the configuration of document 001 §2.2's `xxx_process_*` rows.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// `[[process]]`: one configured process, the `process` label of its `os_process_*` series.
/// Every matcher given must hold; a process joins the first group it matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProcessGroupConfig {
    /// The label value (the document's `xxx_`): unique, `[A-Za-z0-9][A-Za-z0-9_.:-]*`, at most 64.
    pub(crate) name: String,
    /// Kernel command names (`/proc/<pid>/comm`, at most 15 characters); one must equal it.
    #[serde(default)]
    pub(crate) comm: Vec<String>,
    /// Executables: a basename (`java`) compares with the basename of `/proc/<pid>/exe`, a
    /// path (containing `/`) with the whole link; one must equal it.
    #[serde(default)]
    pub(crate) exe: Vec<String>,
    /// Regular expressions over the command line (NULs read as spaces); all must match.
    #[serde(default)]
    pub(crate) cmdline: Vec<String>,
    /// Pid files (under `--path.rootfs`); the process's pid must be in one of them.
    #[serde(default)]
    pub(crate) pid_file: Vec<PathBuf>,
}

/// `[process_cpu]`: the background job that measures each member's CPU over its own window.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ProcessCpuConfig {
    /// The window: each run compares every member's CPU time with the previous run's.
    #[serde(with = "common::config::duration")]
    pub(crate) interval: Duration,
}

impl Default for ProcessCpuConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15),
        }
    }
}
