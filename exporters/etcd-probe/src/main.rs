//! The etcd-probe binary: flags, config and the collectors of the `etcd_probe` library.

use std::process::ExitCode;

use common::{Built, CollectorSet, Context, Spec};

use etcd_probe::config::Config;
use etcd_probe::{cluster_probe, local_checks, log_causes};

fn setup(ctx: Context<Config>) -> Result<Built, String> {
    let cfg = ctx.config;
    cfg.validate().map_err(|e| match &ctx.config_path {
        Some(p) => format!("config file {}: {e}", p.display()),
        None => e,
    })?;
    let mut set = CollectorSet::new("etcd");
    set.add_async(cluster_probe::ClusterProbe::new(&cfg)?);
    if cfg.local.enabled {
        set.add(local_checks::LocalChecks::new(
            cfg.local.clone(),
            ctx.paths.clone(),
        ));
    }
    if !cfg.logs.is_empty() {
        set.add(log_causes::LogCauses::new(&cfg.logs, &ctx.paths));
    }
    Ok(Built::collectors(set))
}

fn main() -> ExitCode {
    common::cli::main::<Config, _>(
        Spec {
            name: "etcd-probe",
            prefix: "etcd",
            default_listen: ":9913",
            about: "etcd cluster health, key metrics, data-loss detection and log-based alarm cause",
            build: common::build_info!(),
        },
        setup,
    )
}
