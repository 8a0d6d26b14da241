//! etcd-probe: etcd cluster health, the documents' etcd metrics re-exported per member, the
//! cluster view with data-loss detection, local installation checks and the log-based cause of
//! an etcd alarm (documents 001 section 3.3 and 002).

pub mod collectors;
pub mod config;
pub mod data_loss;
pub mod exposition;
pub mod gateway;
pub mod health;
pub mod log_classifier;
pub mod log_line;
pub mod member_metrics;
pub mod process;

use common::{CollectorDef, Context, Exporter, SetupError, Spec, SysPaths};

use crate::config::Config;

/// The state etcd-probe's collectors share.
#[derive(Debug)]
pub struct EtcdProbe {
    cfg: Config,
    paths: SysPaths,
}

impl Exporter for EtcdProbe {
    type Config = Config;

    const SPEC: Spec = common::spec!(prefix: "etcd", listen: ":9913");
    const COLLECTORS: &'static [CollectorDef<Self>] = collectors::ALL;

    fn new(cfg: Config, ctx: &Context) -> Result<Self, SetupError> {
        Ok(Self {
            cfg,
            paths: ctx.paths.clone(),
        })
    }
}
