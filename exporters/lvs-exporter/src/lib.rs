//! lvs-exporter: the IPVS table of an LVS director (virtual services, real servers, 64-bit
//! counters), whether the expected services are there (`lvs_status`), the director's role, the
//! business-port dial through each VIP and the on-call pings (seed documents 001 §1, §3.1, §3.2
//! and 003).

pub mod collectors;
pub mod config;
pub mod diagnose;
pub mod dial;
#[cfg(test)]
mod fixtures;
pub mod ipvs_genl;
pub mod proc_ip_vs;
pub mod proc_ip_vs_stats;
pub mod role;
pub mod source;
pub mod subnet_lint;
pub mod table;

use common::diagnose::Walk;
use common::{CollectorDef, Context, Exporter, SetupError, Spec, SysPaths};

use crate::config::Config;

/// The state lvs-exporter's collectors share.
#[derive(Debug)]
pub struct LvsExporter {
    cfg: Config,
    paths: SysPaths,
}

impl Exporter for LvsExporter {
    type Config = Config;

    const SPEC: Spec = common::spec!(prefix: "lvs", listen: ":9912");
    const COLLECTORS: &'static [CollectorDef<Self>] = collectors::ALL;

    fn new(cfg: Config, ctx: &Context) -> Result<Self, SetupError> {
        Ok(Self {
            cfg,
            paths: ctx.paths.clone(),
        })
    }

    /// Documents 003's and 001 §3.2's checks (see [`diagnose`]).
    fn diagnose(&self, walk: &mut Walk) -> impl std::future::Future<Output = ()> + Send {
        diagnose::walk(self, walk)
    }
}
