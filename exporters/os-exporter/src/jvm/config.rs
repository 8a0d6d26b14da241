//! `[jvm]`: which processes are JVMs and how many are reported.

use serde::Deserialize;

/// `[jvm]`: JVM heap, GC and thread counters from their hsperfdata files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct JvmConfig {
    /// Process names (`/proc/<pid>/comm`) that are JVMs.
    pub(crate) comms: Vec<String>,
    /// Report every JVM found (true), or only those of configured process groups (false).
    pub(crate) discover: bool,
    /// At most this many JVMs are reported, oldest first; `jvm_processes_found` says how many
    /// there were.
    pub(crate) max_jvms: usize,
}

impl Default for JvmConfig {
    fn default() -> Self {
        Self {
            comms: vec!["java".to_owned()],
            discover: true,
            max_jvms: 50,
        }
    }
}

impl JvmConfig {
    /// Rejects an empty name or a zero cap.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.comms.iter().any(String::is_empty) {
            return Err("jvm.comms: an empty process name".to_owned());
        }
        if self.max_jvms == 0 {
            return Err("jvm.max_jvms: must be positive".to_owned());
        }
        Ok(())
    }
}
