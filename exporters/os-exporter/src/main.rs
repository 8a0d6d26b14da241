//! os-exporter: the host resource metrics of the OS monitoring table (document 001, §2.1).

mod collectors;
mod config;
mod parsers;

use std::process::ExitCode;

use common::{Built, CollectorSet, Context, Spec};

fn setup(ctx: Context<config::Config>) -> Result<Built, String> {
    let mut set = CollectorSet::new("os");
    collectors::register(&mut set, &ctx.paths, &ctx.config)?;
    Ok(Built::collectors(set))
}

fn main() -> ExitCode {
    common::cli::main(
        Spec {
            name: "os-exporter",
            prefix: "os",
            default_listen: ":9910",
            about: "Prometheus exporter for the host resource metrics of the OS monitoring table",
            build: common::build_info!(),
        },
        setup,
    )
}
