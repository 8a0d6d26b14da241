//! One module per collector; `register` wires the enabled ones into the runner.

mod loadavg;
mod memory;
mod uptime;

use common::{CollectorSet, SysPaths};

use crate::config::Config;

/// Every collector this exporter has, by name.
pub(crate) const ALL: &[&str] = &["loadavg", "memory", "uptime"];

/// Adds the enabled collectors to `set`; an unknown name in `disabled_collectors` is an error.
pub(crate) fn register(set: &mut CollectorSet, paths: &SysPaths, config: &Config) -> Result<(), String> {
    if let Some(bad) = config.disabled_collectors.iter().find(|n| !ALL.contains(&n.as_str())) {
        return Err(format!("disabled_collectors: unknown collector {bad:?}; known: {}", ALL.join(", ")));
    }
    let on = |name: &str| !config.disabled_collectors.iter().any(|d| d == name);
    if on("loadavg") {
        set.add(loadavg::LoadavgCollector::new(paths.clone()));
    }
    if on("memory") {
        set.add(memory::MemoryCollector::new(paths.clone()));
    }
    if on("uptime") {
        set.add(uptime::UptimeCollector::new(paths.clone()));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    use common::SysPaths;

    /// The fixture tree `tests/fixtures/<name>`.
    pub(crate) fn fixture(name: &str) -> SysPaths {
        SysPaths::fixture(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name))
    }
}
