//! The process table, walked once per scrape for every collector that reads it (`processes`
//! counts by state, `services` looks for the daemons), as the cost bound asks: a second
//! walk of `/proc` cost about as much as the rest of the services check.

use std::path::Path;
use std::sync::Arc;

use common::proc_table::Snapshot;
use common::{CollectError, PerScrape, ScrapeContext, SysPaths};

/// Walks the process table of `paths`, once per scrape.
pub(crate) struct ProcessTable {
    paths: SysPaths,
    per_scrape: PerScrape<Snapshot>,
}

impl ProcessTable {
    /// The table of the host of `paths`.
    pub(crate) fn new(paths: SysPaths) -> Self {
        Self {
            paths,
            per_scrape: PerScrape::new(),
        }
    }

    /// The snapshot of `scrape`, shared with its other collectors; without a scrape (a
    /// background pass), a fresh walk of its own.
    pub(crate) fn get(
        &self,
        scrape: Option<&ScrapeContext>,
    ) -> Result<Arc<Snapshot>, CollectError> {
        match scrape {
            Some(ctx) => self
                .per_scrape
                .get_or_try_init(ctx, || Snapshot::take(&self.paths)),
            None => Snapshot::take(&self.paths).map(Arc::new),
        }
    }

    /// The procfs paths walked.
    pub(crate) fn paths(&self) -> &SysPaths {
        &self.paths
    }
}

/// A pid file's content, the file taken under `paths`' root (`--path.rootfs`): the pid, an
/// error naming what is there when it is not a number, `None` when it cannot be read. Shared by
/// the services check and the process groups so both read pid files alike.
pub(crate) fn read_pid_file(paths: &SysPaths, file: &Path) -> Option<Result<u32, String>> {
    let rel = file.to_string_lossy();
    let text = std::fs::read_to_string(paths.root(rel.trim_start_matches('/'))).ok()?;
    Some(
        text.trim()
            .parse::<u32>()
            .map_err(|_| format!("not a pid: {:?}", text.trim())),
    )
}
