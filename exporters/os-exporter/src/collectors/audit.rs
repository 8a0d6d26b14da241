//! The audit journal's own series: records written by check, write errors, and when the
//! background sampler last ran.

use std::sync::Arc;

use common::audit::AuditJournal;
use common::{CollectError, Collector, MetricSet, ScrapeContext};

use crate::sampler::SamplerStatus;

/// Reports the journal counters.
pub(crate) struct AuditCollector {
    journal: Arc<AuditJournal>,
    status: Arc<SamplerStatus>,
}

impl AuditCollector {
    /// A collector reporting on `journal` and the sampler's `status`.
    pub(crate) fn new(journal: Arc<AuditJournal>, status: Arc<SamplerStatus>) -> Self {
        Self { journal, status }
    }
}

impl Collector for AuditCollector {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn collect(&self, _: &ScrapeContext) -> Result<MetricSet, CollectError> {
        let mut set = MetricSet::new();
        self.journal.collect("os", &mut set);
        set.gauge(
            "os_audit_last_run_timestamp_seconds",
            "When the audit sampler last finished a pass, in seconds since the epoch (0 before the first).",
            self.status.last_run(),
        );
        set.gauge(
            "os_audit_enabled",
            "1 when audit records are written, else 0.",
            if self.journal.config().enabled {
                1.0
            } else {
                0.0
            },
        );
        Ok(set)
    }
}
