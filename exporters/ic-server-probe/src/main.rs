//! ic-server-probe: IC-Server health as seen from an OCP node (OceanBase OCP alarm
//! `ic_server_connect_failed`, document 000), plus the on-host checks of its procedure.
//!
//! Probing happens at scrape time, not on a background timer: every scrape GETs every
//! configured IC-Server concurrently under the scrape deadline, so the document's 1-minute
//! collection period is the Prometheus `scrape_interval` (and the rule group's interval), and a
//! result is never older than the scrape that carries it.

// Tests state their expectations with unwrap; production code may not.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod health;
mod probe_endpoint;
mod process;
mod server_log;
mod target;

use std::process::ExitCode;
use std::sync::Arc;

use common::http_probe::{HttpProbe, ProbeOptions};
use common::log_tail::StartAt;
use common::{Built, CollectorSet, Context, Spec, SysPaths};

/// The OCP node label when none is configured: the host name.
fn default_ocp_address(paths: &SysPaths) -> String {
    paths
        .read_proc("sys/kernel/hostname")
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn setup(ctx: Context<config::Config>) -> Result<Built, String> {
    let cfg = &ctx.config;
    let where_ = ctx.config_path.as_ref().map_or_else(
        || "configuration".to_owned(),
        |p| format!("config file {}", p.display()),
    );
    cfg.validate().map_err(|e| format!("{where_}: {e}"))?;
    let opts = ProbeOptions {
        tls: cfg.tls_options(),
        max_body_bytes: cfg.max_body_bytes,
        user_agent: format!("ic-server-probe/{}", env!("CARGO_PKG_VERSION")),
    };
    let http = Arc::new(HttpProbe::new(&opts).map_err(|e| format!("{where_}: tls: {e}"))?);
    let expect = Arc::new(cfg.expect());
    let prober = || health::Prober {
        http: Arc::clone(&http),
        expect: Arc::clone(&expect),
        timeout: cfg.timeout,
    };
    let ocp_address = cfg
        .ocp_address
        .clone()
        .unwrap_or_else(|| default_ocp_address(&ctx.paths));

    let mut set = CollectorSet::new("ic_server");
    if !cfg.ic_servers.is_empty() {
        set.add_async(health::HealthCollector {
            prober: prober(),
            ocp_address: ocp_address.clone(),
            targets: target::targets(&cfg.health_url, &cfg.ic_servers),
        });
    }
    if cfg.local.enabled {
        set.add(process::ProcessCollector {
            paths: ctx.paths.clone(),
            name: cfg.local.process_name.clone(),
        });
        match &cfg.local.log_file {
            Some(p) => {
                let matcher = server_log::ErrorMatcher::new(
                    &cfg.local.error_keywords,
                    cfg.local.case_insensitive,
                );
                let rooted = ctx.paths.root(&p.to_string_lossy());
                set.add(server_log::ServerLogCollector::new(
                    rooted,
                    matcher,
                    StartAt::End,
                ));
            }
            None => log::info!("local.log_file is not set: server.log error lines are not counted"),
        }
    }
    if !ctx.check_only {
        log::info!(
            "ocp_address={ocp_address} ic_servers={} health_url={} local_checks={}",
            cfg.ic_servers.len(),
            cfg.health_url,
            cfg.local.enabled
        );
    }
    let probe = probe_endpoint::ProbeEndpoint {
        prober: prober(),
        ocp_address,
        template: cfg.health_url.clone(),
    };
    Ok(Built {
        collectors: set,
        probe: Some(Arc::new(probe)),
    })
}

fn main() -> ExitCode {
    common::cli::main(
        Spec {
            name: "ic-server-probe",
            prefix: "ic_server",
            default_listen: ":9914",
            about: "Prometheus exporter for IC-Server health as seen from OceanBase OCP nodes",
            build: common::build_info!(),
        },
        setup,
    )
}
