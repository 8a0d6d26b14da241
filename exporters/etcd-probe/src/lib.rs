//! etcd-probe: etcd cluster health, the documents' etcd metrics re-exported per member, the
//! cluster view with data-loss detection, local installation checks and the log-based cause of
//! an etcd alarm (documents 001 section 3.3 and 002).

pub mod collectors;
pub mod config;
pub mod data_loss;
pub mod diagnose;
pub mod exposition;
pub mod gateway;
pub mod health;
pub mod log_classifier;
pub mod log_line;
pub mod member_metrics;
pub mod process;

use common::{CollectorDef, Context, Exporter, Job, SetupError, Spec, SysPaths};

use crate::collectors::log_causes::LogCauses;
use crate::config::Config;

/// The state etcd-probe's collectors share.
#[derive(Debug)]
pub struct EtcdProbe {
    cfg: Config,
    paths: SysPaths,
    /// The classified logs, shared by the `log_causes` collector and the `log_poll` job; `None`
    /// when no log is configured or the collector is disabled.
    logs: Option<LogCauses>,
    /// False under `diagnose`: nothing is written (the data-loss state file).
    persist: bool,
}

impl Exporter for EtcdProbe {
    type Config = Config;

    const SPEC: Spec = common::spec!(prefix: "etcd", listen: ":9913");
    const COLLECTORS: &'static [CollectorDef<Self>] = collectors::ALL;

    fn new(cfg: Config, ctx: &Context) -> Result<Self, SetupError> {
        let paths = ctx.paths.clone();
        let selected = common::registry::select(Self::COLLECTORS, &cfg.collectors)
            .is_ok_and(|defs| defs.iter().any(|d| d.name == "log_causes"));
        // Under diagnose the logs are read over the `--since` window by the walk itself, so
        // they are not followed (a large log read from the beginning would only spend the
        // walk's time).
        let logs = (selected && !cfg.logs.is_empty() && !ctx.diagnose)
            .then(|| LogCauses::new(&cfg.logs, &paths));
        Ok(Self {
            cfg,
            paths,
            logs,
            persist: !ctx.diagnose,
        })
    }

    /// The logs are also read between scrapes, so a file truncated (`copytruncate`) or rotated
    /// more than once between two scrapes still has every line counted.
    fn diagnose(&self, walk: &mut common::diagnose::Walk) -> impl Future<Output = ()> + Send {
        diagnose::walk(self, walk)
    }

    fn jobs(&self) -> Vec<Job> {
        let Some(logs) = self.logs.clone() else {
            return Vec::new();
        };
        vec![Job::new(
            "log_poll",
            self.cfg.log_poll_interval,
            move || Ok(logs.poll()?),
        )]
    }
}
