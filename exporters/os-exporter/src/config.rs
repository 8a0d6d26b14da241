//! The os-exporter TOML configuration; every field has a default so no file is needed.

use serde::Deserialize;

/// Top-level configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// Collectors to leave out, by name.
    pub(crate) disabled_collectors: Vec<String>,
}
