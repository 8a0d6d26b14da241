//! The audit sampler: on its own fixed interval (never between scrapes, and independent of them)
//! it checks the document's 采集审计 conditions and appends the evidence to the audit journal.
//! Conditions over time (await, counters that moved, CPU usage) compare with its previous pass.

mod cpu;
mod disks;
mod filesystems;
mod nics;
mod route;
mod services;
mod sockets;

use std::sync::Arc;

use common::SysPaths;
use common::audit::{AuditJournal, AuditRecord};
use common::statfs::Statfs;

use crate::config::Config;
use crate::disk_filter::DiskFilter;
use crate::partitions::Partitions;
use crate::services::Watcher;

/// Every `check` the sampler writes.
pub(crate) const CHECKS: &[&str] = &[
    "cpu_top_processes",
    "disk_await",
    "disk_inode_usage",
    "disk_usage",
    "eth1_route",
    "filesystem_readonly",
    "network_errors",
    "service_abnormal",
    "tcp_queue_blocked",
];

/// The sampler's state between passes; run as the `audit` background job.
pub(crate) struct Sampler {
    paths: SysPaths,
    config: Config,
    partitions: Partitions,
    statfs: Statfs,
    filter: DiskFilter,
    journal: Arc<AuditJournal>,
    disks: disks::State,
    nics: nics::State,
    cpu: cpu::State,
    route: route::State,
    /// `None` when the `services` collector is left out.
    services: Option<Arc<Watcher>>,
    service_state: services::State,
}

impl Sampler {
    /// A sampler over `paths` writing to `journal`.
    pub(crate) fn new(
        paths: SysPaths,
        config: Config,
        statfs: Statfs,
        journal: Arc<AuditJournal>,
        watcher: Arc<Watcher>,
    ) -> Self {
        let services = (!config
            .collectors
            .disabled
            .iter()
            .any(|c| c.get_ref() == "services"))
        .then_some(watcher);
        let filter = DiskFilter::new(&paths, &config.diskstats);
        let partitions = Partitions::new(paths.clone(), config.filesystem.clone());
        Self {
            paths,
            config,
            partitions,
            statfs,
            filter,
            journal,
            disks: disks::State::default(),
            nics: nics::State::default(),
            cpu: cpu::State::default(),
            route: route::State::default(),
            services,
            service_state: services::State::default(),
        }
    }

    /// Writes the pass's records. The pass fails while the journal cannot be written (also a
    /// pass with nothing to write, until a record is written again), always with the journal's
    /// own message, so the job logs the failure once and the recovery once.
    fn write_all(&self, records: Vec<AuditRecord>) -> Result<(), String> {
        let mut failed = None;
        for record in records {
            // Every record is still tried: the disk may have room for a smaller one.
            if let Err(e) = self.journal.write(&record) {
                failed.get_or_insert_with(|| e.to_string());
            }
        }
        match failed.or_else(|| self.journal.failing()) {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }

    /// Runs every check once; a check whose source fails is skipped (logged at debug). Fails
    /// when the evidence could not be written to the journal.
    pub(crate) fn run_once(&mut self) -> Result<(), String> {
        let checks = &self.config.audit_checks;
        let mut records = Vec::new();
        match filesystems::check(&self.partitions, &self.statfs, checks) {
            Ok(r) => records.extend(r),
            Err(e) => log::debug!("audit filesystems: {e}"),
        }
        match disks::check(&self.paths, &self.filter, checks, &mut self.disks) {
            Ok(r) => records.extend(r),
            Err(e) => log::debug!("audit disks: {e}"),
        }
        match nics::check(&self.paths, &mut self.nics) {
            Ok(r) => records.extend(r),
            Err(e) => log::debug!("audit nics: {e}"),
        }
        match sockets::check(&self.paths, &self.config.sockets, checks) {
            Ok(r) => records.extend(r),
            Err(e) => log::debug!("audit sockets: {e}"),
        }
        match cpu::check(&self.paths, checks, &mut self.cpu) {
            Ok(r) => records.extend(r),
            Err(e) => log::debug!("audit cpu: {e}"),
        }
        match route::check(&self.paths, &self.config, &mut self.route) {
            Ok(r) => records.extend(r),
            Err(e) => log::debug!("audit eth1 route: {e}"),
        }
        if let Some(w) = &self.services {
            match services::check(w, &mut self.service_state) {
                Ok(r) => records.extend(r),
                Err(e) => log::debug!("audit services: {e}"),
            }
        }
        self.write_all(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::audit::AuditConfig;

    fn record() -> AuditRecord {
        AuditRecord {
            check: "disk_usage".into(),
            threshold: "80%".into(),
            observed: 91.0,
            evidence: serde_json::json!({"mount": "/dev/sdb1 /data ext4 rw"}),
        }
    }

    #[test]
    fn a_pass_fails_with_one_message_while_the_journal_cannot_be_written_and_succeeds_after() {
        let dir = std::env::temp_dir().join(format!("os-sampler-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A file where the journal's directory should be: every write fails.
        let blocker = dir.join("journal");
        std::fs::write(&blocker, "").unwrap();
        let journal = Arc::new(AuditJournal::new(
            AuditConfig::default(),
            &blocker.join("audit.jsonl"),
        ));
        let paths = SysPaths::fixture(&dir);
        let watcher = Arc::new(Watcher::new(
            paths.clone(),
            Default::default(),
            Arc::new(crate::process_table::ProcessTable::new(paths.clone())),
        ));
        let sampler = Sampler::new(
            paths,
            Config::default(),
            Statfs::new(),
            Arc::clone(&journal),
            watcher,
        );
        let first = sampler.write_all(vec![record()]).unwrap_err();
        assert!(first.contains("audit.jsonl"), "{first}");
        // Still failing: the same message (the job logs a failure once, when it starts), also
        // for a pass that had nothing to write.
        assert_eq!(
            sampler.write_all(vec![record(), record()]),
            Err(first.clone())
        );
        assert_eq!(sampler.write_all(Vec::new()), Err(first.clone()));
        std::fs::remove_file(&blocker).unwrap();
        sampler.write_all(vec![record()]).unwrap();
        sampler.write_all(Vec::new()).unwrap();
        assert_eq!(journal.records_written().get("disk_usage"), Some(&1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
