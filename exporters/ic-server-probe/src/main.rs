//! The ic-server-probe binary: everything is in the `ic_server_probe` library.

fn main() -> std::process::ExitCode {
    common::cli::run::<ic_server_probe::IcServerProbe>()
}
