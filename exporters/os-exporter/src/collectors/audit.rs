//! The audit journal's own series: records written by check and write errors. When the
//! background sampler last ran, and whether its records could be written, is reported by its
//! job (`os_audit_last_run_timestamp_seconds`, `os_audit_last_run_success`): this collector keeps
//! serving the counters while the journal fails, so the errors stay visible.

use std::sync::Arc;

use common::audit::AuditJournal;
use common::{
    Build, CollectError, Collector, CollectorDef, Desc, Exporter as _, MetricSet, ScrapeContext,
};

use crate::OsExporter;

/// `os_audit_enabled`; the journal's own counters are declared by `common::audit`.
const ENABLED: Desc = Desc::gauge(
    "os_audit_enabled",
    "1",
    "1 when audit records are written, else 0.",
);

/// Reports the journal counters.
pub(crate) struct AuditCollector {
    journal: Arc<AuditJournal>,
    prefix: &'static str,
}

impl AuditCollector {
    /// A collector reporting on `journal` under the exporter's metric `prefix`.
    pub(crate) fn new(journal: Arc<AuditJournal>, prefix: &'static str) -> Self {
        Self { journal, prefix }
    }
}

impl Collector for AuditCollector {
    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        self.journal.collect(self.prefix, &mut set);
        set.add(
            &ENABLED,
            &[],
            if self.journal.config().enabled {
                1.0
            } else {
                0.0
            },
        );
        Ok(set)
    }
}

/// Registry entry: `os_scrape_collector_success{collector="audit"}`.
pub(crate) const DEF: CollectorDef<OsExporter> = CollectorDef {
    name: "audit",
    enabled_by_default: true,
    file: file!(),
    metrics: &[ENABLED],
    build: Build::Inline(|e| {
        Ok(Some(Box::new(AuditCollector::new(
            Arc::clone(&e.journal),
            OsExporter::SPEC.prefix,
        ))))
    }),
};
