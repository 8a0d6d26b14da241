//! keepalived-exporter: VRRP state, failover and fault events, peer reachability and VIP/MAC
//! conflicts of a keepalived node (seed document 001, section 3.1).

pub mod arp;
pub mod collectors;
pub mod conf_file;
pub mod conf_include;
pub mod config;
pub mod dump;
pub mod ifaddr;
pub mod json_dump;
pub mod log_events;
pub mod process;
pub mod text_dump;
pub mod vrrp;

use std::sync::atomic::AtomicU16;
use std::sync::{Arc, Mutex};

use common::log_tail::{LogTail, StartAt};
use common::{Built, CollectorSet, Context};

use crate::collectors::{conf, connectivity, log as logc, process as procc, vrrp as vrrpc};
use crate::config::{Config, DumpMode, LogStart};

/// Builds the collectors from the configuration (the exporter's start-up).
pub fn setup(ctx: Context<Config>) -> Result<Built, String> {
    let cfg = ctx.config;
    cfg.validate().map_err(|e| match &ctx.config_path {
        Some(p) => format!("config file {}: {e}", p.display()),
        None => e,
    })?;
    let paths = ctx.paths;
    let mut set = CollectorSet::new("keepalived");

    let start = match cfg.log_start {
        LogStart::End => StartAt::End,
        LogStart::Beginning => StartAt::Beginning,
    };
    let log_state = logc::LogState::new(
        LogTail::new(paths.root(&cfg.log_file), start),
        cfg.event_window,
    );
    let log_collector = logc::LogCollector {
        state: Arc::new(Mutex::new(log_state)),
    };
    if !ctx.check_only {
        let poller = log_collector.clone();
        let every = cfg.log_poll_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let p = poller.clone();
                // Errors surface as `success 0` at the next scrape; here they would only repeat.
                let _ = tokio::task::spawn_blocking(move || p.poll()).await;
            }
        });
    }
    set.add(log_collector);
    set.add(procc::ProcessCollector {
        paths: paths.clone(),
        pid_file: cfg.pid_file.clone(),
    });
    set.add(conf::ConfCollector {
        paths: paths.clone(),
        conf: cfg.keepalived_conf.clone(),
    });
    set.add(connectivity::ConnectivityCollector {
        paths: paths.clone(),
        conf: cfg.keepalived_conf.clone(),
        peers: cfg.peers.clone(),
        timeout: cfg.ping_timeout,
        seq: AtomicU16::new(0),
    });

    if cfg.dump != DumpMode::None && !ctx.check_only {
        let signals = dump::Signals::query(&cfg.keepalived_bin);
        let format = match (cfg.dump, signals.json) {
            (DumpMode::Json, None) => {
                return Err(format!(
                    "dump = \"json\" but `{} --signum=JSON` gives no signal (built without JSON?)",
                    cfg.keepalived_bin
                ));
            }
            (DumpMode::Json, Some(_)) | (DumpMode::Auto, Some(_)) => vrrpc::Format::Json,
            _ => vrrpc::Format::Text,
        };
        log::info!("reading keepalived state from its {format:?} dumps (signals {signals:?})");
        set.add(vrrpc::VrrpCollector {
            paths,
            pid_file: cfg.pid_file,
            conf: cfg.keepalived_conf,
            signals,
            format,
            dump_dir: cfg.dump_dir,
            data_file: cfg.data_file,
            dump_timeout: cfg.dump_timeout,
            arp_timeout: cfg.arp_probe.then_some(cfg.arp_timeout),
            ip_bin: cfg.ip_bin,
            lock: Mutex::new(()),
        });
    }
    Ok(Built::collectors(set))
}
