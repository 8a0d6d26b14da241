//! keepalived-exporter binary.

use std::process::ExitCode;

use common::Spec;

fn main() -> ExitCode {
    common::cli::main(
        Spec {
            name: "keepalived-exporter",
            prefix: "keepalived",
            default_listen: ":9911",
            about: "Prometheus exporter for keepalived: VRRP state, failovers, faults, peer reachability, VIP conflicts",
            build: common::build_info!(),
        },
        keepalived_exporter::setup,
    )
}
