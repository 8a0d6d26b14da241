//! The process table, walked once per scrape for every collector that reads it (`processes`
//! counts by state, `services` looks for the daemons), as the cost bound asks: a second
//! walk of `/proc` cost about as much as the rest of the services check.

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
