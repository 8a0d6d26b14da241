//! The etcd-probe binary: everything is in the `etcd_probe` library.

fn main() -> std::process::ExitCode {
    common::cli::run::<etcd_probe::EtcdProbe>()
}
