//! keepalived-exporter: VRRP state, failover and fault events, peer reachability and VIP/MAC
//! conflicts of a keepalived node (seed document 001, section 3.1).

pub mod arp;
pub mod collectors;
pub mod conf_file;
pub mod conf_include;
pub mod config;
pub mod diagnose;
pub mod dump;
#[cfg(test)]
mod fixtures;
pub mod ifaddr;
pub mod json_dump;
pub mod log_classifier;
pub mod process;
pub mod text_dump;
pub mod vrrp;

use std::sync::{Arc, Mutex};

use common::diagnose::Walk;
use common::log_tail::{LogTail, StartAt};
use common::{CollectorDef, Context, Exporter, Job, SetupError, Spec, SysPaths};

use crate::collectors::log_events::{LogCollector, LogState};
use crate::config::{Config, LogStart};

/// The state keepalived-exporter's collectors share.
#[derive(Debug)]
pub struct KeepalivedExporter {
    cfg: Config,
    paths: SysPaths,
    /// The log reader, shared by the `log_events` collector and the background poller.
    log: LogCollector,
    check_only: bool,
}

impl Exporter for KeepalivedExporter {
    type Config = Config;

    const SPEC: Spec = common::spec!(prefix: "keepalived", listen: ":9911");
    const COLLECTORS: &'static [CollectorDef<Self>] = collectors::ALL;

    fn new(cfg: Config, ctx: &Context) -> Result<Self, SetupError> {
        let paths = ctx.paths.clone();
        let start = match cfg.log_start {
            LogStart::End => StartAt::End,
            LogStart::Beginning => StartAt::Beginning,
        };
        let state = LogState::new(
            LogTail::new(paths.root(&cfg.log_file), start),
            cfg.event_window,
            cfg.startup_grace,
        );
        Ok(Self {
            log: LogCollector {
                state: Arc::new(Mutex::new(state)),
                paths: paths.clone(),
                pid_file: cfg.pid_file.clone(),
            },
            cfg,
            paths,
            check_only: ctx.check_only,
        })
    }

    /// The log is also read between scrapes, so an event's time is at most one poll late.
    fn jobs(&self) -> Vec<Job> {
        let poller = self.log.clone();
        vec![Job::new(
            "log_poll",
            self.cfg.log_poll_interval,
            move || Ok(poller.poll()?),
        )]
    }

    /// Document 001 §3.1's checks (see [`diagnose`]).
    fn diagnose(&self, walk: &mut Walk) -> impl std::future::Future<Output = ()> + Send {
        diagnose::walk(self, walk)
    }
}
