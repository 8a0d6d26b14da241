//! `sync`: the role, this node's manifest and, on the standby, the comparison with the
//! active's (the alarm itself), from the background check (`crate::check`).

use std::sync::{Arc, Mutex};

use common::audit::AuditJournal;
use common::registry::Background;
use common::{Build, CollectError, Collector, CollectorDef, Job, MetricSet, ScrapeContext};

use crate::FlinkSyncExporter;
use crate::check::{self, Shared};

/// Serves the latest check's result.
struct Serve(Arc<Mutex<Shared>>, Arc<AuditJournal>);

impl Collector for Serve {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut m = MetricSet::new();
        check::collect(&self.0, &mut m);
        self.1.collect("flink_sync", &mut m);
        Ok(m)
    }
}

/// Registry entry: `flink_sync_scrape_collector_success{collector="sync"}`.
pub(crate) const DEF: CollectorDef<FlinkSyncExporter> = CollectorDef {
    name: "sync",
    enabled_by_default: true,
    file: file!(),
    metrics: check::FAMILIES,
    build: Build::Background(|e| {
        let mut check = e.new_check();
        let interval = e.cfg.check_interval;
        Ok(Some(Background {
            job: Job::new("check", interval, move || Ok(check.run()?)),
            serve: Box::new(Serve(Arc::clone(&e.shared), Arc::clone(&e.audit))),
        }))
    }),
};
