//! os-exporter: the host resource metrics of the OS monitoring table (document 001, §2.1), and
//! the audit journal of its 采集审计 evidence.

mod bonds;
mod cidr;
mod collectors;
mod config;
mod cron_watch;
mod diagnose;
/// Directory change detection; its baseline parser is public for the fuzz targets (`fuzz/`).
pub mod directories;
mod disk_filter;
mod jvm;
mod kernel_log;
mod messages;
mod netlink;
mod netstate;
/// The pure parsers of kernel files, public so the fuzz targets (`fuzz/`) can reach them.
pub mod parsers;
mod partitions;
mod process_groups;
mod process_table;
mod reachability;
mod sampler;
mod services;
mod time_sync;
mod tomcat;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::audit::AuditJournal;
use common::statfs::Statfs;
use common::{CollectorDef, Context, Exporter, Job, MutexExt as _, SetupError, Spec, SysPaths};

pub use crate::config::Config;
/// The parser of `/tmp/os_disk_io_ignore_devices`, public for the fuzz targets (`fuzz/`).
pub use crate::disk_filter::parse_ignore_file;
use crate::partitions::Partitions;

/// Where the journal goes when `[audit] path` is not set.
const DEFAULT_AUDIT_PATH: &str = "/var/lib/os-exporter/audit.jsonl";

/// The state os-exporter's collectors and its audit sampler share.
pub struct OsExporter {
    paths: SysPaths,
    config: Config,
    journal: Arc<AuditJournal>,
    /// The hang-safe statfs: one stuck-mount memory for scrapes and the sampler.
    statfs: Statfs,
    partitions: Partitions,
    /// The process table, walked once per scrape by the collectors that read it.
    process_table: Arc<process_table::ProcessTable>,
    /// The document's daemons: one D-Bus connection for the scrape and the sampler.
    services: Arc<services::Watcher>,
    /// The audit sampler, until the skeleton takes it as a job.
    sampler: Mutex<Option<sampler::Sampler>>,
    /// The `[[process]]` groups, `None` when none is configured.
    process_groups: Option<Arc<process_groups::ProcessGroups>>,
    /// False under `diagnose`: no state file or audit record is written.
    persist: bool,
}

impl Exporter for OsExporter {
    type Config = Config;

    const SPEC: Spec = common::spec!(prefix: "os", listen: ":9910");
    const COLLECTORS: &'static [CollectorDef<Self>] = collectors::ALL;

    fn new(mut config: Config, ctx: &Context) -> Result<Self, SetupError> {
        let paths = ctx.paths.clone();
        // The running exporter owns the journal: a diagnosis neither writes it nor samples.
        if ctx.diagnose {
            config.audit.enabled = false;
        }
        let journal = Arc::new(AuditJournal::new(
            config.audit.clone(),
            Path::new(DEFAULT_AUDIT_PATH),
        ));
        journal.declare_checks(sampler::CHECKS);
        journal.declare_checks(&[
            reachability::AUDIT_CHECK,
            time_sync::AUDIT_CHECK,
            directories::AUDIT_CHECK,
            cron_watch::AUDIT_CHECK,
            kernel_log::AUDIT_KERNEL_ERROR,
            kernel_log::AUDIT_MEMORY_ERROR,
        ]);
        let statfs = Statfs::new();
        let partitions = Partitions::new(paths.clone(), config.filesystem.clone());
        let process_table = Arc::new(process_table::ProcessTable::new(paths.clone()));
        let services = Arc::new(services::Watcher::new(
            paths.clone(),
            config.services.clone(),
            Arc::clone(&process_table),
        ));
        let sampler = config.audit.enabled.then(|| {
            sampler::Sampler::new(
                paths.clone(),
                config.clone(),
                statfs.clone(),
                Arc::clone(&journal),
                Arc::clone(&services),
            )
        });
        let process_groups = process_groups::ProcessGroups::new(
            paths.clone(),
            Arc::clone(&process_table),
            &config.process,
        )
        .map_err(SetupError::Config)?
        .map(Arc::new);
        Ok(Self {
            paths,
            config,
            journal,
            statfs,
            partitions,
            process_table,
            services,
            sampler: Mutex::new(sampler),
            process_groups,
            persist: !ctx.diagnose,
        })
    }

    fn jobs(&self) -> Vec<Job> {
        let Some(mut sampler) = self.sampler.lock_or_recover().take() else {
            return Vec::new();
        };
        log::info!(
            "audit journal {} every {:?}",
            self.journal.path().display(),
            self.config.audit_checks.interval
        );
        // A pass is bounded by the statfs timeout per mount; the interval bounds it as a whole.
        vec![Job::new(
            "audit",
            self.config.audit_checks.interval,
            move || Ok(sampler.run_once()?),
        )]
    }

    fn diagnose(&self, walk: &mut common::diagnose::Walk) -> impl Future<Output = ()> + Send {
        diagnose::walk(self.paths.clone(), self.config.tomcat.clone(), walk)
    }
}
