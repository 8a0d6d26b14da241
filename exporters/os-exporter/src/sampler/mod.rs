//! The audit sampler: on its own fixed interval (never between scrapes, and independent of them)
//! it checks the document's 采集审计 conditions and appends the evidence to the audit journal.
//! Conditions over time (await, counters that moved, CPU usage) compare with its previous pass.

mod cpu;
mod disks;
mod filesystems;
mod nics;
mod sockets;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// When the sampler last finished, shared with the `audit` collector.
#[derive(Debug, Default)]
pub(crate) struct SamplerStatus {
    last_run_bits: AtomicU64,
}

impl SamplerStatus {
    /// Seconds since the epoch of the last finished pass, 0 before the first.
    pub(crate) fn last_run(&self) -> f64 {
        f64::from_bits(self.last_run_bits.load(Ordering::Relaxed))
    }

    fn mark(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.last_run_bits.store(now.to_bits(), Ordering::Relaxed);
    }
}

/// The sampler's state between passes.
pub(crate) struct Sampler {
    paths: SysPaths,
    config: Config,
    partitions: Partitions,
    statfs: Statfs,
    filter: DiskFilter,
    journal: Arc<AuditJournal>,
    status: Arc<SamplerStatus>,
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
        status: Arc<SamplerStatus>,
    ) -> Result<Self, String> {
        let filter = DiskFilter::new(&paths, &config.diskstats);
        let partitions = Partitions::new(paths.clone(), config.filesystem.clone());
        Ok(Self {
            paths,
            config,
            partitions,
            statfs,
            filter,
            journal,
            status,
            disks: disks::State::default(),
            nics: nics::State::default(),
            cpu: cpu::State::default(),
        })
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
        self.status.mark();
    }

    /// Runs passes every `audit_checks.interval` on a dedicated thread for the process lifetime.
    pub(crate) fn spawn(mut self) -> std::io::Result<()> {
        let interval = self.config.audit_checks.interval;
        std::thread::Builder::new()
            .name("audit-sampler".into())
            .spawn(move || {
                let mut next = Instant::now();
                loop {
                    self.run_once();
                    next += interval;
                    let now = Instant::now();
                    if next < now {
                        // A pass overran (a hung mount): restart the clock instead of bursting.
                        next = now + interval;
                    }
                    std::thread::sleep(
                        next.saturating_duration_since(now)
                            .max(Duration::from_millis(10)),
                    );
                }
            })?;
        Ok(())
    }
}
