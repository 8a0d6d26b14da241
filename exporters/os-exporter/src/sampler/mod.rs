//! The audit sampler: on its own fixed interval (never between scrapes, and independent of them)
//! it checks the document's 采集审计 conditions and appends the evidence to the audit journal.
//! Conditions over time (await, counters that moved, CPU usage) compare with its previous pass.

mod cpu;
mod disks;
mod filesystems;
mod nics;
mod sockets;

use std::sync::Arc;

use common::SysPaths;
use common::audit::{AuditJournal, AuditRecord};
use common::statfs::Statfs;

use crate::config::Config;
use crate::disk_filter::DiskFilter;
use crate::partitions::Partitions;

/// Every `check` the sampler writes.
pub(crate) const CHECKS: &[&str] = &[
    "cpu_top_processes",
    "disk_await",
    "disk_inode_usage",
    "disk_usage",
    "filesystem_readonly",
    "network_errors",
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
}

impl Sampler {
    /// A sampler over `paths` writing to `journal`.
    pub(crate) fn new(
        paths: SysPaths,
        config: Config,
        statfs: Statfs,
        journal: Arc<AuditJournal>,
    ) -> Self {
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
        }
    }

    fn write(&self, record: AuditRecord) {
        // A failed write is counted and logged by the journal itself.
        let _ = self.journal.write(&record);
    }

    /// Runs every check once; a check whose source fails is skipped (logged at debug).
    pub(crate) fn run_once(&mut self) {
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
        for r in records {
            self.write(r);
        }
    }
}
