//! The os-exporter binary: everything is in the `os_exporter` library.

fn main() -> std::process::ExitCode {
    common::cli::run::<os_exporter::OsExporter>()
}
